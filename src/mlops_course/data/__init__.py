"""Data of the running example: simulated daily trip batches, their validation and storage."""
