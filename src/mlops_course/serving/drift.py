"""Drift of the traffic the service answers, exported on ``/metrics`` for the alert rules.

Every model call hands its input frame and predictions to a
:class:`~mlops_course.monitoring.online.DriftMonitor` built on the served model's training
reference (logged with its MLflow run). The check itself runs when Prometheus scrapes
``/metrics``, in a worker thread: drift is an aggregate over thousands of rows, so computing it per
request would cost latency for nothing, and a scrape every 15 s is as fresh as an alert needs.
A new model version gets a new monitor (its own reference, an empty window); the gauges stay.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry

from mlops_course.monitoring.gauges import DriftGauges
from mlops_course.monitoring.online import DriftMonitor
from mlops_course.serving.model_holder import LoadedModel

log = logging.getLogger("mlops_course.serving")


class ServedDrift:
    """The drift monitor of the model version being served, and the gauges it updates."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauges = DriftGauges(registry)
        self._monitor: DriftMonitor | None = None
        self._version: str | None = None
        self._lock = threading.Lock()

    def _monitor_for(self, model: LoadedModel) -> DriftMonitor | None:
        if model.reference is None:
            return None
        with self._lock:
            if self._version != model.version or self._monitor is None:
                self._monitor = DriftMonitor(model.reference, gauges=self.gauges)
                self._version = model.version
            return self._monitor

    def observe(self, model: LoadedModel, frame: pd.DataFrame, predictions: np.ndarray) -> None:
        """Remember one model call's rows; cheap (an append), it runs on the request path.

        Never raises: monitoring must not fail (or, in the micro-batcher, stall) a prediction
        that has already been made. A reference the rows do not fit is logged instead.
        """
        try:
            monitor = self._monitor_for(model)
            if monitor is not None:
                monitor.observe(frame, predictions)
        except Exception:
            log.exception("could not record served rows for drift monitoring")

    def evaluate(self) -> None:
        """Check the window and update the gauges; a failed check must not fail the scrape."""
        with self._lock:
            monitor = self._monitor
        if monitor is None:
            return
        try:
            monitor.evaluate()
        except Exception:
            log.exception("drift check failed; the drift gauges keep their last values")
