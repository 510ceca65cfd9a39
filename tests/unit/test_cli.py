"""The command line: help, version, simulate/validate/collect exit codes and readable errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mlops_course import __version__
from mlops_course.cli import app
from mlops_course.data.simulate import SCENARIOS, simulate_day
from mlops_course.settings import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each command in tmp_path so relative --out files never land in the repository."""
    monkeypatch.chdir(tmp_path)


def test_help_lists_commands() -> None:
    """--help shows every top-level command, so a learner can discover them."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "validate", "collect", "services", "labs", "grade"):
        assert command in result.output


@pytest.mark.parametrize(
    ("args", "heavy"),
    [
        (["--version"], ("sklearn", "mlflow", "scipy", "pandas")),
        (["--help"], ("sklearn", "mlflow", "scipy", "pandas", "httpx")),
        (["pipeline", "--help"], ("sklearn", "mlflow", "scipy")),
        (["validate", "--help"], ("sklearn", "mlflow", "scipy")),
        (["gate", "--help"], ("mlflow",)),
    ],
)
def test_a_command_imports_only_what_it_needs(args: list[str], heavy: tuple[str, ...]) -> None:
    """Each `mlops-course` process pays for its imports: a DVC step must not load MLflow."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from mlops_course.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:] + done.stderr[-500:]


def test_the_lazy_command_groups_run_and_list_their_commands() -> None:
    """gate, monitor and ct are imported on use, and still work and show in --help."""
    result = runner.invoke(app, ["--help"])
    for group in ("monitor", "gate", "ct"):
        assert group in result.output
    result = runner.invoke(app, ["gate", "--help"])
    assert result.exit_code == 0 and "promote" in result.output
    result = runner.invoke(app, ["ct", "nonsense"])
    assert result.exit_code == 2


def test_the_help_of_each_lazy_group_is_its_own() -> None:
    """--help lists the lazy groups without importing them, with a copy of each one's help."""
    import importlib

    from mlops_course.cli import _LazyCommands

    for name, (module, short_help) in _LazyCommands.LAZY.items():
        group = importlib.import_module(module).app
        assert group.info.help == short_help, f"update the help of {name!r} in cli.LAZY"
        assert f"{name}  " in runner.invoke(app, ["--help"]).output


def test_no_arguments_shows_help() -> None:
    """Running the bare command shows usage instead of doing something.

    Exit 2, a usage error like an unknown option: a script that calls `mlops-course` with no
    command did not do what it meant, so it must not look like a success (click >= 8.2).
    """
    result = runner.invoke(app, [])
    assert "simulate" in result.output
    assert result.exit_code == 2, result.output


def test_version() -> None:
    """--version prints the package version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_data_quality_batch_fails_validation() -> None:
    """simulate then validate an incident batch: exit 1, and the failing columns are printed."""
    made = runner.invoke(
        app,
        [
            "simulate",
            "--day",
            "30",
            "--scenario",
            "data_quality",
            "--out",
            "x.parquet",
            "--n",
            "200",
        ],
    )
    assert made.exit_code == 0, made.output
    written = pd.read_parquet("x.parquet")
    pd.testing.assert_frame_equal(
        written, simulate_day(30, scenario="data_quality", n=200), check_dtype=False
    )
    result = runner.invoke(app, ["validate", "x.parquet"])
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "distance_km" in result.output
    assert "passengers" in result.output


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_clean_batch_validates(suffix: str) -> None:
    """A clean simulated batch, as parquet or CSV, validates with exit code 0."""
    out = f"clean{suffix}"
    made = runner.invoke(app, ["simulate", "--day", "3", "--out", out, "--n", "100"])
    assert made.exit_code == 0, made.output
    assert Path(out).exists()
    result = runner.invoke(app, ["validate", out])
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output


def test_data_quality_csv_reports_the_null_burst() -> None:
    """The CSV path names the same problem as the parquet path: passengers has too many nulls.

    `simulate --out x.csv` is offered next to parquet; a misleading 'expected int values, got
    float64' would send the learner after a dtype bug instead of the upstream null burst.
    """
    runner.invoke(
        app,
        ["simulate", "--day", "30", "--scenario", "data_quality", "--out", "x.csv", "--n", "200"],
    )
    result = runner.invoke(app, ["validate", "x.csv"])
    assert result.exit_code == 1
    assert "passengers: nulls" in result.output


def test_unknown_scenario_exits_2_listing_scenarios() -> None:
    """A typo in --scenario is a usage error (exit 2) that lists the valid scenarios."""
    result = runner.invoke(
        app, ["simulate", "--day", "1", "--scenario", "bogus", "--out", "y.parquet"]
    )
    assert result.exit_code == 2
    assert "bogus" in result.output
    for name in SCENARIOS:
        assert name in result.output
    assert not Path("y.parquet").exists()


def test_unsupported_output_suffix_is_an_error() -> None:
    """An output name that is neither parquet nor CSV fails with a readable message."""
    result = runner.invoke(app, ["simulate", "--day", "1", "--out", "y.txt", "--n", "5"])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert not Path("y.txt").exists()


def test_validate_missing_file_is_a_readable_error() -> None:
    """A missing file gives 'error: no such file', exit 2 (bad input) and no Python traceback."""
    result = runner.invoke(app, ["validate", "nope.parquet"])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "nope.parquet" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_validate_garbage_file_is_a_readable_error() -> None:
    """A file that is not parquet gives 'error:' with the reason, exit 2 and no traceback."""
    Path("garbage.parquet").write_bytes(b"this is not a parquet file at all")
    result = runner.invoke(app, ["validate", "garbage.parquet"])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_collect_writes_days_to_raw(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """collect --days 3 writes one validated batch per day under MLOPS_DATA_DIR/raw."""
    monkeypatch.setenv("MLOPS_TRIPS_PER_DAY", "50")
    get_settings.cache_clear()
    result = runner.invoke(app, ["collect", "--days", "3"])
    assert result.exit_code == 0, result.output
    raw = tmp_path / "data" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == [
        "trips_day_000.parquet",
        "trips_day_001.parquet",
        "trips_day_002.parquet",
    ]
    assert len(pd.read_parquet(raw / "trips_day_001.parquet")) == 50


def test_collect_quarantines_incident_days(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Collecting across the data-quality incident sends exactly the incident days to quarantine."""
    monkeypatch.setenv("MLOPS_TRIPS_PER_DAY", "50")
    get_settings.cache_clear()
    result = runner.invoke(
        app, ["collect", "--days", "5", "--first-day", "29", "--scenario", "data_quality"]
    )
    assert result.exit_code == 0, result.output
    raw = sorted(p.name for p in (tmp_path / "data" / "raw").glob("*.parquet"))
    quarantined = sorted(p.name for p in (tmp_path / "data" / "quarantine").glob("*.parquet"))
    assert raw == ["trips_day_029.parquet", "trips_day_033.parquet"]
    assert quarantined == [f"trips_day_0{d}.parquet" for d in (30, 31, 32)]
    assert "quarantined" in result.output


def test_services_status_without_state() -> None:
    """With nothing started, status says so (and how to start), rather than an empty table."""
    result = runner.invoke(app, ["services", "status"])
    assert result.exit_code == 0
    assert "no services recorded" in result.output


def test_services_down_without_state() -> None:
    """down with nothing recorded is a no-op that says so, not an error."""
    result = runner.invoke(app, ["services", "down"])
    assert result.exit_code == 0
    assert "no services are running" in result.output
