"""What operators and orchestrators ask: liveness, readiness, the served model, the metrics.

``/health`` answers while the process runs; ``/ready`` only once a model is loaded, so a load
balancer (or Kubernetes) sends traffic to a replica only when it can answer, and restarts it only
when it is truly stuck.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from mlops_course.serving.dependencies import Api, Served
from mlops_course.serving.errors import SafeJSONResponse
from mlops_course.serving.schema import ErrorMessage, ModelInfo, NotReady, Ready

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: 200 while the process runs, whether or not a model is loaded."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": NotReady, "description": "No model yet, and why."}},
)
async def ready(api: Api) -> Any:
    """Readiness: 200 once a model is loaded; until then 503 and the reason."""
    model = api.holder.current
    if model is None:
        body = {"status": "not ready", "reason": api.holder.not_ready_reason()}
        return SafeJSONResponse(body, status_code=503, headers={"Retry-After": api.retry_after})
    return Ready(status="ready", model=model.ref)


@router.get(
    "/model",
    response_model=ModelInfo,
    responses={503: {"model": ErrorMessage, "description": "No model loaded yet."}},
)
async def model_info(model: Served) -> ModelInfo:
    """The served model: name, version, alias, MLflow run and signature."""
    return model.info()


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def prometheus_metrics(api: Api) -> Response:
    """Prometheus metrics of this process, with the drift of the recently served trips."""
    await run_in_threadpool(api.drift.evaluate)
    body, content_type = api.metrics.render()
    return Response(body, media_type=content_type)
