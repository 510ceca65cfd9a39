"""Both entry points of the API listen where the options say, else where MLOPS_ variables say."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from mlops_course.cli import app
from mlops_course.serving import __main__ as module_entry
from mlops_course.serving import server
from mlops_course.settings import get_settings


@pytest.fixture
def listened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Replaces uvicorn: records the address instead of serving."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(server, "serve", lambda host, port, *a, **k: calls.append((host, port)))
    return calls


def _cli(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output


def _module(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:  # a program of its own: it exits
        module_entry.main(args)
    assert exited.value.code == 0


ENTRY_POINTS: dict[str, Callable[[list[str]], None]] = {
    "mlops-course serve": _cli,
    "python -m mlops_course.serving": _module,
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_mlops_api_port_and_host_are_honoured(
    entry: str, listened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_API_PORT", "9123")
    monkeypatch.setenv("MLOPS_HOST", "0.0.0.0")
    get_settings.cache_clear()
    ENTRY_POINTS[entry]([])
    assert listened == [("0.0.0.0", 9123)]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_options_win_and_the_default_is_loopback_8000(
    entry: str, listened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    ENTRY_POINTS[entry]([])
    monkeypatch.setenv("MLOPS_API_PORT", "9123")
    get_settings.cache_clear()
    ENTRY_POINTS[entry](["--port", "9000", "--host", "127.0.0.2"])
    assert listened == [("127.0.0.1", server.DEFAULT_PORT), ("127.0.0.2", 9000)]
