"""The one settings object: defaults, ``MLOPS_`` overrides and the folders derived from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from mlops_course.settings import Settings, get_settings


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any MLOPS_ variable the course runs on loopback, free ports, seed 42, day 30.

    Notebooks, the simulator and the graders all assume these values; a changed default would
    silently change every stored notebook output and the drift start day graded in stage 4.
    """
    monkeypatch.delenv("MLOPS_WORKDIR")
    monkeypatch.delenv("MLOPS_DATA_DIR")
    settings = Settings()
    assert settings.workdir == Path(".mlops")
    assert settings.data_dir == Path("data")
    assert settings.host == "127.0.0.1"
    assert (settings.mlflow_port, settings.api_port, settings.prometheus_port) == (0, 0, 0)
    assert settings.tracking_uri is None
    assert settings.seed == 42
    assert settings.trips_per_day == 1_000
    assert settings.drift_start_day == 30
    assert settings.experiment_name == settings.model_name == "trip-duration"


def test_environment_overrides_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLOPS_<NAME> overrides a field and is coerced to its type; the bare name is ignored.

    The prefix is what keeps an unrelated SEED or HOST in a learner's shell from changing the
    course's behaviour.
    """
    monkeypatch.setenv("MLOPS_SEED", "7")
    monkeypatch.setenv("MLOPS_SERVICE_START_TIMEOUT", "2.5")
    monkeypatch.setenv("MLOPS_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("TRIPS_PER_DAY", "3")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.seed == 7
    assert settings.service_start_timeout == 2.5
    assert settings.tracking_uri == "http://127.0.0.1:5000"
    assert settings.trips_per_day == 1_000


def test_invalid_environment_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that is not of the field's type fails loudly instead of becoming a string."""
    monkeypatch.setenv("MLOPS_SEED", "not-a-number")
    with pytest.raises(ValidationError, match="seed"):
        Settings()


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_settings returns one object per process; a new environment needs cache_clear.

    The test fixtures (and any notebook that changes settings) depend on exactly this behaviour.
    """
    first = get_settings()
    monkeypatch.setenv("MLOPS_SEED", "123")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().seed == 123


def test_raw_and_quarantine_dirs_follow_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """raw_dir and quarantine_dir live under data_dir, so moving data_dir moves both."""
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "elsewhere"))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.raw_dir == tmp_path / "elsewhere" / "raw"
    assert settings.quarantine_dir == tmp_path / "elsewhere" / "quarantine"
    assert settings.raw_dir != settings.quarantine_dir


def test_the_network_guard_refuses_non_loopback_addresses() -> None:
    """The guard in tests/conftest.py is real: a connection to a public address fails at once."""
    import socket

    with socket.socket() as sock, pytest.raises(RuntimeError, match="only loopback"):
        sock.connect(("192.0.2.1", 80))


def test_the_running_example_is_defined_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed, trips per day and drift day come from the settings: params.yaml says the same, and
    the DVC stages' defaults follow the settings rather than repeating the numbers."""
    import yaml

    from mlops_course.dvc_stages import DataParams

    for key in [k for k in os.environ if k.startswith("MLOPS_")]:
        monkeypatch.delenv(key)
    defaults = Settings()
    params = yaml.safe_load((Path(__file__).parents[2] / "params.yaml").read_text())["data"]
    for name in ("seed", "trips_per_day", "drift_start_day"):
        assert params[name] == getattr(defaults, name), f"params.yaml data.{name}"
    monkeypatch.setenv("MLOPS_SEED", "7")
    get_settings.cache_clear()
    try:
        assert DataParams().seed == 7
    finally:
        get_settings.cache_clear()
