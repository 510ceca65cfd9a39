"""One exit-code convention for every command: 1 the check said no, 2 bad input, 3 unreachable."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from mlops_course.cli import app
from mlops_course.exits import ExitCode
from mlops_course.settings import get_settings

runner = CliRunner()


@pytest.fixture
def nothing_listening(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A loopback URL on a port that refuses connections: an MLflow server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLOPS_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    get_settings.cache_clear()
    yield url
    mlflow.set_tracking_uri(None)


def test_the_codes_are_the_documented_ones() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("NO", 1),
        ("BAD_INPUT", 2),
        ("UNREACHABLE", 3),
    ]


@pytest.mark.parametrize("group", [[], ["gate"], ["ct"]])
def test_help_says_what_each_code_means(group: list[str]) -> None:
    result = runner.invoke(app, [*group, "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for meaning in ("0 ok", "1 the check said no", "2 bad input", "3 a service is unreachable"):
        assert meaning in text, text


def test_ct_without_a_server_is_unreachable_not_a_blocked_gate(nothing_listening: str) -> None:
    """`ct` used to exit 1 both for "no MLflow server" and for "the gate blocked"."""
    result = runner.invoke(app, ["ct", "rollback", "--model-name", "m"])
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert nothing_listening in " ".join(result.output.split())


def test_ct_retrain_without_data_is_bad_input() -> None:
    result = runner.invoke(app, ["ct", "retrain"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "no validated batches" in result.output


def test_gate_promote_without_a_registry_is_unreachable(nothing_listening: str) -> None:
    result = runner.invoke(app, ["gate", "promote", "--tracking-uri", nothing_listening])
    assert result.exit_code == ExitCode.UNREACHABLE, result.output


def test_gate_run_with_an_unreachable_registry_is_not_bad_input(
    nothing_listening: str, tmp_path: Path
) -> None:
    from mlops_course.data.simulate import simulate_day

    eval_data = tmp_path / "eval.parquet"
    simulate_day(0, n=50).to_parquet(eval_data)
    result = runner.invoke(
        app,
        [
            "gate",
            "run",
            "--candidate",
            "models:/trip-duration@challenger",
            "--eval-data",
            str(eval_data),
            "--no-champion",
        ],
    )
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
