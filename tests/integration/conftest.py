"""One real MLflow server per test session, on a free loopback port, in a temporary folder.

Starting ``mlflow server`` costs seconds, so the integration tests share one; each test uses its
own registered-model name so tests stay independent of each other's registry state.

The developer's shell must not leak in: after ``mlops-course services up`` a learner exports
``MLOPS_TRACKING_URI`` (and may have ``MLFLOW_TRACKING_URI``), and a test that read it would log
to, and register models in, the learner's own server. The session fixture removes both before the
session's server starts (``use_mlflow`` then sets ``MLFLOW_TRACKING_URI`` to the test server, so it
is not cleared again per test); every test starts without any ``MLOPS_`` variable, like the unit
tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from mlops_course import forkserver, services
from mlops_course.settings import get_settings


def _is_developer_variable(key: str) -> bool:
    """A setting of the developer's shell; the session's fork server (make test's) is not one."""
    if key == forkserver.ENV:
        return False
    return key.upper().startswith("MLOPS_") or key.upper() == "MLFLOW_TRACKING_URI"


@pytest.fixture(scope="session", autouse=True)
def _no_developer_services() -> Iterator[None]:
    """Session-wide, and autouse so it runs before ``mlflow_server`` sets its own URI."""
    with pytest.MonkeyPatch.context() as session_patch:
        for key in [key for key in os.environ if _is_developer_variable(key)]:
            session_patch.delenv(key)
        yield


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    workdir: Path = tmp_path_factory.mktemp("mlflow")
    with services.start_mlflow(workdir=workdir) as server:
        services.use_mlflow(server)
        yield server
    mlflow.set_tracking_uri(None)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.upper().startswith("MLOPS_") and key != forkserver.ENV:  # make test's, not theirs
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLOPS_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name unique to the test, so registry state never leaks between tests."""
    return "it-" + request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
