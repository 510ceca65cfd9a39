"""A tracking server that is down gives one clear sentence, not minutes of retries."""

from __future__ import annotations

import os
import time

import mlflow
import pytest

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.tracking import TrackingServerUnavailable, connect, require_server
from mlops_course.train import train


@pytest.fixture
def dead_uri() -> str:
    uri = f"http://127.0.0.1:{services.free_port()}"
    yield uri
    mlflow.set_tracking_uri(None)


def test_require_server_names_the_uri_and_the_fix(dead_uri: str) -> None:
    started = time.monotonic()
    with pytest.raises(TrackingServerUnavailable, match="services up") as error:
        require_server(dead_uri)
    assert dead_uri in str(error.value)
    assert time.monotonic() - started < 5


def test_local_stores_need_no_server(tmp_path) -> None:
    assert require_server(f"sqlite:///{tmp_path}/x.db").startswith("sqlite")


def test_training_and_registry_fail_fast_when_the_server_is_down(dead_uri: str) -> None:
    """No retries with back-off: the learner sees what is wrong within seconds."""
    mlflow.set_tracking_uri(dead_uri)
    frame = simulate_days([0], n=200)
    started = time.monotonic()
    with pytest.raises(TrackingServerUnavailable, match=dead_uri.replace(".", r"\.")):
        train(frame, frame, kind="ridge")
    with pytest.raises(TrackingServerUnavailable):
        registry.register("models:/m-0123", "x")
    with pytest.raises(TrackingServerUnavailable):
        registry.load_model()
    assert time.monotonic() - started < 15


def test_connect_needs_a_configured_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_TRACKING_URI", raising=False)
    with pytest.raises(TrackingServerUnavailable, match="MLOPS_TRACKING_URI"):
        connect()


def test_point_at_is_the_one_way_to_choose_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate command, the API, services.use_mlflow and connect all set the URI through it."""
    from mlops_course.settings import get_settings
    from mlops_course.tracking import point_at

    monkeypatch.delenv("MLOPS_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    try:
        assert point_at(None) is None  # nothing configured: MLflow keeps its own default
        assert point_at("http://127.0.0.1:9") == "http://127.0.0.1:9"
        assert mlflow.get_tracking_uri() == "http://127.0.0.1:9"
        monkeypatch.setenv("MLOPS_TRACKING_URI", "http://127.0.0.1:8")
        get_settings.cache_clear()
        assert point_at(None) == "http://127.0.0.1:8"
        # what this process starts logs there too (MLflow exports the variable itself)
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:8"
    finally:
        mlflow.set_tracking_uri(None)
        get_settings.cache_clear()
