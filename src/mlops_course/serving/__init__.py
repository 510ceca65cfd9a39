"""The model API of stage 2: FastAPI app, model loading and reloading, metrics, entry points.

``create_app`` builds the app, ``serve`` runs it with uvicorn, ``start_api`` starts it as a
separate process (it lives with the other services, in :mod:`mlops_course.services.api`, and is
exported here too). They are imported lazily: ``mlops_course.serving.schema`` alone must stay
cheap to import (no MLflow, no FastAPI).
"""

from __future__ import annotations

from mlops_course.lazy import lazy_exports

__all__ = ["ServingSettings", "create_app", "serve", "start_api"]

_WHERE = {
    "ServingSettings": "mlops_course.serving.settings",
    "create_app": "mlops_course.serving.app",
    "serve": "mlops_course.serving.server",
    "start_api": "mlops_course.services.api",
}


__getattr__ = lazy_exports(__name__, _WHERE)
