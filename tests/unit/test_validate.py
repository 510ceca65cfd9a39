"""Validation: each rule can fail, incidents are caught, and the report says exactly why."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlops_course.data.simulate import NEW_ZONE, simulate_day
from mlops_course.data.validate import ValidationReport, validate
from mlops_course.schema import SCHEMA

START = 30


@pytest.fixture
def clean() -> pd.DataFrame:
    """A clean batch on the drift start day (so it sits next to the incident batches)."""
    return simulate_day(START, n=300)


def _failed(report: ValidationReport) -> set[tuple[str, str, str]]:
    return {(r.column, r.check, r.severity) for r in report.results if not r.passed}


def test_clean_batch_passes(clean: pd.DataFrame) -> None:
    """A simulated 'none' batch passes with no error and no warning, or every day would alert."""
    report = validate(clean, batch="clean")
    assert report.ok
    assert report.errors == []
    assert report.warnings == []
    assert report.n_rows == len(clean)
    checked = {r.column for r in report.results}
    assert set(SCHEMA) <= checked


def test_data_quality_incident_fails_with_exactly_its_two_errors() -> None:
    """The unit change and the null burst are both named, and nothing else is blamed."""
    report = validate(simulate_day(START, scenario="data_quality", n=500), batch="incident")
    assert not report.ok
    assert {(r.column, r.check) for r in report.errors} == {
        ("distance_km", "range"),
        ("passengers", "nulls"),
    }
    assert report.warnings == []
    summary = report.summary()
    assert "FAILED" in summary
    assert "distance_km" in summary and "range" in summary
    assert "passengers" in summary and "nulls" in summary


def test_missing_column_fails(clean: pd.DataFrame) -> None:
    """A batch without a schema column is an error that names the missing column."""
    report = validate(clean.drop(columns=["weather"]))
    assert not report.ok
    [error] = report.errors
    assert (error.column, error.check) == ("*", "columns")
    assert "weather" in error.detail


def test_extra_column_is_only_a_warning(clean: pd.DataFrame) -> None:
    """An extra upstream column is news, not bad data: the batch still passes, with a warning."""
    report = validate(clean.assign(driver_rating=4.5))
    assert report.ok
    assert _failed(report) == {("*", "extra columns", "warning")}
    assert "driver_rating" in report.warnings[0].detail


def test_wrong_dtype_fails(clean: pd.DataFrame) -> None:
    """Distances sent as text fail the type check instead of crashing a range comparison."""
    frame = clean.assign(distance_km=clean["distance_km"].astype(str))
    report = validate(frame)
    assert not report.ok
    assert _failed(report) == {("distance_km", "type", "error")}
    assert "float" in report.errors[0].detail


def test_out_of_range_hour_fails(clean: pd.DataFrame) -> None:
    """An hour of 24 is impossible and must fail, with the offending value in the detail."""
    frame = clean.copy()
    frame.loc[3, "pickup_hour"] = 24
    report = validate(frame)
    assert _failed(report) == {("pickup_hour", "range", "error")}
    assert "1 of 300" in report.errors[0].detail
    assert "24" in report.errors[0].detail


def test_duplicate_trip_id_fails(clean: pd.DataFrame) -> None:
    """A trip counted twice (a replayed upload) fails the uniqueness check."""
    frame = clean.copy()
    frame.loc[1, "trip_id"] = frame.loc[0, "trip_id"]
    report = validate(frame)
    assert _failed(report) == {("trip_id", "unique", "error")}


def test_null_in_a_column_without_tolerance_fails(clean: pd.DataFrame) -> None:
    """A single missing temperature fails: only passengers tolerates a few nulls."""
    frame = clean.copy()
    frame["temperature_c"] = frame["temperature_c"].astype("Float64")
    frame.loc[0, "temperature_c"] = pd.NA
    report = validate(frame)
    assert _failed(report) == {("temperature_c", "nulls", "error")}


def test_unknown_category_is_only_a_warning() -> None:
    """The new zone of the covariate-shift scenario is real news: warn, but keep the batch."""
    report = validate(simulate_day(START, scenario="covariate_shift", n=300))
    assert report.ok
    assert _failed(report) == {("pickup_zone", "categories", "warning")}
    assert NEW_ZONE in report.warnings[0].detail
    assert "WARNING" in report.summary() and NEW_ZONE in report.summary()


def test_empty_frame_fails(clean: pd.DataFrame) -> None:
    """An empty batch fails even when its columns are right: nothing to train on is an incident."""
    report = validate(clean.head(0))
    assert not report.ok
    assert ("*", "not empty", "error") in _failed(report)
    bare = validate(pd.DataFrame())
    assert not bare.ok
    assert ("*", "not empty", "error") in _failed(bare)


def test_summary_names_failing_column_and_check(clean: pd.DataFrame) -> None:
    """The summary line of a failure says which column failed which check."""
    frame = clean.copy()
    frame.loc[0, "duration_min"] = 10_000.0
    summary = validate(frame, batch="day30").summary()
    assert summary.startswith("batch day30: FAILED")
    assert "ERROR   duration_min: range:" in summary
    assert str(validate(frame, batch="day30")) == summary


def test_to_frame_lists_failures_first(clean: pd.DataFrame) -> None:
    """to_frame puts failures (errors, then warnings) before passes, so the head is the news."""
    frame = clean.assign(extra=1)
    frame.loc[0, "weekday"] = 9
    table = validate(frame).to_frame()
    n_failed = int((~table["passed"]).sum())
    assert n_failed == 2
    assert not table["passed"].head(n_failed).any()
    assert table["passed"].iloc[n_failed:].all()
    assert list(table["severity"].head(2)) == ["error", "warning"]
    assert table.loc[0, "column"] == "weekday"


def test_to_json_round_trips(clean: pd.DataFrame) -> None:
    """The JSON report (written next to quarantined batches) parses back to the same content."""
    frame = clean.copy()
    frame.loc[0, "weekday"] = -1
    report = validate(frame, batch="b1")
    data = json.loads(report.to_json())
    assert data == report.to_dict()
    assert data["batch"] == "b1"
    assert data["ok"] is False
    assert data["n_rows"] == len(frame)
    assert len(data["results"]) == len(report.results)
    assert {"check", "column", "passed", "severity", "detail"} == set(data["results"][0])


def test_html_repr_shows_only_failures(clean: pd.DataFrame) -> None:
    """The notebook view shows the failing checks, not dozens of passing ones."""
    frame = clean.copy()
    frame.loc[0, "weekday"] = 9
    html = validate(frame)._repr_html_()
    assert "weekday" in html
    assert "trip_id" not in html
    assert "All checks passed" in validate(clean)._repr_html_()
