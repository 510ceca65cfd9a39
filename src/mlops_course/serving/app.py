"""The model API: predictions for one trip or a batch, health, readiness, model info, metrics.

``create_app`` builds a fresh app with its own model holder and metrics registry, so tests and
notebooks can run several side by side. Design decisions worth knowing:

* ``POST /predict`` (one trip, ~5 ms of model time) runs on the event loop: a hop to the
  threadpool and back costs about 0.7 ms, a sixth of the whole request, and buys no parallelism
  (the GIL serializes the model anyway). Concurrent single predictions share one model call
  (:mod:`mlops_course.serving.batcher`): the model's cost is per call, not per row, so under
  load this multiplies throughput, and a lone request waits for nobody.
* ``POST /predict/batch`` (up to tens of ms) and ``POST /admin/reload`` (seconds) are plain
  ``def`` endpoints and run in the threadpool, so they never hold up ``/health``, ``/ready``
  or single predictions.
* Every bad input is a 4xx with a message, never a 500: 422 lists each invalid field, 413 means
  too many trips (or too many bytes), 415 means the body was not sent as JSON.
* ``POST /admin/reload`` needs ``Authorization: Bearer <MLOPS_API_TOKEN>``: 401 without a token,
  403 with a wrong one, and 403 for everyone when no token is configured (the endpoint is then
  disabled: a reload endpoint open to anyone would let anyone slow the service down).
"""

import json
import logging
import math
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from hmac import compare_digest
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_course import __version__
from mlops_course.serving.batcher import MicroBatcher
from mlops_course.serving.docs import add_offline_docs
from mlops_course.serving.drift import ServedDrift
from mlops_course.serving.frame import to_frame
from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.model_holder import LoadedModel, LoadFailed, ModelHolder, NoModelVersion
from mlops_course.serving.schema import (
    BatchPrediction,
    ErrorMessage,
    InvalidRequest,
    ModelInfo,
    NotReady,
    Prediction,
    Ready,
    ReloadResult,
    Trip,
    batch_model,
)
from mlops_course.serving.settings import ServingSettings

log = logging.getLogger("mlops_course.serving")
access_log = logging.getLogger("mlops_course.serving.access")

