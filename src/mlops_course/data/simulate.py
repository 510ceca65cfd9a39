"""The running example: daily batches of ride-hailing trips with a known ground truth.

A simulator instead of a downloaded dataset gives the course three things a real dataset
cannot: it works offline, it is deterministic for a given ``(seed, day)``, and its drift scenarios
start on a *known* day, so monitoring (stage 4) and continuous training (stage 5) can be checked
against the truth instead of eyeballed.

Each random part of a batch comes from its own stream seeded by ``(seed, day, stream)``. That is
why a scenario leaves the days before its start identical to ``none`` and, from its start,
changes only the columns it declares: the unaffected columns come from the very same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_course.schema import COLUMNS, TARGET
from mlops_course.settings import get_settings

EPOCH = pd.Timestamp("2026-01-05")  # a Monday, so day 0 is a Monday and weekday = day % 7

# How each zone of the schema behaves: (share of pickups, speed factor, median trip distance in km).
# In the schema's order, which the random draws follow: reordering would change every batch.
ZONE_PROFILES: dict[str, tuple[float, float, float]] = {
    "downtown": (0.24, 0.70, 3.0),
    "midtown": (0.18, 0.85, 4.0),
    "university": (0.12, 0.95, 4.5),
    "old_town": (0.10, 0.75, 3.5),
    "harbor": (0.10, 1.00, 6.0),
    "suburbs_north": (0.10, 1.15, 8.0),
    "suburbs_south": (0.10, 1.15, 8.0),
    "airport": (0.06, 1.30, 18.0),
}
# The district that opens in the covariate-shift scenario: long trips over one congested bridge.
NEW_ZONE = "riverside"
NEW_ZONE_SPEED, NEW_ZONE_DISTANCE_KM, NEW_ZONE_SHARE = 0.60, 11.0, 0.30

# How each weather of the schema behaves: (probability, speed factor, temperature mean, sd in °C).
WEATHER_PROFILES: dict[str, tuple[float, float, float, float]] = {
    "clear": (0.60, 1.00, 17.0, 6.0),
    "rain": (0.30, 0.85, 10.0, 5.0),
    "snow": (0.10, 0.70, -2.0, 3.0),
}
# Share of pickups per hour of day: quiet nights, a morning and a bigger evening peak.
_HOUR_WEIGHTS = np.array(
    [2, 1.5, 1, 0.8, 0.8, 1.2, 3, 6, 8, 6, 4.5, 4.5, 5, 5, 4.5, 5, 6.5, 8, 8, 6.5, 5, 4.5, 4, 3]
)
HOUR_SHARE = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
BASE_SPEED_KMH = 30.0
CONGESTION_SPEED_FACTOR = 0.70  # concept drift: the same trip takes about 43% longer to drive


@dataclass(frozen=True)
class Scenario:
    """A named change to the data with a known start day.

    ``changed_columns`` is the ground truth that drift detection is graded against; ``days`` limits
    an incident to a few days (``None``: the change is permanent).
    """

    name: str
    description: str
    changed_columns: tuple[str, ...]
    days: int | None = None

    def is_active(self, day: int, start_day: int) -> bool:
        """Whether the scenario changes the batch of ``day``."""
        if self.name == "none" or day < start_day:
            return False
        return self.days is None or day < start_day + self.days


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("none", "Business as usual: every day is drawn from the same distributions.", ()),
        Scenario(
            "covariate_shift",
            f"A new district, '{NEW_ZONE}', opens: {NEW_ZONE_SHARE:.0%} of trips now start there, "
            "and they are longer. The inputs change; how inputs map to durations does not (the "
            "durations change only because the trips do).",
            ("pickup_zone", "distance_km", TARGET),
        ),
        Scenario(
            "concept_drift",
            "Road works congest the city: the same trip now takes longer. The inputs look the "
            "same; only the relation between inputs and duration changes.",
            (TARGET,),
        ),
        Scenario(
            "data_quality",
            "An upstream release sends distances in metres instead of kilometres and drops 20% of "
            "passenger counts, for three days, until it is rolled back.",
            ("distance_km", "passengers"),
            days=3,
        ),
    ]
}


def get_scenario(name: str) -> Scenario:
    """Look a scenario up by name, with an error that lists the valid names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        valid = ", ".join(SCENARIOS)
        raise ValueError(f"unknown scenario {name!r}; expected one of: {valid}") from None


def _rng(seed: int, day: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, day, stream])


