"""Drift tests per column and the dataset decision, on data whose drift is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_course.monitoring.drift import (
    ALPHA,
    COLUMNS,
    DISTANCE_THRESHOLD,
    PSI_THRESHOLD,
    FeatureDrift,
    choose_method,
    column_drift,
    detect_drift,
    normalized_wasserstein,
    psi,
)
from mlops_course.monitoring.trips import MONITORED, TRIP_THRESHOLDS, detect_trip_drift


def _frame(n: int, seed: int, shift: float = 0.0, new_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    colour[rng.random(n) < new_share] = "purple"
    return pd.DataFrame(
        {
            "x": rng.normal(10.0 + shift, 2.0, n),
            "y": rng.exponential(3.0, n),
            "colour": colour,
        }
    )


def test_identical_distributions_do_not_drift_at_any_size() -> None:
    """Same distribution, different samples: nothing drifts, small or large."""
    for n in (500, 20_000):
        report = detect_drift(_frame(n, 1), _frame(n, 2))
        assert not report.drifted and report.share_drifted == 0.0, report.frame


def test_small_samples_use_p_values_large_samples_use_distances() -> None:
    """KS/chi-squared up to 1,000 rows on either side; Wasserstein/Jensen-Shannon beyond."""
    small = detect_drift(_frame(800, 1), _frame(800, 2)).frame.set_index("feature")
    large = detect_drift(_frame(5_000, 1), _frame(5_000, 2)).frame.set_index("feature")
    assert small.loc[["x", "y", "colour"], "method"].tolist() == ["ks", "ks", "chi2"]
    assert large.loc[["x", "y", "colour"], "method"].tolist() == [
        "wasserstein",
        "wasserstein",
        "jensenshannon",
    ]
    assert small["p_value"].notna().all() and large["p_value"].isna().all()
    assert choose_method("numerical", 50_000, 1_000) == "ks"  # the smaller side decides
    assert choose_method("categorical", 1_001, 1_001) == "jensenshannon"


def test_tiny_shift_is_significant_at_100k_rows_but_not_drift() -> None:
    """Why large samples use a distance: a 0.05-sd shift has p << 0.01, yet is irrelevant."""
    reference, current = _frame(100_000, 1), _frame(100_000, 2, shift=0.1)
    assert stats.ks_2samp(reference["x"], current["x"]).pvalue < 1e-10
    result = column_drift("x", reference["x"], current["x"])
    assert result.method == "wasserstein" and not result.drifted
    assert result.statistic == pytest.approx(0.05, abs=0.015)


def test_shifted_numerical_column_drifts_with_every_method() -> None:
    """A one-standard-deviation shift drifts under KS, Wasserstein and PSI alike."""
    reference, current = _frame(3_000, 1), _frame(3_000, 2, shift=2.0)
    for method in ("ks", "wasserstein", "psi"):
        result = column_drift("x", reference["x"], current["x"], method=method)
        assert result.drifted, result
    untouched = column_drift("y", reference["y"], current["y"], method="ks")
    assert not untouched.drifted and untouched.p_value > ALPHA


def test_normalized_wasserstein_is_in_reference_standard_deviations() -> None:
    """Moving every value by one reference sd gives a distance of exactly 1."""
    reference = np.random.default_rng(0).normal(5.0, 4.0, 10_000)
    assert normalized_wasserstein(reference, reference + reference.std()) == pytest.approx(1.0)
    assert normalized_wasserstein(np.ones(10), np.ones(10) * 3) == pytest.approx(2.0)


def test_psi_matches_its_formula_on_hand_made_bins() -> None:
    """Deciles of 0..999 hold 100 values each; moving 100 values between two bins is easy math."""
    reference = np.arange(1_000, dtype=float)
    current = np.concatenate([np.arange(100, 1_000), np.arange(100, 200)]).astype(float)
    # bin 0 lost all its values (share 1e-4 instead of 0), bin 1 doubled to 0.2
    expected = (1e-4 - 0.1) * np.log(1e-4 / 0.1) + (0.2 - 0.1) * np.log(0.2 / 0.1)
    assert psi(reference, current) == pytest.approx(expected, rel=1e-6)
    assert psi(reference, reference) == pytest.approx(0.0)
    assert psi(reference, current) > PSI_THRESHOLD


def test_psi_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        psi([], [1.0])


def test_new_category_drifts_under_chi2_and_jensen_shannon() -> None:
    """A category the reference never saw (30% of rows) is drift, not a crash."""
    reference, current = _frame(900, 1), _frame(900, 2, new_share=0.3)
    chi2 = column_drift("colour", reference["colour"], current["colour"])
    assert chi2.method == "chi2" and chi2.drifted and chi2.p_value < 1e-20
    js = column_drift("colour", reference["colour"], current["colour"], method="jensenshannon")
    assert js.drifted and DISTANCE_THRESHOLD < js.statistic <= 1.0
    same = column_drift("colour", reference["colour"], _frame(900, 3)["colour"], "jensenshannon")
    assert not same.drifted


def test_nulls_are_left_out_of_drift_tests() -> None:
    """Missing values do not move the distribution of the present ones (quality's job)."""
    reference, current = _frame(800, 1), _frame(800, 2)
    current.loc[current.index[::5], "x"] = np.nan
    result = column_drift("x", reference["x"], current["x"])
    assert not result.drifted and result.n_current == 640


def test_per_feature_thresholds_and_methods_override_defaults() -> None:
    """A looser threshold on one column turns its alarm off and leaves the others alone."""
    reference, current = _frame(3_000, 1), _frame(3_000, 2, shift=1.0)
    default = detect_drift(reference, current).frame.set_index("feature")
    assert default.loc["x", "drifted"] and default.loc["x", "threshold"] == DISTANCE_THRESHOLD
    loose = detect_drift(reference, current, {"x": 2.0}, methods={"y": "psi"})
    frame = loose.frame.set_index("feature")
    assert not frame.loc["x", "drifted"] and frame.loc["x", "threshold"] == 2.0
    assert frame.loc["y", "method"] == "psi" and frame.loc["y", "threshold"] == PSI_THRESHOLD


def test_dataset_decision_is_the_share_of_drifted_columns() -> None:
    """One drifted column of three is 33%: drift at a 25% share, none at 50%."""
    reference, current = _frame(3_000, 1), _frame(3_000, 2, shift=2.0)
    report = detect_drift(reference, current)
    assert report.drifted_features == ["x"]
    assert report.share_drifted == pytest.approx(1 / 3)
    assert report.drifted
    assert not detect_drift(reference, current, drift_share=0.5).drifted


def test_report_frame_is_tidy_and_sorted_drifted_first() -> None:
    report = detect_drift(_frame(3_000, 1), _frame(3_000, 2, shift=2.0))
    frame = report.frame
    assert list(frame.columns) == COLUMNS
    assert frame.loc[0, "feature"] == "x" and frame.loc[0, "severity"] > 1
    assert (frame.loc[1:, "severity"] < 1).all()
    assert "1 of 3 columns drifted" in report.summary()
    assert "<table" in report._repr_html_() and "DRIFT" in str(report)


def test_severity_is_one_at_the_threshold_for_both_kinds_of_method() -> None:
    at_alpha = FeatureDrift("a", "numerical", "ks", 0.1, ALPHA, ALPHA, False, 10, 10)
    at_distance = FeatureDrift("b", "numerical", "wasserstein", 0.1, None, 0.1, True, 10, 10)
    assert at_alpha.severity == pytest.approx(1.0)
    assert at_distance.severity == pytest.approx(1.0)
    stronger = FeatureDrift("a", "numerical", "ks", 0.3, ALPHA**2, ALPHA, True, 10, 10)
    assert stronger.severity == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"features": ["x", "nope"]}, KeyError, "missing"),
        ({"thresholds": {"nope": 0.1}}, KeyError, "unmonitored"),
        ({"methods": {"colour": "ks"}}, ValueError, "does not fit the categorical"),
        ({"drift_share": 0.0}, ValueError, "drift_share"),
        ({"thresholds": {"x": 1.5}}, ValueError, "significance level"),
        ({"thresholds": {"x": -1.0}, "methods": {"x": "psi"}}, ValueError, "positive"),
    ],
)
def test_mistakes_get_errors_that_say_what_to_do(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        detect_drift(_frame(100, 1), _frame(100, 2), **kwargs)


def test_a_column_without_values_is_an_error_not_a_silent_pass() -> None:
    current = _frame(100, 2)
    current["x"] = np.nan
    with pytest.raises(ValueError, match="data-quality monitor"):
        detect_drift(_frame(100, 1), current)


def test_trip_drift_uses_course_settings_and_skips_weekday() -> None:
    """The course's monitor covers MONITORED only, with its own thresholds for weather."""
    from mlops_course.data.simulate import simulate_day

    frame = simulate_day(3, n=600).assign(prediction=lambda f: f["distance_km"] * 2)
    report = detect_trip_drift(frame, simulate_day(4, n=600).assign(prediction=1.0))
    table = report.frame.set_index("feature")
    assert set(table.index) == set(MONITORED) and "weekday" not in table.index
    assert table.loc["weather", "threshold"] == TRIP_THRESHOLDS["weather"]
    assert table.loc["prediction", "drifted"] and report.drifted_features == ["prediction"]
