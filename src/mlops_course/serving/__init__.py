"""The model API of stage 2: FastAPI app, model loading and reloading, metrics, entry points.

``create_app`` builds the app, ``serve`` runs it with uvicorn, ``start_api`` starts it as a
separate process (like the MLflow server in :mod:`mlops_course.services`). They are imported
lazily: ``mlops_course.serving.schema`` alone must stay cheap to import (no MLflow, no FastAPI).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServingSettings", "create_app", "serve", "start_api"]

_WHERE = {
    "ServingSettings": "mlops_course.serving.settings",
    "create_app": "mlops_course.serving.app",
    "serve": "mlops_course.serving.server",
    "start_api": "mlops_course.serving.process",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'mlops_course.serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
