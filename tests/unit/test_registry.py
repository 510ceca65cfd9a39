"""The registry's narrow opt-in to model deserialization is undone after the block."""

from __future__ import annotations

import os

import pytest

from mlops_course.model_io import trusted_model_loading

KEY = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


def test_sets_and_removes_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the block loading is allowed; afterwards the variable is gone again, not 'true'."""
    monkeypatch.delenv(KEY, raising=False)
    with trusted_model_loading():
        assert os.environ[KEY] == "true"
    assert KEY not in os.environ


def test_restores_previous_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hardened deployment's 'false' is back in force after the block."""
    monkeypatch.setenv(KEY, "false")
    with trusted_model_loading():
        assert os.environ[KEY] == "true"
    assert os.environ[KEY] == "false"


@pytest.mark.parametrize("before", [None, "false"])
def test_restores_when_block_raises(before: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing load must not leave deserialization switched on for the rest of the process."""
    if before is None:
        monkeypatch.delenv(KEY, raising=False)
    else:
        monkeypatch.setenv(KEY, before)
    with pytest.raises(RuntimeError, match="load failed"), trusted_model_loading():
        raise RuntimeError("load failed")
    assert os.environ.get(KEY) == before
