"""Configuration shared by every step: parameters, paths and the MLflow settings."""
