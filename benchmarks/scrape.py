"""Benchmark: what a Prometheus scrape of the API's drift gauges costs, under one-row traffic.

The API hands every model call's rows to its drift monitor (``mlops_course.monitoring.online``)
and checks the window when ``/metrics`` is scraped. Under load a call is often one row, so a
window of 5,000 rows is thousands of small frames. ``python benchmarks/scrape.py`` serves one-row
calls into a monitor and times, side by side in one run (medians of ``REPEATS``):

- ``former_join_*``: joining the window frame by frame, as the monitor did before it kept the
  joined window (every scrape paid this);
- ``first_scrape_*``: the first check of a fresh window (one join, then the drift tests);
- ``scrape_after_one_call_*``: the next check, one more call served (the kept window plus one);
- ``idle_scrape_*``: a check with nothing served since the last (the last report is reused).

It writes ``benchmarks/results/scrape.json``, shown in the book's benchmarks appendix.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine

from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.monitoring.online import WINDOW_ROWS, DriftMonitor
from mlops_course.monitoring.trips import MONITORED

RESULT = Path(__file__).resolve().parent / "results" / "scrape.json"
REPEATS = 5
CALLS = (1_000, WINDOW_ROWS)


def former_join(calls: list[tuple[pd.DataFrame, np.ndarray]]) -> pd.DataFrame:
    """The window as the monitor joined it before: attach and select per call, then concat."""
    parts = [frame.assign(prediction=predictions) for frame, predictions in calls]
    window = pd.concat([part[MONITORED] for part in parts], ignore_index=True)
    return window.tail(WINDOW_ROWS).reset_index(drop=True)


def seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(reference: pd.DataFrame, served: pd.DataFrame, n: int) -> dict[str, float]:
    rows = served.head(n)
    calls = [(rows.iloc[[i]], np.array([12.0])) for i in range(n)]
    figures: dict[str, list[float]] = {}
    for _ in range(REPEATS):
        monitor = DriftMonitor(reference)
        for frame, predictions in calls:
            monitor.observe(frame, predictions)
        figures.setdefault("former_join", []).append(seconds(lambda: former_join(calls)))
        figures.setdefault("first_scrape", []).append(seconds(monitor.evaluate))
        monitor.observe(*calls[0])
        figures.setdefault("scrape_after_one_call", []).append(seconds(monitor.evaluate))
        figures.setdefault("idle_scrape", []).append(seconds(monitor.evaluate))
        pd.testing.assert_frame_equal(monitor.window(), former_join([*calls, calls[0]]))
    return {f"{name}_{n}_calls_ms": statistics.median(v) * 1000 for name, v in figures.items()}


def main() -> None:
    days = simulate_days(range(6), seed=7, n=WINDOW_ROWS)
    reference = to_model_input(days[days["day"] < 5]).sample(WINDOW_ROWS, random_state=7)
    reference = reference.assign(prediction=days["duration_min"].loc[reference.index].to_numpy())
    served = to_model_input(days[days["day"] == 5])
    result: dict[str, object] = {"date": datetime.now(UTC).date().isoformat()}
    for n in CALLS:
        figures = measure(reference.reset_index(drop=True), served, n)
        result.update({key: round(value, 3) for key, value in figures.items()})
        print(", ".join(f"{key}: {value:.1f}" for key, value in figures.items()))
    result["repeats"] = REPEATS
    result["machine"] = machine()
    RESULT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
