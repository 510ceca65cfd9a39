"""HTML reports are self-contained and readable; the `monitor report` command writes them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from mlops_course.data.simulate import simulate_day
from mlops_course.monitoring.backtest import backtest
from mlops_course.monitoring.cli import app, parse_days
from mlops_course.monitoring.report import (
    backtest_report_html,
    drift_report_html,
    write_html,
)
from mlops_course.monitoring.trips import detect_trip_drift


def _with_prediction(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(prediction=frame["distance_km"] * 3.0)


def _assert_self_contained(page: str) -> None:
    """Nothing is fetched when the file is opened: no external src/href, images are inline."""
    assert page.startswith("<!DOCTYPE html>")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources), sources


def test_drift_report_html_has_decision_plots_and_table(tmp_path: Path) -> None:
    reference = _with_prediction(simulate_day(3, n=800))
    current = _with_prediction(simulate_day(30, n=800, scenario="covariate_shift"))
    report = detect_trip_drift(reference, current)
    page = drift_report_html(report, reference, current, title="Day 30")
    _assert_self_contained(page)
    assert "<h1>Day 30</h1>" in page and 'class="alarm"' in page
    assert page.count("<img") == 2 and "pickup_zone" in page
    path = write_html(page, tmp_path / "sub" / "report.html")
    assert path.read_text(encoding="utf-8") == page


@pytest.fixture(scope="module")
def short_backtest():
    """Ten monitored days around a covariate shift that starts on day 12 (small, fast)."""
    return backtest(
        "covariate_shift", reference_days=range(10), days=range(10, 16), n=400, start_day=12
    )


def test_backtest_finds_the_start_day_and_reports_it(short_backtest) -> None:
    assert short_backtest.first_alarm("drift") == 12
    assert short_backtest.alarm_days("drift") == [12, 13, 14, 15]
    assert short_backtest.first_alarm("quality") is None
    alarms = short_backtest.alarms
    assert list(alarms.columns) == ["day", "drift", "quality", "performance"]
    page = backtest_report_html(short_backtest)
    _assert_self_contained(page)
    assert "first alarm (day)" in page and "pickup_zone, distance_km" in page


def test_parse_days() -> None:
    assert parse_days("28-59") == range(28, 60)
    assert parse_days("30") == range(30, 31)
    for bad in ("a-b", "40-30"):
        with pytest.raises(typer.BadParameter, match=r"expected days|comes before"):
            parse_days(bad)


def test_cli_report_writes_html_and_csv(tmp_path: Path) -> None:
    out, csv = tmp_path / "r.html", tmp_path / "r.csv"
    result = CliRunner().invoke(
        app,
        [
            "--scenario", "data_quality", "--reference-days", "0-9", "--days", "10-14",
            "--out", str(out), "--csv", str(csv),
        ],
        env={"MLOPS_TRIPS_PER_DAY": "300", "MLOPS_DRIFT_START_DAY": "12", "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "quality: first alarm on day 12" in result.output
    assert out.exists() and "<img" in out.read_text(encoding="utf-8")
    table = pd.read_csv(csv)
    assert set(table["day"]) == set(range(10, 15)) and "severity" in table.columns


def test_cli_rejects_overlapping_days() -> None:
    result = CliRunner().invoke(app, ["--reference-days", "0-30", "--days", "20-40"])
    assert result.exit_code != 0 and "after the reference days" in result.output
