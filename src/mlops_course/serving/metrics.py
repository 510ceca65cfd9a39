"""Prometheus metrics of the model API, in a registry of their own per app.

prometheus_client's default registry is global to the process: two apps in one test process (or
a notebook that creates the app twice) would fail with "Duplicated timeseries". Each app gets a
fresh :class:`CollectorRegistry`, and ``GET /metrics`` serves exactly that one.

Routes are labelled by their template (``/predict``), never by the raw path, so a scan of random
URLs cannot create unbounded label values; unmatched paths share one label.

Two gauges are a contract with the alerting rules (stage 4): the unix time the served version was
*loaded* and the time it was *created* in the registry. ``time() - created`` is the age of the
model in production (alert: "model older than N days, retraining is stuck"); ``time() - loaded``
tells a stuck reload apart from an old champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

if TYPE_CHECKING:
    from mlops_course.serving.model_holder import LoadedModel

PREFIX = "mlops_api"
# A single-row prediction takes a few milliseconds; a full batch tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Trip durations in minutes: the drift chapter compares this distribution over time.
DURATION_BUCKETS = (2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
# Trips per model call of POST /predict (see serving.batcher): 1 when idle, more under load.
CALL_ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class ApiMetrics:
    """Every metric the API exports; names start with ``mlops_api_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            f"{PREFIX}_requests",
            "HTTP requests handled, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from receiving a request to sending its response.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_requests_in_flight",
            "Requests being handled right now.",
            registry=self.registry,
        )
        self.predictions = Histogram(
            f"{PREFIX}_predicted_duration_minutes",
            "Predicted trip durations: their distribution shows prediction drift.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.model_call_rows = Histogram(
            f"{PREFIX}_model_call_rows",
            "Trips per model call of POST /predict: above 1, concurrent requests were batched.",
            buckets=CALL_ROWS_BUCKETS,
            registry=self.registry,
        )
        self.unknown_categories = Counter(
            f"{PREFIX}_unknown_category",
            "Trips served with a category value the model never saw, by column.",
            ["column"],
            registry=self.registry,
        )
        self.reloads = Counter(
            f"{PREFIX}_model_loads",
            "Attempts to load a model version, by outcome (loaded, unchanged, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.model = Info(
            f"{PREFIX}_model",
            "The model version being served (empty until one is loaded).",
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            f"{PREFIX}_model_loaded_timestamp_seconds",
            "Unix time this process loaded the model version it serves (0 until one is loaded).",
            registry=self.registry,
        )
        self.model_created = Gauge(
            f"{PREFIX}_model_created_timestamp_seconds",
            "Unix time the served model version was created in the registry (0 until loaded).",
            registry=self.registry,
        )

    def record_model(self, model: LoadedModel) -> None:
        """Describe a newly loaded model: its identity and both timestamps."""
        self.model.info(
            {
                "name": model.name,
                "version": model.version,
                "alias": model.alias,
                "run_id": model.run_id or "",
            }
        )
        self.model_loaded.set(model.loaded_at.timestamp())
        if model.created_at is not None:
            self.model_created.set(model.created_at.timestamp())

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
