"""Container tests' fixtures: the engine, the images built once, an MLflow server to serve from.

Images are built through `mlops_course.containers`, the code ``make containers`` and the notebooks
use, with the engine's layer cache: an unchanged tree rebuilds in seconds. The build holds a file
lock, so two pytest-xdist workers never build the same image at once. Whatever a test started is
removed at the end of the session, also after a failure (`engine.remove_everything`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from mlops_course import services
from mlops_course.containers import base, images, wheelhouse
from mlops_course.containers.engine import ContainerError, Engine, find_engine, remove_everything
from mlops_course.settings import user_cache

REPO = Path(__file__).resolve().parents[2]


# pyproject.toml gives every test 300 s, setup included. The images are built in the setup of the
# first test that needs them, and on a machine with an empty image store and wheelhouse that is
# longer: the course image alone, every pin of the lock, took 335 s here with the wheels already
# downloaded. Only a build can take that long; the tests themselves stay far below.
COLD_BUILD_TIMEOUT = 1500


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/containers/" in item.nodeid and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(COLD_BUILD_TIMEOUT))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    try:
        found = find_engine()
    except ContainerError as error:
        pytest.fail(f"{error} (make test builds and runs the course's images)")
    yield found
    remove_everything(found)


def _build(engine: Engine, spec: images.ImageSpec) -> images.BuiltImage:
    with FileLock(user_cache() / "build.lock"):
        base_image = base.ensure_base(engine)
        wheels = (
            wheelhouse.fill(REPO / spec.requirements, REPO) if engine.name == "podman" else None
        )
        return images.build(engine, spec, REPO, base_image, wheels)


@pytest.fixture(scope="session")
def api_image(engine: Engine) -> images.BuiltImage:
    return _build(engine, images.API)


@pytest.fixture(scope="session")
def course_image(engine: Engine) -> images.BuiltImage:
    """JupyterLab with every pin of requirements.txt (and compose's MLflow server)."""
    return _build(engine, images.COURSE)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Service]:
    with services.start_mlflow(workdir=tmp_path_factory.mktemp("mlflow")) as server:
        services.use_mlflow(server)
        yield server


@pytest.fixture
def unique() -> str:
    """A suffix for container and model names, so runs and tests never collide."""
    return uuid.uuid4().hex[:8]
