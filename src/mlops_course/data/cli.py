"""``mlops-course simulate | validate | collect``: the data of stage 1 from a terminal.

Registered as top-level commands by :mod:`mlops_course.cli`; every heavy import (pandas, the
simulator) happens inside the command that needs it, so ``mlops-course --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlops_course.exits import ExitCode, fail
from mlops_course.settings import get_settings

console = Console()


def _scenario(name: str) -> str:
    from mlops_course.data.simulate import SCENARIOS

    if name not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {name!r}; expected one of {list(SCENARIOS)}")
    return name


def simulate(
    day: Annotated[int, typer.Option(min=0, help="Day index (0 is the first day).")],
    out: Annotated[Path, typer.Option(help="Parquet or CSV file to write.")],
    scenario: Annotated[str, typer.Option(callback=_scenario, help="Drift scenario.")] = "none",
    n: Annotated[int | None, typer.Option(min=1, help="Trips in the batch.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: settings).")] = None,
) -> None:
    """Write one simulated daily batch of trips to a file."""
    from mlops_course.data.simulate import simulate_day

    frame = simulate_day(day, seed=seed, scenario=scenario, n=n)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        fail(f"cannot write {out.name}: use a .parquet or .csv file name")
    console.print(f"wrote {len(frame)} trips of day {day} ({scenario}) to {out}")


def validate_file(
    path: Annotated[Path, typer.Argument(help="A batch as .parquet or .csv.")],
) -> None:
    """Validate a batch file; exit code 1 when it fails, so scripts and CI can stop on it."""
    import pandas as pd

    from mlops_course.data.validate import validate

    if not path.exists():
        fail(f"no such file: {path}")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, parse_dates=["pickup_datetime"])
        else:
            frame = pd.read_parquet(path)
    except Exception as error:
        fail(f"cannot read {path} as a batch of trips: {error}")
    report = validate(frame, batch=path.stem)
    console.print(report.summary(), markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(ExitCode.NO)


def collect(
    days: Annotated[int, typer.Option(min=1, help="How many days to collect.")] = 7,
    first_day: Annotated[int, typer.Option(min=0, help="First day to collect.")] = 0,
    scenario: Annotated[str, typer.Option(callback=_scenario, help="Drift scenario.")] = "none",
) -> None:
    """Collect daily batches into data/raw; bad batches go to data/quarantine with a report."""
    from mlops_course.data.collect import batch_name, ingest_batch
    from mlops_course.data.simulate import simulate_day

    settings = get_settings()
    quarantined = 0
    for day in range(first_day, first_day + days):
        result = ingest_batch(simulate_day(day, scenario=scenario), batch_name(day))
        quarantined += result.quarantined
        mark = "[red]quarantined[/]" if result.quarantined else "[green]ok[/]"
        console.print(f"day {day:3d}: {mark}  {result.path}")
    console.print(
        f"{days - quarantined} batches in {settings.raw_dir}, {quarantined} in "
        f"{settings.quarantine_dir}"
    )
