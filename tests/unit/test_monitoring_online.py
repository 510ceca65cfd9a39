"""The in-service drift monitor: bounded thread-safe window, min_rows, and the gauge contract."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from mlops_course.data.simulate import simulate_day
from mlops_course.monitoring.online import DriftMonitor
from mlops_course.monitoring.trips import MONITORED, detect_trip_drift


def _served(day: int, n: int, scenario: str = "none") -> pd.DataFrame:
    frame = simulate_day(day, n=n, scenario=scenario)
    return frame.assign(prediction=frame["distance_km"] * 3.0)


@pytest.fixture
def reference() -> pd.DataFrame:
    return pd.concat([_served(d, 1_000) for d in range(3)], ignore_index=True)


def test_window_is_bounded_and_keeps_the_newest_rows(reference: pd.DataFrame) -> None:
    monitor = DriftMonitor(reference, max_rows=1_000, min_rows=100)
    for day in range(5):
        monitor.observe(_served(day, 300))
    window = monitor.window()
    assert len(window) == 1_000 and list(window.columns) == MONITORED
    last = _served(4, 300)
    pd.testing.assert_frame_equal(
        window.tail(300).reset_index(drop=True), last[MONITORED].reset_index(drop=True)
    )
    assert monitor.rows < 1_000 + 300  # whole old batches were dropped, memory stays bounded


def test_no_report_below_min_rows_then_a_report(reference: pd.DataFrame) -> None:
    monitor = DriftMonitor(reference, min_rows=500)
    monitor.observe(_served(10, 400))
    assert monitor.evaluate() is None
    monitor.observe(_served(11, 400))
    report = monitor.evaluate()
    assert report is not None and not report.drifted


def test_shifted_traffic_is_detected(reference: pd.DataFrame) -> None:
    monitor = DriftMonitor(reference, min_rows=500)
    monitor.observe(_served(30, 800, scenario="covariate_shift"))
    report = monitor.evaluate()
    assert report is not None and report.drifted
    assert {"pickup_zone", "distance_km", "prediction"} <= set(report.drifted_features)


def test_gauges_follow_the_metric_name_contract(reference: pd.DataFrame) -> None:
    """The alert rules read exactly these names and labels."""
    registry = CollectorRegistry()
    monitor = DriftMonitor(reference, registry=registry, min_rows=500)
    frame = _served(30, 800, scenario="data_quality")
    monitor.observe(frame)
    report = monitor.evaluate()
    value = registry.get_sample_value
    assert value("mlops_drift_share") == pytest.approx(report.share_drifted)
    assert value("mlops_drift_detected") == 1.0
    assert value("mlops_drift_window_rows") == 800
    assert value("mlops_feature_drifted", {"feature": "distance_km"}) == 1.0
    assert value("mlops_feature_drifted", {"feature": "pickup_hour"}) == 0.0
    statistic = report.frame.set_index("feature").loc["distance_km", "statistic"]
    assert value("mlops_feature_drift_score", {"feature": "distance_km"}) == pytest.approx(
        statistic
    )
    null_share = frame["passengers"].isna().mean()
    assert value("mlops_data_null_share", {"feature": "passengers"}) == pytest.approx(null_share)
    assert b"mlops_feature_drift_score" in generate_latest(registry)


def test_observe_is_safe_from_many_threads(reference: pd.DataFrame) -> None:
    monitor = DriftMonitor(reference, max_rows=10_000, min_rows=100)
    batch = _served(12, 50)
    threads = [threading.Thread(target=monitor.observe, args=(batch,)) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert monitor.rows == 2_000 and len(monitor.window()) == 2_000


def test_the_joined_window_is_kept_and_equals_every_served_call_in_order(
    reference: pd.DataFrame,
) -> None:
    """Under load a call is one row: the window is joined once, then extended, never rebuilt."""
    monitor = DriftMonitor(reference, max_rows=250, min_rows=100)
    served = _served(13, 400)
    calls = []
    for start in range(0, 400, 2):
        call = served.iloc[start : start + 2]
        calls.append(call)
        if start % 4:  # predictions passed separately, as the API's micro-batcher does
            monitor.observe(call.drop(columns="prediction"), call["prediction"].to_numpy())
        else:
            monitor.observe(call)
        if start in (98, 298):
            monitor.window()
    expected = pd.concat(calls, ignore_index=True)[MONITORED].tail(250).reset_index(drop=True)
    pd.testing.assert_frame_equal(monitor.window(), expected)
    assert len(monitor._frames) == 1, "the joined window did not replace the calls it joined"
    assert monitor.rows == 250


def test_a_check_with_nothing_new_served_reuses_the_last_report(reference: pd.DataFrame) -> None:
    """Prometheus scrapes every few seconds; an idle service must not recompute its drift."""
    checks = []

    def detect(ref: pd.DataFrame, current: pd.DataFrame):
        checks.append(len(current))
        return detect_trip_drift(ref, current)

    monitor = DriftMonitor(reference, min_rows=100, detect=detect)
    monitor.observe(_served(14, 200))
    first = monitor.evaluate()
    assert monitor.evaluate() is first and checks == [200]
    monitor.observe(_served(15, 1))
    assert monitor.evaluate() is not first and checks == [200, 201]


def test_mistakes_are_explained(reference: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="min_rows"):
        DriftMonitor(reference, min_rows=10, max_rows=5)
    with pytest.raises(KeyError, match="prediction"):
        DriftMonitor(reference.drop(columns="prediction"))
    monitor = DriftMonitor(reference)
    with pytest.raises(KeyError, match="'prediction'"):
        monitor.observe(_served(3, 10).drop(columns="prediction"))
