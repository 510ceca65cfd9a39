"""The model API image, built and run: what the Dockerfile promises, checked in a running container.

Static tests (tests/static/test_docker.py) read the Dockerfile; these start it. One container runs
for the module the way Kubernetes runs it (read-only root, a tmpfs at /tmp, the token from a
secret): first with no champion in the registry, then serving one. Each promise has a planted
fault beside it, so the check is seen to fail: a container whose API is not running fails the
healthcheck, a token passed as a plain variable shows in ``inspect``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from packaging.utils import canonicalize_name

from mlops_course import registry, services
from mlops_course.containers import base, images, running, wheelhouse
from mlops_course.containers.engine import (
    LABEL,
    LABELS,
    ContainerError,
    Engine,
    remove_everything,
)
from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.schema import EXAMPLE_TRIP, FEATURE_COLUMNS
from mlops_course.services.process import free_port
from mlops_course.train import TrainResult, train
from tests.pins import read_pins

REPO = Path(__file__).resolve().parents[2]
TOKEN = "container-test-token-5f1c9a"  # a value that must never show up in `inspect`


@pytest.fixture(scope="module")
def model_name(unique: str) -> str:
    return f"container-{unique}"


@pytest.fixture(scope="module")
def unique() -> str:  # module-wide here: one model and one container for the module
    import uuid

    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def token_secret(engine: Engine, unique: str) -> Iterator[str]:
    """The API token as an engine secret: created from stdin, never on a command line."""
    if engine.name != "podman":
        pytest.skip("secrets of this kind are podman's (Docker has them only in swarm mode)")
    name = f"mlops-api-token-{unique}"
    engine.run("secret", "create", name, "-", stdin=TOKEN, what="creating the token secret")
    yield name
    engine.run("secret", "rm", name, check=False)


@pytest.fixture(scope="module")
def api(
    engine: Engine,
    api_image: images.BuiltImage,
    mlflow_server: services.Service,
    model_name: str,
    token_secret: str,
    unique: str,
) -> Iterator[running.Container]:
    """The API container as Kubernetes runs it, started before any champion exists."""
    network, uri = running.reach_host(engine, mlflow_server.url)
    options = (
        *network,
        "--read-only",
        "--tmpfs",
        "/tmp:rw,size=256m",
        "--env",
        f"MLOPS_TRACKING_URI={uri}",
        "--env",
        f"MLOPS_MODEL_NAME={model_name}",
        "--env",
        "MLOPS_RELOAD_POLL_SECONDS=0.5",
        # Mounted as a file at /run/secrets/<name>: podman 4.3 lists a secret passed as a
        # variable (type=env) in `podman inspect`, a file it does not. On a read-only root the
        # file needs a tmpfs to be placed on.
        "--tmpfs",
        "/run/secrets:size=1m",
        "--secret",
        token_secret,
        "--env",
        f"MLOPS_API_TOKEN_FILE=/run/secrets/{token_secret}",
    )
    with running.run(
        engine, api_image.tag, name=f"api-{unique}", port=free_port(), options=options
    ) as container:
        yield container


@pytest.fixture(scope="module")
def trained(mlflow_server: services.Service) -> TrainResult:
    frame = simulate_days(range(3), n=300)
    return train(frame, simulate_days([3], n=200), kind="ridge", run_name="container-test")


def test_not_ready_without_a_champion_then_serves_the_promoted_model(
    api: running.Container, trained: TrainResult, model_name: str
) -> None:
    deadline = time.monotonic() + 60
    while True:  # the process starts first; /health answers as soon as uvicorn listens
        try:
            if httpx.get(api.url + "/health", timeout=2, trust_env=False).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"/health never answered:\n{api.logs()}"
        time.sleep(0.25)
    ready = httpx.get(api.url + "/ready", timeout=5, trust_env=False)
    assert ready.status_code == 503
    assert model_name in ready.json()["reason"] and "champion" in ready.json()["reason"]

    version = registry.register(trained.model_uri, model_name)
    registry.promote(version.version, model_name)
    api.wait_ready(timeout=60)  # it retries every MLOPS_RELOAD_POLL_SECONDS while not ready

    response = httpx.post(api.url + "/predict", json=EXAMPLE_TRIP, timeout=10, trust_env=False)
    assert response.status_code == 200, response.text
    frame = to_model_input(pd.DataFrame([EXAMPLE_TRIP], columns=FEATURE_COLUMNS))
    expected = float(trained.model.predict(frame)[0])
    assert response.json()["duration_min"] == pytest.approx(expected, abs=0.006)
    assert response.json()["model"]["version"] == str(version.version)


def test_runs_as_the_image_user_not_root(api: running.Container) -> None:
    assert api.exec("id", "-u").strip() == "10001"
    assert api.inspect()["Config"]["User"] == "10001:10001"


def test_the_root_file_system_is_read_only_and_tmp_is_writable(api: running.Container) -> None:
    assert api.inspect()["HostConfig"]["ReadonlyRootfs"] is True
    with pytest.raises(ContainerError, match="Read-only file system"):
        api.exec("python", "-c", "open('/opt/venv/planted', 'w')")
    api.exec("python", "-c", "open('/tmp/ok', 'w').write('x')")


def test_the_healthcheck_command_succeeds_and_fails_when_the_api_is_down(
    engine: Engine, api: running.Container, api_image: images.BuiltImage, unique: str
) -> None:
    assert api.healthcheck()
    # Planted fault: the same image with the API not running. The check must say so.
    with running.run(
        engine, api_image.tag, name=f"idle-{unique}", port=free_port(), command=("sleep", "60")
    ) as idle:
        assert not idle.healthcheck()


def test_the_token_reaches_the_api_but_no_inspect_shows_it(
    engine: Engine, api: running.Container, api_image: images.BuiltImage, unique: str
) -> None:
    def reload(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(api.url + "/admin/reload", headers=headers, timeout=30, trust_env=False)

    assert reload("wrong").status_code == 403
    assert reload(TOKEN).status_code in {200, 409}, "the secret did not reach the API"
    for what in (api.name, api_image.tag):
        assert TOKEN not in engine.run("inspect", what).stdout, f"the token is in inspect {what}"
    # Planted fault: the token as a plain variable is in `inspect` for anyone who can list it.
    with running.run(
        engine,
        api_image.tag,
        name=f"leaky-{unique}",
        port=free_port(),
        options=("--env", f"MLOPS_API_TOKEN={TOKEN}"),
        command=("sleep", "60"),
    ) as leaky:
        assert TOKEN in engine.run("inspect", leaky.name).stdout


def test_the_image_holds_exactly_the_pinned_packages(api: running.Container) -> None:
    frozen = {}
    for line in api.exec("pip", "list", "--format=json").splitlines()[-1:]:
        frozen = {canonicalize_name(p["name"]): p["version"] for p in json.loads(line)}
    expected = read_pins(REPO / "docker" / "api-requirements.txt")
    expected |= {"mlops-course": "0.1.0", "pip": frozen.get("pip", "?")}
    assert frozen == expected


def test_the_wheel_inside_works_without_the_repository(api: running.Container) -> None:
    where = api.exec("python", "-c", "import mlops_course; print(mlops_course.__file__)")
    assert where.startswith("/opt/venv/lib/python3.11/site-packages/mlops_course/")
    assert api.exec("mlops-course", "--version").strip().endswith("0.1.0")
    template = "import mlops_course.template as t; print(t.find_template())"
    assert "site-packages/mlops_course/project_template" in api.exec("python", "-c", template)
    # No sources, build folder or compiler reached the final stage.
    assert api.exec("sh", "-c", "ls -d /build /src 2>/dev/null; command -v gcc cc; true") == ""


def test_a_failed_build_names_the_image_and_shows_its_last_lines(
    engine: Engine, api_image: images.BuiltImage, tmp_path: Path
) -> None:
    (tmp_path / "docker").mkdir()
    dockerfile = tmp_path / "docker" / "broken.Dockerfile"
    dockerfile.write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo planted-fault && exit 3\n")
    (tmp_path / "docker" / "broken.Dockerfile.dockerignore").write_text("*\n")
    spec = images.ImageSpec("localhost/mlops-course-broken:test", "docker/broken.Dockerfile", "")
    with pytest.raises(ContainerError) as error:
        images.build(engine, spec, tmp_path, api_image.tag)
    assert "mlops-course-broken" in str(error.value) and "planted-fault" in str(error.value)


def test_a_container_that_exits_or_never_turns_ready_says_why(
    engine: Engine, api_image: images.BuiltImage, unique: str
) -> None:
    crash = ("python", "-c", "import sys; print('planted crash'); sys.exit(4)")
    with running.run(
        engine, api_image.tag, name=f"crash-{unique}", port=free_port(), command=crash
    ) as container:
        with pytest.raises(ContainerError, match="exited with code 4 before it was ready") as error:
            container.wait_ready(timeout=30)
        assert "planted crash" in str(error.value)
    options = ("--env", "MLOPS_TRACKING_URI=http://127.0.0.1:9")  # nothing listens there
    with running.run(
        engine, api_image.tag, name=f"unready-{unique}", port=free_port(), options=options
    ) as container:
        with pytest.raises(ContainerError, match="was not ready") as error:
            container.wait_ready(timeout=8)
        assert "cannot reach the MLflow tracking server" in str(error.value)


def test_remove_everything_removes_this_runs_leftovers_and_nothing_else(
    engine: Engine, api_image: images.BuiltImage, unique: str
) -> None:
    """Only this session's: another xdist worker's containers run at the same time (the course-wide
    ``everything=True`` is checked in tests/unit/test_containers.py, without stopping them)."""

    def names() -> list[str]:
        return engine.run("ps", "-a", "--format", "{{.Names}}").stdout.split()

    sleep = (api_image.tag, "sleep", "60")
    mine, other_run, not_ours = f"mine-{unique}", f"other-{unique}", f"not-ours-{unique}"
    engine.run("run", "--detach", "--name", not_ours, *sleep)
    try:
        engine.run("run", "--detach", "--name", mine, *LABELS, *sleep)
        other_session = "io.mlops-course.session=another-run"
        engine.run(
            "run", "--detach", "--name", other_run, "--label", LABEL, "--label", other_session,
            *sleep,
        )  # fmt: skip
        engine.run("volume", "create", *LABELS, f"vol-{unique}")
        removed = remove_everything(engine)
        assert any(item.startswith("volume") for item in removed)
        assert mine not in names() and other_run in names() and not_ours in names()
        assert f"vol-{unique}" not in engine.run("volume", "ls", "--format", "{{.Name}}").stdout
    finally:
        engine.run("rm", "--force", "--time", "1", not_ours, other_run, check=False)


def test_an_image_whose_inputs_did_not_change_is_not_built_again(
    engine: Engine, api_image: images.BuiltImage
) -> None:
    """The fixture just built (or found) it; the same build again must not call the engine's
    build at all (the unit tests show the inputs' hash changes with any file of the context)."""

    @dataclass(frozen=True)
    class Spy(Engine):
        calls: list[tuple[str, ...]] = field(default_factory=list)

        def run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
            self.calls.append(args)
            return super().run(*args, **kwargs)

    spy = Spy(engine.name, engine.executable, engine.env)
    wheels = (
        wheelhouse.fill(REPO / images.API.requirements, REPO) if engine.name == "podman" else None
    )
    again = images.build(spy, images.API, REPO, base.ensure_base(spy), wheels)
    assert again.image_id == api_image.image_id and again.cached
    assert not [call for call in spy.calls if call[:1] == ("build",)], "it was built again"
