"""What every request goes through: Prometheus metrics, a request id, one JSON access-log line.

Written as plain ASGI rather than with ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` runs each request in a task of its own, a cost that shows on a millisecond
endpoint.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.model_holder import ModelHolder

access_log = logging.getLogger("mlops_course.serving.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(scope: Scope) -> str:
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
        rid = request_id(scope)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, status, time.perf_counter() - start, rid)

    def _record(self, scope: Scope, status: int, elapsed: float, rid: str) -> None:
        # Labelled by the route *template*: a scan of random URLs cannot create new label values.
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
                "request_id": rid,
            },
        )
