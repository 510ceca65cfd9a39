"""Collection: good batches land in raw, bad ones in quarantine with their report, never both."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlops_course.data.collect import batch_name, ingest_batch, load_raw, quarantine
from mlops_course.data.simulate import simulate_day
from mlops_course.data.validate import validate
from mlops_course.settings import get_settings

START = 30


def test_batch_name_sorts_by_day() -> None:
    """Zero padding makes the file names sort in day order (DVC listings, load_raw)."""
    names = [batch_name(d) for d in (2, 10, 100)]
    assert names == sorted(names)
    assert batch_name(7) == "trips_day_007"


def test_good_batch_goes_to_raw_dir() -> None:
    """A valid batch is written to settings.raw_dir, with no report and nothing in quarantine."""
    settings = get_settings()
    result = ingest_batch(simulate_day(3, n=100), batch_name(3))
    assert not result.quarantined
    assert result.path == settings.raw_dir / "trips_day_003.parquet"
    assert result.path.exists()
    assert not settings.quarantine_dir.exists() or not any(settings.quarantine_dir.iterdir())
    assert list(settings.raw_dir.glob("*.report.json")) == []


def test_bad_batch_goes_to_quarantine_with_report(tmp_path: Path) -> None:
    """An invalid batch is kept (in quarantine, with its report) and never reaches raw."""
    raw, quarantined = tmp_path / "r", tmp_path / "q"
    result = ingest_batch(
        simulate_day(START, scenario="data_quality", n=100), "bad", raw, quarantined
    )
    assert result.quarantined
    assert result.path == quarantined / "bad.parquet"
    assert result.path.exists()
    report = json.loads((quarantined / "bad.report.json").read_text())
    assert report["ok"] is False
    failed = {(r["column"], r["check"]) for r in report["results"] if not r["passed"]}
    assert failed == {("distance_km", "range"), ("passengers", "nulls")}
    assert not (raw / "bad.parquet").exists()


def test_quarantine_moves_file_and_writes_report(tmp_path: Path) -> None:
    """quarantine() moves (not copies) a batch and puts its report beside it."""
    frame = simulate_day(START, scenario="data_quality", n=50)
    source = tmp_path / "raw" / "trips_day_030.parquet"
    source.parent.mkdir()
    frame.to_parquet(source, index=False)
    report = validate(frame, batch="trips_day_030")
    target = quarantine(source, report)
    assert target == get_settings().quarantine_dir / "trips_day_030.parquet"
    assert target.exists() and not source.exists()
    written = json.loads((target.parent / "trips_day_030.report.json").read_text())
    assert written == report.to_dict()
    pd.testing.assert_frame_equal(pd.read_parquet(target), frame)


def test_load_raw_reads_back_what_was_written() -> None:
    """load_raw returns the ingested batches, in day order, with the values that were written."""
    frames = [simulate_day(d, n=40) for d in (5, 3, 4)]
    for d, frame in zip((5, 3, 4), frames, strict=True):
        ingest_batch(frame, batch_name(d))
    expected = pd.concat([frames[1], frames[2], frames[0]], ignore_index=True)
    pd.testing.assert_frame_equal(load_raw(), expected)
    pd.testing.assert_frame_equal(load_raw(days=[4]), frames[2])


def test_load_raw_missing_day_is_a_helpful_error() -> None:
    """Asking for a day that was not collected names the file and suggests what to do."""
    ingest_batch(simulate_day(1, n=20), batch_name(1))
    with pytest.raises(FileNotFoundError, match="trips_day_002") as info:
        load_raw(days=[1, 2])
    assert "collect" in str(info.value)
    assert "quarantined" in str(info.value)


def test_load_raw_empty_folder_is_a_helpful_error(tmp_path: Path) -> None:
    """An empty (or absent) raw folder says to collect first instead of a pandas concat error."""
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "absent"):
        with pytest.raises(FileNotFoundError, match="collect some days first"):
            load_raw(folder)


def test_quarantined_batches_are_not_loaded() -> None:
    """Only validated batches are read back: a quarantined day does not sneak into training."""
    ingest_batch(simulate_day(29, n=20), batch_name(29))
    ingest_batch(simulate_day(START, scenario="data_quality", n=20), batch_name(START))
    loaded = load_raw()
    assert set(loaded["day"]) == {29}
    with pytest.raises(FileNotFoundError):
        load_raw(days=[START])
