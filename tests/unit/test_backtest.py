"""The backtest fits its monitored model once for the scenarios that share their reference days."""

from __future__ import annotations

import pandas as pd

from mlops_course.monitoring.backtest import _fit_reference, backtest

SMALL = {"reference_days": range(9), "days": range(9, 11), "n": 200, "seed": 3}


def test_scenarios_whose_reference_days_are_alike_share_one_fit() -> None:
    _fit_reference.cache_clear()
    calm = backtest("none", start_day=30, **SMALL)
    drifting = backtest("concept_drift", start_day=30, **SMALL)
    assert drifting.model is calm.model  # days 0-8 are the same trips in both worlds
    assert _fit_reference.cache_info().misses == 1
    drifting.reference.loc[0, "distance_km"] = -1.0  # a caller's edit stays its own
    assert not calm.reference.equals(drifting.reference)


def test_a_scenario_active_in_its_reference_days_gets_its_own_fit() -> None:
    _fit_reference.cache_clear()
    calm = backtest("none", start_day=5, **SMALL)
    shifted = backtest("covariate_shift", start_day=5, **SMALL)
    assert shifted.model is not calm.model
    assert "riverside" in set(shifted.reference["pickup_zone"])  # trained on the shifted days
    assert isinstance(shifted.reference, pd.DataFrame)
