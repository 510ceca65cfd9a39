"""Data and models shared by the data, model and gate tests: a sound model and broken ones.

Every check must be seen to fail, or it checks nothing. So next to a model trained the way the
pipeline trains it, there are models broken the ways real models break: trained on shuffled
targets (learnt nothing), on distances reversed (learnt the relation backwards), and on a target
that leaks the temperature (relies on an input that does not matter). They are trained once per
session on a week of simulated trips, about a second each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mlops_course.data.simulate import simulate_days
from mlops_course.features import split_xy
from mlops_course.train import build_model

SEED = 42
TRIPS = 500
TRAIN_DAYS = range(0, 8)
EVAL_DAYS = range(8, 10)


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    return simulate_days(TRAIN_DAYS, seed=SEED, n=TRIPS)


@pytest.fixture(scope="session")
def eval_frame() -> pd.DataFrame:
    return simulate_days(EVAL_DAYS, seed=SEED, n=TRIPS)


@pytest.fixture(scope="session")
def baseline_value(train_frame: pd.DataFrame) -> float:
    """The constant to beat: the median training duration, as the pipeline's evaluate uses."""
    return float(train_frame["duration_min"].median())


def _fit(frame: pd.DataFrame, kind: str = "hgb", **params: object) -> Pipeline:
    x, y = split_xy(frame)
    return build_model(kind, seed=SEED, **params).fit(x, y)


@pytest.fixture(scope="session")
def good_model(train_frame: pd.DataFrame) -> Pipeline:
    return _fit(train_frame)


@pytest.fixture(scope="session")
def weaker_model(train_frame: pd.DataFrame) -> Pipeline:
    """Sound but clearly worse: a gradient-boosted model stopped after a few trees."""
    return _fit(train_frame, max_iter=8)


@pytest.fixture(scope="session")
def shuffled_model(train_frame: pd.DataFrame) -> Pipeline:
    """Trained on durations shuffled between trips: it can only have learnt noise."""
    shuffled = np.random.default_rng(SEED).permutation(train_frame["duration_min"].to_numpy())
    return _fit(train_frame.assign(duration_min=shuffled))


@pytest.fixture(scope="session")
def backwards_model(train_frame: pd.DataFrame) -> Pipeline:
    """Trained with distances reversed (the longest trip gets the shortest distance)."""
    distance = train_frame["distance_km"]
    return _fit(train_frame.assign(distance_km=distance.max() - distance + 0.3))


@pytest.fixture(scope="session")
def temperature_model(train_frame: pd.DataFrame) -> Pipeline:
    """Trained on durations that grow with the temperature: it relies on an irrelevant input."""
    frame = train_frame
    return _fit(frame.assign(duration_min=frame["duration_min"] + frame["temperature_c"]))
