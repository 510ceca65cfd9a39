"""``mlops-course monitor``: the monitoring job from a terminal or a scheduled CI run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlops_course.data.simulate import SCENARIOS

app = typer.Typer(help="Check simulated days for drift, data quality and performance.")
console = Console()


def parse_days(text: str) -> range:
    """``"28-59"`` (inclusive) or ``"30"`` as a range of days."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise typer.BadParameter(
            f"expected days as FIRST-LAST (e.g. 28-59) or one day, got {text!r}"
        )
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise typer.BadParameter(f"the last day {last} comes before the first day {first}")
    return range(first, last + 1)


def _scenario(name: str) -> str:
    if name not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {name!r}; expected one of {list(SCENARIOS)}")
    return name


@app.command("report")
def report(
    scenario: Annotated[
        str, typer.Option(callback=_scenario, help=f"One of {', '.join(SCENARIOS)}.")
    ] = "none",
    days: Annotated[str, typer.Option(help="Days to monitor, FIRST-LAST.")] = "28-59",
    reference_days: Annotated[
        str, typer.Option(help="Days the model is trained on (the reference), FIRST-LAST.")
    ] = "0-27",
    out: Annotated[Path, typer.Option(help="HTML report to write.")] = Path("monitoring.html"),
    csv: Annotated[
        Path | None, typer.Option(help="Also write the tidy per-day, per-column drift table.")
    ] = None,
) -> None:
    """Replay days of a scenario through every monitor and write a self-contained HTML report."""
    from mlops_course.monitoring.backtest import backtest
    from mlops_course.monitoring.report import backtest_report_html, write_html

    monitored, reference = parse_days(days), parse_days(reference_days)
    if monitored.start <= reference[-1]:
        raise typer.BadParameter("monitored days must come after the reference days")
    try:
        result = backtest(scenario, reference_days=reference, days=monitored, progress=True)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    path = write_html(backtest_report_html(result), out)
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        result.drift.to_csv(csv, index=False)
        console.print(f"drift table: {csv}")
    for monitor in ("drift", "quality", "performance"):
        first = result.first_alarm(monitor)
        console.print(
            f"{monitor:>12}: first alarm on day {first}"
            if first is not None
            else f"{monitor:>12}: no alarm"
        )
    console.print(f"report: {path}")
