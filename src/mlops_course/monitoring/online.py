"""Drift monitoring inside the model API: a window of recently served rows, checked on demand.

The service cannot wait for a nightly job to learn that its inputs changed. It appends every
served batch to a bounded window (a ring buffer: the oldest rows fall out, so memory stays
constant however long the service runs) and, when asked, compares the window with the model's
training reference and publishes the result as Prometheus gauges for the alert rules.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry

from mlops_course.monitoring.drift import DriftReport
from mlops_course.monitoring.gauges import DriftGauges
from mlops_course.monitoring.trips import MONITORED, detect_trip_drift

WINDOW_ROWS = 5_000
MIN_ROWS = 500


class DriftMonitor:
    """Holds the training reference and the last ``max_rows`` served rows, thread-safely.

    ``min_rows`` = 500 by default: below that a drift test mostly measures sampling noise (a
    category with a 5% share would be 25 rows). ``max_rows`` = 5,000 matches the reference
    sample: five days of the simulated service's traffic (1,000 trips a day). A window should span
    whole cycles of the traffic's rhythm: a morning alone has a different hour mix than the
    whole-day reference, and its ``pickup_hour`` would "drift". ``detect`` is the function that
    builds the report; the default applies the course's per-column settings for trips.

    Pass ``registry`` to register the gauges here, or ``gauges`` to update ones that already
    exist (a service that replaces its monitor when the model changes keeps one set of gauges).
    """

    def __init__(
        self,
        reference: pd.DataFrame,
        *,
        registry: CollectorRegistry | None = None,
        gauges: DriftGauges | None = None,
        max_rows: int = WINDOW_ROWS,
        min_rows: int = MIN_ROWS,
        detect: Callable[[pd.DataFrame, pd.DataFrame], DriftReport] = detect_trip_drift,
        columns: list[str] | None = None,
    ) -> None:
        if not 0 < min_rows <= max_rows:
            raise ValueError(f"need 0 < min_rows <= max_rows, got {min_rows} and {max_rows}")
        self.columns = list(columns or MONITORED)
        missing = [c for c in self.columns if c not in reference.columns]
        if missing:
            raise KeyError(f"the reference lacks the monitored columns {missing}")
        self.reference = reference
        self.max_rows, self.min_rows = max_rows, min_rows
        self.detect = detect
        if registry is not None and gauges is not None:
            raise ValueError("pass registry (new gauges) or gauges (existing ones), not both")
        self.gauges = DriftGauges(registry) if registry is not None else gauges
        # Served rows as they came: (model inputs, predictions or None). Selecting the columns
        # and attaching the predictions waits until a check needs the window, so a request
        # pays only for an append.
        self._frames: deque[tuple[pd.DataFrame, np.ndarray | None]] = deque()
        self._rows = 0
        # Counts the calls of observe: a check of a window that has not changed since the last
        # one returns that report instead of computing the same statistics again.
        self._observed = 0
        self._last: tuple[int, DriftReport] | None = None
        self._lock = threading.Lock()

    @property
    def rows(self) -> int:
        """Rows currently in the window."""
        with self._lock:
            return self._rows

    def observe(self, frame: pd.DataFrame, predictions: np.ndarray | None = None) -> None:
        """Add served rows to the window: the model inputs, with the predictions either as a
        ``prediction`` column of ``frame`` or given separately (no copy on the request path)."""
        needed = [c for c in self.columns if not (c == "prediction" and predictions is not None)]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise KeyError(
                f"served rows lack the monitored columns {missing}; pass the model inputs with "
                "the predictions as column 'prediction' (or as predictions=)"
            )
        if frame.empty:
            return
        with self._lock:
            self._frames.append((frame, predictions))
            self._rows += len(frame)
            self._observed += 1
            while self._rows - len(self._frames[0][0]) >= self.max_rows:
                self._rows -= len(self._frames.popleft()[0])

    def window(self) -> pd.DataFrame:
        """A copy of the last ``max_rows`` served rows, oldest first.

        Joining the window costs a step per served call, and under load a call is often one row:
        a thousand one-row frames took 1.2 s of CPU to join, on every Prometheus scrape. So the
        joined window replaces the frames it was built from, and the next call joins only the
        frames that came since (one more step each).
        """
        with self._lock:
            frames = list(self._frames)
        if not frames:
            return pd.DataFrame(columns=self.columns)
        window = self._join(frames)
        with self._lock:
            # observe may have dropped some of these frames meanwhile: then keep them as they are.
            if len(self._frames) >= len(frames) and all(
                kept is joined for kept, joined in zip(self._frames, frames, strict=False)
            ):
                for _ in frames:
                    self._frames.popleft()
                self._frames.appendleft((window, None))
                self._rows += len(window) - sum(len(frame) for frame, _ in frames)
        return window.copy()

    def _join(self, frames: list[tuple[pd.DataFrame, np.ndarray | None]]) -> pd.DataFrame:
        """The monitored columns of ``frames``, joined, their predictions as column ``prediction``.

        One concat of the frames as they came and one of the predictions: selecting columns or
        attaching predictions frame by frame cost more than the join itself.
        """
        joined = pd.concat([frame for frame, _ in frames], ignore_index=True)
        if "prediction" in self.columns:
            predictions = [
                frame["prediction"].to_numpy() if given is None else np.asarray(given)
                for frame, given in frames
            ]
            joined = joined.assign(prediction=np.concatenate(predictions))
        return joined[self.columns].tail(self.max_rows).reset_index(drop=True)

    def evaluate(self) -> DriftReport | None:
        """Check the window against the reference and update the gauges.

        Returns None, and leaves the gauges as they were, while fewer than ``min_rows`` rows
        have been served: no answer is better than a noisy one. With no row served since the
        last check, that check's report is the answer (the gauges already show it).
        """
        with self._lock:
            observed = self._observed
        if self._last is not None and self._last[0] == observed:
            return self._last[1]
        current = self.window()
        if len(current) < self.min_rows:
            return None
        report = self.detect(self.reference, current)
        if self.gauges is not None:
            self.gauges.update(report, window_rows=len(current), null_shares=_null_shares(current))
        self._last = (observed, report)
        return report


def _null_shares(frame: pd.DataFrame) -> Mapping[str, float]:
    return {name: float(frame[name].isna().mean()) for name in frame.columns}
