"""Model cards: structured metadata from card YAML and text, optionally an LLM, and the base-model graph."""
