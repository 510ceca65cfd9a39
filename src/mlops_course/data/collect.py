"""Collect daily batches into ``data/raw``: validated first, quarantined when bad.

This is the gate between the outside world and everything that trains: a batch lands in the raw
folder (which DVC versions) only after it passed validation. A failing batch goes to the quarantine
folder with its report beside it, so nothing is lost and nothing bad is trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlops_course.data.validate import ValidationReport, validate
from mlops_course.settings import get_settings


@dataclass(frozen=True)
class IngestResult:
    """Where a batch went and why."""

    path: Path
    report: ValidationReport

    @property
    def quarantined(self) -> bool:
        return not self.report.ok


def batch_name(day: int) -> str:
    """File stem of a day's batch; zero-padded so that files sort by day.

    Parameters
    ----------
    day
        The day's number, counted from the simulator's first day (day 0).
    """
    return f"trips_day_{day:03d}"


def ingest_batch(
    frame: pd.DataFrame,
    name: str,
    raw_dir: Path | None = None,
    quarantine_dir: Path | None = None,
) -> IngestResult:
    """Validate ``frame`` and write it to the raw folder, or to quarantine with its report.

    Parameters
    ----------
    frame
        One batch of trips, e.g. a day of :func:`mlops_course.data.simulate.simulate_day`.
    name
        The batch's file stem, usually :func:`batch_name` of its day; also the batch name in
        the validation report.
    raw_dir, quarantine_dir
        Where a passing and a failing batch go; None means the course settings' ``raw_dir``
        and ``quarantine_dir``. Each is created if missing.

    Returns
    -------
    IngestResult
        The path the batch was written to and its validation report.
    """
    settings = get_settings()
    raw_dir = settings.raw_dir if raw_dir is None else Path(raw_dir)
    quarantine_dir = settings.quarantine_dir if quarantine_dir is None else Path(quarantine_dir)
    report = validate(frame, batch=name)
    target_dir = raw_dir if report.ok else quarantine_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    if not report.ok:
        (target_dir / f"{name}.report.json").write_text(report.to_json())
    return IngestResult(path, report)


def quarantine(path: Path, report: ValidationReport, quarantine_dir: Path | None = None) -> Path:
    """Move an already written batch into quarantine with its report; return its new path."""
    settings = get_settings()
    quarantine_dir = settings.quarantine_dir if quarantine_dir is None else Path(quarantine_dir)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / Path(path).name
    Path(path).replace(target)
    (quarantine_dir / f"{Path(path).stem}.report.json").write_text(report.to_json())
    return target


def load_raw(raw_dir: Path | None = None, days: list[int] | None = None) -> pd.DataFrame:
    """Read the validated batches (all, or those of ``days``) back into one frame.

    Parameters
    ----------
    raw_dir
        The folder of validated batches; None means the course settings' ``raw_dir``.
    days
        The days to read; each must have a batch there, or a ``FileNotFoundError`` names the
        missing ones. None reads every batch in the folder, in day order.
    """
    raw_dir = get_settings().raw_dir if raw_dir is None else Path(raw_dir)
    if days is None:
        paths = sorted(raw_dir.glob("trips_day_*.parquet"))
    else:
        paths = [raw_dir / f"{batch_name(d)}.parquet" for d in days]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(
                f"no validated batch for {', '.join(missing)} in {raw_dir}: collect those days "
                "first, or check whether they were quarantined"
            )
    if not paths:
        raise FileNotFoundError(f"no validated batches in {raw_dir}: collect some days first")
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
