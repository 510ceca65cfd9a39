"""The project's code; run it from the repository root (`python -m src.train`)."""