def simulate_day(
    day: int,
    *,
    seed: int | None = None,
    scenario: str = "none",
    n: int | None = None,
    start_day: int | None = None,
) -> pd.DataFrame:
    """Return the trips of one day: features, target and identifiers, sorted by pickup time.

    The same arguments always return an identical frame; the defaults are the course settings'.

    Parameters
    ----------
    day
        The day's number, at least 0; day 0 is the Monday :data:`EPOCH` (weekday ``day % 7``).
    seed
        The seed of the day's random streams; None means the course settings' ``seed``.
    scenario
        A name in :data:`SCENARIOS`; ``"none"`` is business as usual.
    n
        Trips in the batch; None means the course settings' ``trips_per_day``.
    start_day
        The day ``scenario`` begins; None means the course settings' ``drift_start_day``.
    """
    settings = get_settings()
    seed = settings.seed if seed is None else seed
    n = settings.trips_per_day if n is None else n
    start_day = settings.drift_start_day if start_day is None else start_day
    if day < 0:
        raise ValueError(f"day must be >= 0 (days count from {EPOCH.date()}), got {day}")
    if n < 1:
        raise ValueError(f"a batch needs at least one trip, got n={n}")
    spec = get_scenario(scenario)
    active = spec.is_active(day, start_day)

    zones, hours, minutes, distance, passengers, weather, temperature, precipitation, noise = (
        _draw_trips(seed, day, n)
    )

    change = _rng(seed, day, 1)
    speed_zone = np.array([ZONE_PROFILES[z][1] for z in zones])
    if active and scenario == "covariate_shift":
        moved = change.random(n) < NEW_ZONE_SHARE
        zones = np.where(moved, NEW_ZONE, zones)
        new_km = np.clip(NEW_ZONE_DISTANCE_KM * change.lognormal(0.0, 0.3, size=n), 0.3, 80.0)
        distance = np.where(moved, new_km, distance)
        speed_zone = np.where(moved, NEW_ZONE_SPEED, speed_zone)

    weekday = day % 7
    rush = np.isin(hours, [7, 8, 9, 16, 17, 18, 19])
    night = hours < 6
    speed_hour = np.where(rush, 0.65, np.where(night, 1.25, 1.0))
    speed_weather = np.array([WEATHER_PROFILES[w][1] for w in weather])
    speed = BASE_SPEED_KMH * speed_zone * speed_hour * speed_weather
    speed *= 1.05 if weekday >= 5 else 1.0
    if active and scenario == "concept_drift":
        speed *= CONGESTION_SPEED_FACTOR
    duration = (2.0 + distance / speed * 60.0 + 0.4 * (passengers - 1)) * noise

    passengers_col = pd.array(passengers, dtype="Int64")
    distance_col = distance
    if active and scenario == "data_quality":
        distance_col = distance * 1000.0
        dropped = change.random(n) < 0.20
        passengers_col[dropped] = pd.NA

    return _frame(
        day,
        zones,
        hours,
        minutes,
        distance_col,
        passengers_col,
        temperature,
        precipitation,
        weather,
        duration,
    )


def _draw_trips(seed: int, day: int, n: int) -> tuple[np.ndarray, ...]:
    """The day's trips before any scenario: where, when, how far, how many, in what weather.

    The draws come from the day's own stream (``_rng(seed, day, 0)``) in a fixed order; changing
    the order would change every trip of every day, and so every stored notebook output.
    """
    base = _rng(seed, day, 0)
    zone_names = list(ZONE_PROFILES)
    zone_share = np.array([ZONE_PROFILES[z][0] for z in zone_names])
    zones = base.choice(zone_names, size=n, p=zone_share / zone_share.sum())
    hours = base.choice(24, size=n, p=HOUR_SHARE)
    minutes = base.integers(0, 60, size=n)
    median_km = np.array([ZONE_PROFILES[z][2] for z in zones])
    distance = np.clip(median_km * base.lognormal(0.0, 0.5, size=n), 0.3, 80.0)
    passengers = base.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.55, 0.25, 0.1, 0.07, 0.02, 0.01])
    weather_names = list(WEATHER_PROFILES)
    weather = base.choice(weather_names, size=n, p=[WEATHER_PROFILES[w][0] for w in weather_names])
    temp_mean = np.array([WEATHER_PROFILES[w][2] for w in weather])
    temp_sd = np.array([WEATHER_PROFILES[w][3] for w in weather])
    temperature = temp_mean + temp_sd * base.standard_normal(n)
    rain_mm = base.gamma(2.0, 2.0, size=n)
    precipitation = np.where(
        weather == "clear", 0.0, np.where(weather == "snow", rain_mm / 2, rain_mm)
    )
    noise = _rng(seed, day, 2).lognormal(0.0, 0.12, size=n)
    return zones, hours, minutes, distance, passengers, weather, temperature, precipitation, noise


def _frame(
    day: int,
    zones: np.ndarray,
    hours: np.ndarray,
    minutes: np.ndarray,
    distance: np.ndarray,
    passengers: pd.api.extensions.ExtensionArray,
    temperature: np.ndarray,
    precipitation: np.ndarray,
    weather: np.ndarray,
    duration: np.ndarray,
) -> pd.DataFrame:
    """The day's trips as the data contract's columns, sorted by pickup time, with trip ids."""
    n = len(zones)
    weekday = day % 7
    pickup = EPOCH + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hours * 60 + minutes, "min")
    frame = pd.DataFrame(
        {
            "day": np.full(n, day, dtype="int64"),
            "pickup_datetime": pickup,
            "pickup_zone": zones.astype(object),
            "pickup_hour": hours.astype("int64"),
            "weekday": np.full(n, weekday, dtype="int64"),
            "distance_km": np.round(distance, 3),
            "passengers": passengers,
            "temperature_c": np.round(temperature, 1),
            "precipitation_mm": np.round(precipitation, 1),
            "weather": weather.astype(object),
            TARGET: np.round(duration, 2),
        }
    )
    frame = frame.sort_values("pickup_datetime", kind="stable").reset_index(drop=True)
    frame.insert(0, "trip_id", [f"d{day:03d}-{i:05d}" for i in range(n)])
    return frame[COLUMNS]


def simulate_days(
    days: Iterable[int],
    *,
    seed: int | None = None,
    scenario: str = "none",
    n: int | None = None,
    start_day: int | None = None,
) -> pd.DataFrame:
    """Concatenate the batches of several days, e.g. a training window.

    Parameters
    ----------
    days
        The days to simulate, at least one; their batches follow in this order.
    seed, scenario, n, start_day
        As for :func:`simulate_day`, the same for every day; a None ``seed``, ``n`` or
        ``start_day`` means the course settings' value.
    """
    frames = [simulate_day(d, seed=seed, scenario=scenario, n=n, start_day=start_day) for d in days]
    if not frames:
        raise ValueError("days is empty: give at least one day to simulate")
    return pd.concat(frames, ignore_index=True)
