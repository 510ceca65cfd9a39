"""The model API: FastAPI app with /predict, /health, /ready and /metrics."""
