"""The model the service is serving, how it gets loaded, and how it is replaced without downtime.

Three rules make a reload invisible to clients:

1. A new version is loaded *completely* (downloaded, deserialized, one warm-up prediction) before
   anything changes; a version that fails any of that is never served.
2. The switch is one attribute assignment, ``self._current = loaded``, which is atomic in Python.
   A request reads ``holder.current`` once and uses that object to the end, so a request in
   flight finishes on the old model while the next one gets the new one.
3. Loads are serialized by a lock (an admin reload and the background poller never load at the
   same time); requests never take that lock.

When the registry is unreachable at start-up the process still starts (liveness must not depend
on MLflow, or an orchestrator would restart it in a loop), reports why on ``/ready``, and a
background thread retries until a model is loaded.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from sklearn.pipeline import Pipeline

from mlops_course import registry
from mlops_course.model_io import load_logged
from mlops_course.schema import EXAMPLE_TRIP, SCHEMA
from mlops_course.serving.frame import to_frame
from mlops_course.serving.schema import ModelInfo, ModelRef, Trip
from mlops_course.tracking import TrackingServerUnavailable, current_uri, require_server

log = logging.getLogger("mlops_course.serving")


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model version and what the service needs to know about it. Never mutated."""

    pipeline: Pipeline
    name: str
    version: str
    alias: str
    run_id: str | None
    signature: dict[str, Any] | None
    known_categories: dict[str, frozenset[str]]
    created_at: datetime | None = None  # when the version was registered; None if unknown
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The training sample logged with the run (mlops_course.monitoring.reference): what drift is
    # measured against. None for a model logged without one; the service then skips drift.
    reference: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version, alias=self.alias)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            version=self.version,
            alias=self.alias,
            run_id=self.run_id,
            created_at=self.created_at.isoformat(timespec="seconds") if self.created_at else None,
            loaded_at=self.loaded_at.isoformat(timespec="seconds"),
            signature=self.signature,
            known_categories={k: sorted(v) for k, v in self.known_categories.items()},
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict(frame)

    def unknown_categories(self, trip: Trip) -> list[tuple[str, str]]:
        """``(column, value)`` for each category value of ``trip`` the model never saw."""
        return [
            (column, value)
            for column, known in self.known_categories.items()
            if (value := getattr(trip, column)) not in known
        ]


class LoadFailed(RuntimeError):
    """A model could not be loaded; the message says why and names the tracking URI."""


class NoModelVersion(LoadFailed):
    """The registry answers, but the alias points at no version (nothing promoted yet)."""


def _known_categories(pipeline: Pipeline) -> dict[str, frozenset[str]]:
    """The category values the fitted encoder knows; the validation schema's as a fallback.

    Asking the model beats asking the schema: a model retrained after a new zone opened knows
    that zone, and a warning for it would be wrong.
    """
    try:
        encoder = pipeline.named_steps["features"].named_transformers_["categorical"]
        return {
            str(column): frozenset(str(v) for v in values)
            for column, values in zip(encoder.feature_names_in_, encoder.categories_, strict=True)
        }
    except (AttributeError, KeyError):
        return {
            column: frozenset(rule.allowed)
            for column, rule in SCHEMA.items()
            if rule.kind == "category" and rule.allowed is not None
        }


def _signature(meta: Any) -> dict[str, Any] | None:
    if meta.signature is None:
        return None
    import json

    raw = meta.signature.to_dict()
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in raw.items()}


def _created_at(version: ModelVersion) -> datetime | None:
    """The registry's creation time of ``version`` (MLflow stores milliseconds since 1970)."""
    millis = version.creation_timestamp
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _reference(run_id: str | None) -> pd.DataFrame | None:
    """The run's training reference, or None (and a warning) when the run has none."""
    from mlops_course.monitoring.reference import load_reference

    if run_id is None:
        return None
    try:
        return load_reference(run_id=run_id)
    except LookupError as error:
        log.warning("no drift reference for this model", extra={"reason": str(error)})
        return None


def load_version(name: str, version: ModelVersion, alias: str) -> LoadedModel:
    """Download, deserialize and warm up exactly ``version`` (not whatever the alias says now).

    Loading by version number rather than by alias closes a race: if the alias moved between
    looking it up and loading, the service would otherwise report one version and serve another.
    The artifacts are downloaded once and both the metadata (signature) and the model are read
    from that copy.
    """
    import mlflow
    from mlflow.models import Model

    number = str(version.version)
    with tempfile.TemporaryDirectory(prefix="mlops-serving-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{number}", dst_path=tmp
        )
        meta = Model.load(local)
        pipeline = load_logged(local)
    loaded = LoadedModel(
        pipeline=pipeline,
        name=name,
        version=number,
        alias=alias,
        run_id=version.run_id,
        signature=_signature(meta),
        known_categories=_known_categories(pipeline),
        created_at=_created_at(version),
        reference=_reference(version.run_id),
    )
    # Warm-up: the first predict of a fresh pipeline is slower, and a model that cannot predict
    # must fail here, before it is swapped in, not on a client's request.
    warm = loaded.predict(to_frame([Trip.model_validate(EXAMPLE_TRIP)]))
    if not np.isfinite(warm).all():
        raise LoadFailed(f"model {name!r} version {number} predicts {warm[0]} for the example trip")
    return loaded


