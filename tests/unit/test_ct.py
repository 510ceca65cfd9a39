"""Continuous-training pieces that need no server: trigger policy, window, data version, gate."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlops_course.ct.loop import LoopConfig, LoopResult
from mlops_course.ct.retraining import MODEL_PARAMS, data_version, gate_challenger, window_days
from mlops_course.ct.timeline import recovery
from mlops_course.ct.triggers import Signals, TriggerPolicy
from mlops_course.data.collect import ingest_batch
from mlops_course.data.simulate import simulate_day, simulate_days
from mlops_course.features import split_xy
from mlops_course.train import build_model

POLICY = TriggerPolicy(schedule_days=None)


# --- trigger policy ------------------------------------------------------------------------------


def test_no_signal_means_no_trigger() -> None:
    calm = Signals(day=40, drift_share=0.0, drift_streak=0, error_ratio=1.02, days_since_retrain=30)
    assert POLICY.decide(calm) is None


def test_degraded_performance_triggers_with_its_reason() -> None:
    trigger = POLICY.decide(Signals(day=31, error_ratio=1.6))
    assert trigger is not None and trigger.kind == "performance" and trigger.day == 31
    assert "1.60x" in trigger.reason and "1.25x" in trigger.reason


def test_drift_must_persist_before_it_triggers() -> None:
    one_day = Signals(day=30, drift_share=0.5, drift_streak=1)
    two_days = Signals(day=31, drift_share=0.5, drift_streak=2)
    assert POLICY.decide(one_day) is None
    trigger = POLICY.decide(two_days)
    assert trigger is not None and trigger.kind == "drift" and "2 days in a row" in trigger.reason


def test_drift_below_the_share_does_not_trigger() -> None:
    assert POLICY.decide(Signals(day=31, drift_share=0.125, drift_streak=5)) is None


def test_cooldown_silences_drift_and_performance_but_not_a_person() -> None:
    degraded = Signals(day=33, drift_share=0.5, drift_streak=4, error_ratio=2.0)
    assert POLICY.decide(degraded, last_trigger_day=31) is None
    later = Signals(day=36, drift_share=0.5, drift_streak=4, error_ratio=2.0)
    assert POLICY.decide(later, last_trigger_day=31) is not None
    manual = POLICY.decide(Signals(day=32, manual=True), last_trigger_day=31)
    assert manual is not None and manual.kind == "manual"


def test_schedule_triggers_only_when_configured() -> None:
    old = Signals(day=50, days_since_retrain=14)
    assert POLICY.decide(old) is None
    trigger = TriggerPolicy(schedule_days=7).decide(old)
    assert trigger is not None and trigger.kind == "schedule" and "14 days old" in trigger.reason


def test_performance_wins_over_drift() -> None:
    both = Signals(day=31, drift_share=0.5, drift_streak=2, error_ratio=1.8)
    trigger = POLICY.decide(both)
    assert trigger is not None and trigger.kind == "performance"


@pytest.mark.parametrize(
    "kwargs", [{"drift_days": 0}, {"max_error_ratio": 1.0}, {"schedule_days": 0}]
)
def test_nonsense_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        TriggerPolicy(**kwargs)


# --- window and data version ---------------------------------------------------------------------


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """Days 0-9 of the data-quality scenario starting on day 5: days 5-7 are quarantined."""
    for day in range(10):
        batch = simulate_day(day, scenario="data_quality", n=50, start_day=5)
        ingest_batch(batch, f"trips_day_{day:03d}", tmp_path / "raw", tmp_path / "quarantine")
    return tmp_path / "raw"


def test_window_never_contains_quarantined_days(raw: Path) -> None:
    assert window_days(raw, last_day=9, window=7) == [3, 4, 8, 9]
    assert window_days(raw, last_day=4, window=3) == [2, 3, 4]


def test_window_starts_no_earlier_than_the_change(raw: Path) -> None:
    assert window_days(raw, last_day=4, window=7, since_day=3) == [3, 4]


def test_data_version_names_the_exact_bytes(raw: Path) -> None:
    first = data_version(raw, [2, 3, 4])
    assert first.startswith("md5:") and first == data_version(raw, [4, 3, 2])
    assert data_version(raw, [2, 3]) != first
    path = raw / "trips_day_003.parquet"
    simulate_day(3, n=51).to_parquet(path, index=False)  # the same day, other content
    assert data_version(raw, [2, 3, 4]) != first


# --- the retraining gate -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models_and_eval() -> tuple:
    train = simulate_days(range(0, 4), n=600)
    eval_frame = simulate_day(4, n=600)
    good = build_model("hgb", **MODEL_PARAMS).fit(*split_xy(train))
    weak = build_model("hgb", max_iter=3).fit(*split_xy(train))
    return good, weak, eval_frame


def test_gate_blocks_a_worse_challenger_and_says_why(models_and_eval: tuple) -> None:
    good, weak, eval_frame = models_and_eval
    report = gate_challenger(weak, good, eval_frame)
    assert not report.passed
    assert any(r.startswith("BLOCK") and "lower it by at least 5%" in r for r in report.reasons)
    # one comparison with the champion, the retraining's (not also stage 3's "at most 2% worse")
    assert sum("vs champion" in r for r in report.reasons) == 1, report.reasons


def test_gate_blocks_a_challenger_that_is_merely_as_good(models_and_eval: tuple) -> None:
    good, _, eval_frame = models_and_eval
    report = gate_challenger(good, good, eval_frame)
    assert not report.passed and "(+0.0%)" in report.summary()


def test_gate_passes_a_clearly_better_challenger(models_and_eval: tuple) -> None:
    good, weak, eval_frame = models_and_eval
    report = gate_challenger(good, weak, eval_frame)
    assert report.passed, report.summary()
    assert [c.name for c in report.checks] == [
        "invariant to temperature",
        "invariant to the workday",
        "longer distance, longer trip",
    ]


# --- the recovery claim --------------------------------------------------------------------------


def _result(errors_after: list[float], baseline_after: float = 0.3):
    """A made-up timeline: 11% error before day 30, then ``errors_after`` from day 30 on."""
    days = list(range(20, 30 + len(errors_after)))
    errors = [0.11] * 10 + errors_after
    timeline = pd.DataFrame(
        {
            "day": days,
            "quarantined": False,
            "error": errors,
            "baseline_error": [0.11] * 10 + [baseline_after] * len(errors_after),
        }
    )
    config = LoopConfig(scenario="concept_drift", days=len(days), first_day=20, start_day=30)
    return LoopResult(config, timeline, [], [], [], "made-up")


def test_recovery_within_a_week_is_recognised() -> None:
    outcome = recovery(_result([0.3] * 5 + [0.115] * 15))
    assert outcome.pre_error == pytest.approx(0.11) and outcome.limit == pytest.approx(0.121)
    assert outcome.recovered_day == 37  # the first 3-day mean of 0.115s only: days 35, 36, 37
    assert outcome.recovered and outcome.baseline_degraded


def test_a_late_or_partial_recovery_is_not_a_recovery() -> None:
    late = recovery(_result([0.3] * 9 + [0.115] * 11))
    assert late.recovered_day == 41 and not late.recovered
    partial = recovery(_result([0.3] * 4 + [0.14] * 16))  # better, but 27% above the level
    assert partial.recovered_day is None and not partial.recovered


def test_recovery_needs_enough_days() -> None:
    with pytest.raises(ValueError, match="at least 7 days after"):
        recovery(_result([0.3] * 3))
