"""Running the pipeline: progress display (executors and checkpoints join here as stages grow)."""
