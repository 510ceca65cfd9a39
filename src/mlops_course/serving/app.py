"""The model API app: predictions for one trip or a batch, health, readiness, model info, metrics.

``create_app`` builds a fresh app with its own model holder and metrics registry, so tests and
notebooks can run several side by side. It only assembles; each part has a module of its own:

* :mod:`~mlops_course.serving.routers.predict`: ``POST /predict`` and ``POST /predict/batch``,
  and why one runs on the event loop and the other in the threadpool;
* :mod:`~mlops_course.serving.routers.operations`: ``/health``, ``/ready``, ``/model``,
  ``/metrics``;
* :mod:`~mlops_course.serving.routers.admin`: ``POST /admin/reload`` behind a bearer token;
* :mod:`~mlops_course.serving.dependencies`: the app's state and the token check, as FastAPI
  dependencies;
* :mod:`~mlops_course.serving.errors`: every bad input is a 4xx with a message, never a 500;
* :mod:`~mlops_course.serving.middleware`: metrics, request ids and the access log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from mlops_course import __version__
from mlops_course.serving.batcher import MicroBatcher
from mlops_course.serving.dependencies import ApiState
from mlops_course.serving.docs import add_offline_docs
from mlops_course.serving.drift import ServedDrift
from mlops_course.serving.errors import invalid_request
from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.middleware import ObserveMiddleware
from mlops_course.serving.model_holder import LoadedModel, LoadFailed, ModelHolder
from mlops_course.serving.routers import admin, operations, predict
from mlops_course.serving.settings import ServingSettings
from mlops_course.tracking import point_at

log = logging.getLogger("mlops_course.serving")

BYTES_PER_TRIP = 2048  # a trip is ~250 bytes of JSON; generous room for whitespace
MIN_BODY_BYTES = 64 * 1024


def _state(settings: ServingSettings, holder: ModelHolder | None) -> ApiState:
    metrics = ApiMetrics()

    def on_event(outcome: str, model: LoadedModel | None) -> None:
        metrics.reloads.labels(outcome).inc()
        if outcome == "loaded" and model is not None:
            metrics.record_model(model)

    holder = holder or ModelHolder(
        settings.model_name,
        settings.model_alias,
        tracking_uri=settings.tracking_uri,
        poll_seconds=settings.reload_poll_seconds,
        watch_alias=settings.watch_alias,
    )
    holder.on_event = on_event
    drift = ServedDrift(metrics.registry)
    batcher = MicroBatcher(on_call=metrics.model_call_rows.observe, on_predicted=drift.observe)
    return ApiState(settings, holder, metrics, drift, batcher)


def create_app(
    settings: ServingSettings | None = None, *, holder: ModelHolder | None = None
) -> FastAPI:
    """A new model API app; it loads the model when it starts (the ASGI lifespan).

    Parameters
    ----------
    settings
        The service's configuration; by default from ``MLOPS_`` environment variables.
        ``settings.tracking_uri``, when set, becomes this process's MLflow tracking URI (MLflow
        keeps one per process): run one service per process, as ``serve`` does.
    holder
        The model holder to serve from, for tests that bring their own; by default one that
        loads ``settings.model_name`` at ``settings.model_alias`` from the registry.
    """
    settings = settings or ServingSettings()
    if settings.tracking_uri:
        point_at(settings.tracking_uri)
    api = _state(settings, holder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The first load runs before the port opens, so a started service is either ready or
        # says why not; a failure must not stop the process (the poller retries).
        try:
            await run_in_threadpool(api.holder.refresh)
        except LoadFailed as error:
            log.warning("no model at start-up", extra={"reason": str(error)})
        api.holder.start()
        try:
            yield
        finally:
            api.holder.stop()

    app = FastAPI(
        title="Trip duration API",
        version=__version__,
        description=(
            "Predicts ride-hailing trip durations with the model version that the MLflow "
            f"registry's `{settings.model_alias}` alias points to (model "
            f"`{settings.model_name}`). Part of the mlops-course, stage 2."
        ),
        lifespan=lifespan,
        docs_url=None,  # replaced by add_offline_docs below: no CDN needed
        redoc_url=None,
        max_body_size=max(MIN_BODY_BYTES, settings.max_batch * BYTES_PER_TRIP),
    )
    app.state.api = api
    app.add_middleware(ObserveMiddleware, metrics=api.metrics, holder=api.holder)
    # Starlette types a handler as taking any Exception; this one is registered for one subclass
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    add_offline_docs(app)
    app.include_router(predict.router(settings.max_batch))
    app.include_router(operations.router)
    app.include_router(admin.router)
    return app
