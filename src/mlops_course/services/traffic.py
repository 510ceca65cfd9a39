"""Generated load for a running model API: the requests a monitoring check needs to see.

A dashboard or an alert over a service nobody calls shows nothing: counters that were never
incremented do not exist, and a rate needs a counter that grows between two scrapes. The tests of
the Prometheus setup and the dashboard preview (``benchmarks/dashboards.py``) therefore send the
same mix, spread over time: good single trips, one with a pickup zone the model never saw (the
unknown-category counter), one invalid trip (422), one body not sent as JSON (415), and a batch
(the latency of ``/predict/batch``, and rows for the drift window).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from typing import Any

import httpx

from mlops_course.data.simulate import simulate_day
from mlops_course.schema import FEATURE_COLUMNS

UNKNOWN_ZONE = "riverside"
"""A pickup zone the simulator never produces: the API serves it and counts it as unknown."""


def simulated_trips(day: int = 40, n: int = 60, seed: int | None = None) -> list[dict[str, Any]]:
    """One simulated day's trips as the JSON bodies of ``POST /predict``.

    Parameters
    ----------
    day
        The simulated day (far from the training days, so the drift gauges have something to say).
    n
        How many trips.
    seed
        The simulator's seed; None means its default.
    """
    frame = simulate_day(day, n=n, seed=seed)
    return json.loads(frame[FEATURE_COLUMNS].to_json(orient="records"))  # NaN becomes null


def _one_round(http: httpx.Client, trips: list[dict[str, Any]], index: int, batch: int) -> Counter:
    """Five good trips, one unknown zone, one invalid trip, one non-JSON body and one batch."""
    statuses: Counter[tuple[str, int]] = Counter()
    count = len(trips)
    for offset in range(5):
        trip = trips[(index + offset) % count]
        statuses["/predict", http.post("/predict", json=trip).status_code] += 1
    trip = trips[index % count]
    unknown = {**trip, "pickup_zone": UNKNOWN_ZONE}
    statuses["/predict", http.post("/predict", json=unknown).status_code] += 1
    invalid = {**trip, "pickup_hour": 25}
    statuses["/predict", http.post("/predict", json=invalid).status_code] += 1
    statuses["/predict", http.post("/predict", content=json.dumps(trip)).status_code] += 1
    rows = [trips[(index + k) % count] for k in range(batch)]
    response = http.post("/predict/batch", json={"trips": rows})
    statuses["/predict/batch", response.status_code] += 1
    return statuses


def send_traffic(
    api_url: str,
    seconds: float,
    *,
    trips: list[dict[str, Any]] | None = None,
    batch: int = 20,
    pause: float = 0.2,
    min_rounds: int = 1,
) -> Counter[tuple[str, int]]:
    """Send the mixed load to ``api_url`` for ``seconds`` (and ``min_rounds``), in rounds.

    Spread over time because a counter that first appears already at its final value has a rate
    of 0: Prometheus must see it grow between two scrapes. Each round sends five good trips and
    one with an unknown pickup zone (200), one invalid trip (422), one body without a JSON content
    type (415) and a batch of ``batch`` trips (200). Statuses are counted, not asserted, so a
    caller decides which surprise fails it.

    Parameters
    ----------
    api_url
        The API's base URL, e.g. ``Service.url`` of :func:`mlops_course.services.start_api`.
    seconds
        How long to send for; at least one round is sent.
    trips
        The trips to cycle through; None means :func:`simulated_trips`.
    batch
        Trips per ``POST /predict/batch``; with the 6 good single trips, a round adds 26 rows to
        the API's drift window.
    pause
        Seconds between two rounds.
    min_rounds
        Rounds to send however long they take: on a busy machine ``seconds`` alone may not
        send enough rows for the drift check (500 rows: 20 rounds of the default mix).

    Returns
    -------
    Counter
        How many responses of each ``(route, status code)`` were received.
    """
    trips = trips or simulated_trips()
    sent: Counter[tuple[str, int]] = Counter()
    with httpx.Client(base_url=api_url, timeout=10, trust_env=False) as http:
        deadline = time.monotonic() + seconds
        for done in itertools.count(1):
            sent.update(_one_round(http, trips, 5 * done, batch))
            if time.monotonic() >= deadline and done >= min_rounds:
                break
            time.sleep(pause)
    return sent
