"""Flows that run on a schedule (the scheduled workflow in .github/workflows/retrain.yml)."""