BYTES_PER_TRIP = 2048  # a trip is ~250 bytes of JSON; generous room for whitespace
MIN_BODY_BYTES = 64 * 1024


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped.

    Error messages can echo client input (an unknown field's name, for instance); escaping keeps
    a name with broken Unicode (a lone surrogate) from failing to encode and becoming a 500.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def _clip(value: object, limit: int = 100) -> str | int:
    if isinstance(value, int):
        return value
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


class ObserveMiddleware:
    """Metrics and one JSON log line per request, as plain ASGI (no per-request task overhead)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, holder: ModelHolder) -> None:
        self.app = app
        self.metrics = metrics
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before responding
        request_id = _request_id(scope)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            labels = (route, method, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(elapsed)
            model = self.holder.current
            access_log.info(
                "request",
                extra={
                    "route": route,
                    "method": method,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    "model_version": model.version if model else None,
                    "request_id": request_id,
                },
            )


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new one.

    Echoed in the response and written in the access log, it joins a client's record of a
    prediction with the service's log line (and with the logs of other services that pass it on).
    Anything else a client sends there is replaced, so a log line cannot be forged or bloated.
    """
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


async def require_json(request: Request) -> None:
    """Refuse a body that is not declared as JSON with 415 and say which header to send."""
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    json_like = media.startswith("application/") and media.endswith("+json")
    if media == "application/json" or json_like:
        return
    got = f"Content-Type {_clip(declared)!r}" if declared else "no Content-Type"
    raise HTTPException(
        415,
        detail=f"send the request body as JSON with the header 'Content-Type: application/json' "
        f"(got {got})",
    )


def _warnings(model: LoadedModel, trips: list[Trip], metrics: ApiMetrics, batch: bool) -> list[str]:
    messages = []
    for index, trip in enumerate(trips):
        for column, value in model.unknown_categories(trip):
            metrics.unknown_categories.labels(column).inc()
            where = f"trips[{index}].{column}" if batch else column
            messages.append(
                f"{where} {value!r} is unknown to model version {model.version}: it is encoded "
                "as all zeros, so the prediction ignores this column"
            )
    return messages


def create_app(
    settings: ServingSettings | None = None, *, holder: ModelHolder | None = None
) -> FastAPI:
    """A new model API app; it loads the model when it starts (the ASGI lifespan).

    ``settings.tracking_uri``, when set, becomes this process's MLflow tracking URI (MLflow
    keeps one per process): run one service per process, as ``serve`` does.
    """
    settings = settings or ServingSettings()
    if settings.tracking_uri:
        import mlflow

        mlflow.set_tracking_uri(settings.tracking_uri)
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
    max_batch = settings.max_batch
    drift = ServedDrift(metrics.registry)
    batcher = MicroBatcher(on_call=metrics.model_call_rows.observe, on_predicted=drift.observe)
    BatchRequest = batch_model(max_batch)
    retry_after = str(math.ceil(settings.reload_poll_seconds))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The first load runs before the port opens, so a started service is either ready or
        # says why not; a failure must not stop the process (the poller retries).
        try:
            await run_in_threadpool(holder.refresh)
        except LoadFailed as error:
            log.warning("no model at start-up", extra={"reason": str(error)})
        holder.start()
        try:
            yield
        finally:
            holder.stop()

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
        max_body_size=max(MIN_BODY_BYTES, max_batch * BYTES_PER_TRIP),
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    app.add_middleware(ObserveMiddleware, metrics=metrics, holder=holder)
    add_offline_docs(app)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        too_many = False
        for error in exc.errors():
            loc = [_clip(part) for part in error.get("loc", ())]
            msg = str(error.get("msg", "invalid value"))
            kind = str(error.get("type", "value_error"))
            ctx = error.get("ctx") or {}
            if kind == "json_invalid":
                position = loc[1] if len(loc) > 1 else "?"
                loc = ["body"]
                msg = f"the body is not valid JSON: {ctx.get('error', msg)} at character {position}"
            too_many |= kind == "too_long" and loc == ["body", "trips"]
            details.append({"loc": loc, "msg": _clip(msg, 500), "type": kind})
        if too_many:
            message = f"too many trips: at most {max_batch:,} per batch; split it into several"
            return SafeJSONResponse({"message": message, "detail": details}, status_code=413)
        shown = "; ".join(
            f"{'.'.join(map(str, d['loc'][1:])) or 'body'}: {d['msg']}" for d in details[:5]
        )
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        message = f"invalid request: {shown}{more}"
        return SafeJSONResponse({"message": message, "detail": details}, status_code=422)

    def served_model() -> LoadedModel:
        model = holder.current
        if model is None:
            raise HTTPException(
                503, detail=holder.not_ready_reason(), headers={"Retry-After": retry_after}
            )
        return model

    bad_input: dict[int | str, dict[str, Any]] = {
        413: {"model": InvalidRequest, "description": "Too many trips or too many bytes."},
        415: {"model": ErrorMessage, "description": "The body was not sent as JSON."},
        422: {"model": InvalidRequest, "description": "Invalid fields, each named."},
        503: {"model": ErrorMessage, "description": "No model loaded yet; the reason."},
    }

    @app.post(
        "/predict",
        response_model=Prediction,
        dependencies=[Depends(require_json)],
        responses=bad_input,
        tags=["predict"],
    )
    async def predict(trip: Trip) -> Prediction:
        """Predict the duration of one trip."""
        # async on purpose, and batched with concurrent requests: see the module docstring.
        model = served_model()  # read once: a reload during this request does not affect it
        value = await batcher.predict(model, trip)
        metrics.predictions.observe(value)
        return Prediction(
            duration_min=round(value, 2),
            model=model.ref,
            warnings=_warnings(model, [trip], metrics, batch=False),
        )

    @app.post(
        "/predict/batch",
        response_model=BatchPrediction,
        dependencies=[Depends(require_json)],
        responses=bad_input,
        tags=["predict"],
        description=f"Predict the durations of 1 to {max_batch:,} trips in one call.",
    )
    def predict_batch(batch: BatchRequest) -> BatchPrediction:  # type: ignore[valid-type]
        model = served_model()
        trips = batch.trips  # type: ignore[attr-defined]
        frame = to_frame(trips)
        values = model.predict(frame)
        drift.observe(model, frame, values)
        for value in values:
            metrics.predictions.observe(float(value))
        return BatchPrediction(
            duration_min=[round(float(v), 2) for v in values],
            model=model.ref,
            warnings=_warnings(model, trips, metrics, batch=True),
        )

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: 200 while the process runs, whether or not a model is loaded."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        response_model=Ready,
        responses={503: {"model": NotReady, "description": "No model yet, and why."}},
        tags=["operations"],
    )
    async def ready() -> Any:
        """Readiness: 200 once a model is loaded; until then 503 and the reason."""
        model = holder.current
        if model is None:
            body = {"status": "not ready", "reason": holder.not_ready_reason()}
            return SafeJSONResponse(body, status_code=503, headers={"Retry-After": retry_after})
        return Ready(status="ready", model=model.ref)

    @app.get(
        "/model",
        response_model=ModelInfo,
        responses={503: {"model": ErrorMessage, "description": "No model loaded yet."}},
        tags=["operations"],
    )
    async def model_info() -> ModelInfo:
        """The served model: name, version, alias, MLflow run and signature."""
        return served_model().info()

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
        tags=["operations"],
    )
    async def prometheus_metrics() -> Response:
        """Prometheus metrics of this process, with the drift of the recently served trips."""
        await run_in_threadpool(drift.evaluate)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    bearer = HTTPBearer(auto_error=False, description="The value of MLOPS_API_TOKEN.")

    def check_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        expected = settings.api_token.get_secret_value() if settings.api_token else ""
        if not expected:
            raise HTTPException(
                403, detail="reloading is disabled: start the service with MLOPS_API_TOKEN set"
            )
        if credentials is None:
            raise HTTPException(
                401,
                detail="send the header 'Authorization: Bearer <MLOPS_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not compare_digest(credentials.credentials.encode(), expected.encode()):
            raise HTTPException(403, detail="wrong token")

    @app.post(
        "/admin/reload",
        response_model=ReloadResult,
        dependencies=[Depends(check_token)],
        responses={
            401: {"model": ErrorMessage, "description": "No bearer token."},
            403: {"model": ErrorMessage, "description": "Wrong token, or reloading disabled."},
            409: {"model": ErrorMessage, "description": "The alias points at no version."},
            503: {"model": ErrorMessage, "description": "The registry is unreachable."},
        },
        tags=["operations"],
    )
    def reload_model() -> ReloadResult:
        """Load the version the alias points to now, if it is new, and swap it in.

        Requests in flight finish on the old model; nothing is dropped. If loading fails, the
        old model keeps serving and the reason is returned.
        """
        try:
            result = holder.refresh()
        except NoModelVersion as error:
            raise HTTPException(409, detail=str(error)) from None
        except LoadFailed as error:
            raise HTTPException(503, detail=str(error)) from None
        previous = result.previous.ref if result.previous else None
        return ReloadResult(changed=result.changed, previous=previous, current=result.current.ref)

    return app
