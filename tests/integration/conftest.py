"""One real MLflow server per test session, on a free loopback port, in a temporary folder.

Starting ``mlflow server`` costs seconds, so the integration tests share one; each test uses its
own registered-model name so tests stay independent of each other's registry state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mlops_course import services
from mlops_course.settings import get_settings


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    workdir: Path = tmp_path_factory.mktemp("mlflow")
    with services.start_mlflow(workdir=workdir) as server:
        services.use_mlflow(server)
        yield server
    mlflow.set_tracking_uri(None)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLOPS_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name unique to the test, so registry state never leaks between tests."""
    return "it-" + request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
