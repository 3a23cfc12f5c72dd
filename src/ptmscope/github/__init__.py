"""GitHub: repository metadata, forks, search, issues and commits (api, collect), and safe cloning."""