@dataclass(frozen=True)
class Refresh:
    """What one refresh did: which model was served before and after."""

    previous: LoadedModel | None
    current: LoadedModel

    @property
    def changed(self) -> bool:
        return self.previous is not self.current


class ModelHolder:
    """Holds the served model; loads, swaps and (in the background) retries or follows the alias.

    ``loader`` is injectable so tests can exercise the swapping logic without MLflow.
    """

    def __init__(
        self,
        name: str,
        alias: str = registry.CHAMPION,
        *,
        tracking_uri: str | None = None,
        poll_seconds: float = 3.0,
        watch_alias: bool = False,
        loader: Callable[[str, ModelVersion, str], LoadedModel] = load_version,
    ) -> None:
        self.name = name
        self.alias = alias
        self._tracking_uri = tracking_uri
        self.poll_seconds = poll_seconds
        self.watch_alias = watch_alias
        self._loader = loader
        # Called after every load attempt with "loaded", "unchanged" or "failed" (for metrics).
        self.on_event: Callable[[str, LoadedModel | None], None] = lambda outcome, model: None
        self._current: LoadedModel | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reason = "no model loaded yet: the first load has not run"
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        """The model to use for one request: read it once, then keep using that object."""
        return self._current

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri or current_uri()

    @property
    def target(self) -> str:
        return f"models:/{self.name}@{self.alias}"

    def refresh(self, force: bool = False) -> Refresh:
        """Load the version the alias points to if it is not the one served; swap it in.

        Raises :class:`LoadFailed` (or :class:`NoModelVersion`) with a readable reason; the
        model served before, if any, keeps being served.
        """
        with self._load_lock:
            previous = self._current
            try:
                loaded = self._load_if_new(previous, force)
            except Exception as error:
                reason = self._describe(error)
                self.last_error = reason
                if previous is None:
                    self.reason = reason
                self.on_event("failed", previous)
                if isinstance(error, LoadFailed):
                    raise
                cls = NoModelVersion if isinstance(error, LookupError) else LoadFailed
                raise cls(reason) from error
            self.last_error = None
            if loaded is previous:
                self.on_event("unchanged", previous)
                return Refresh(previous, previous)
            self._current = loaded  # the swap: one atomic assignment
            self.reason = ""
            self.on_event("loaded", loaded)
            old = previous.version if previous else None
            log.info(
                "model loaded",
                extra={"model": self.target, "model_version": loaded.version, "previous": old},
            )
            return Refresh(previous, loaded)

    def _load_if_new(self, previous: LoadedModel | None, force: bool) -> LoadedModel:
        require_server(self._tracking_uri)
        version = registry.get_version(self.alias, self.name)
        if version is None:
            raise NoModelVersion(
                f"model {self.name!r} has no version with alias {self.alias!r} in the registry "
                f"at {self.tracking_uri}: register a version and promote it, then call "
                "POST /admin/reload (or wait for the next poll)"
            )
        if not force and previous is not None and previous.version == str(version.version):
            return previous
        return self._loader(self.name, version, self.alias)

    def _describe(self, error: Exception) -> str:
        if isinstance(error, TrackingServerUnavailable | LoadFailed):
            text = str(error)
        else:
            text = (
                f"loading {self.target} from the tracking server at {self.tracking_uri} failed: "
                f"{type(error).__name__}: {error}"
            )
        return text[:2000]

    def not_ready_reason(self) -> str:
        """Why no model is served, plus what the service does about it."""
        retry = f"; retrying every {self.poll_seconds:g} s" if self._thread else ""
        return f"{self.reason}{retry}"

    # --- background polling ------------------------------------------------------------------

    def start(self) -> None:
        """Start the poller: retries until a model is loaded, then follows the alias if asked."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _poll(self) -> None:
        last_logged = None
        while not self._stop.wait(self.poll_seconds):
            if self._current is not None and not self.watch_alias:
                continue
            try:
                self.refresh()
                last_logged = None
            except Exception as error:  # the poller must never die: it is the way back
                if str(error) != last_logged:  # log a new problem once, not every few seconds
                    log.warning("model refresh failed", extra={"reason": str(error)})
                    last_logged = str(error)
