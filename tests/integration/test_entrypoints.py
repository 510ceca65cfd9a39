"""Run the exact command of each image and container definition as a local process.

No Docker engine runs here, so a typo in a CMD, a compose `command` or a Kubernetes `command`
would only show when a learner runs `make up` or `kubectl apply`. These tests read each command
from its file (the final stage's ENTRYPOINT + CMD of a Dockerfile, a compose service's command,
a Deployment's container command), start it with the course venv's executables (the images
install the same pins), with the environment the file gives it, and wait until it is healthy.

What is adapted, and only that: addresses (0.0.0.0 becomes 127.0.0.1, fixed ports become free
ones, service hostnames become the local servers), paths that exist only in a container (the
Postgres URI and the S3 bucket become a sqlite file and a folder), MLflow's worker count (one: a
capacity setting, and each worker costs seconds on a 2-core machine) and, when the tests run as
root, JupyterLab's --allow-root (the image runs it as uid 1000). Everything else, subcommands,
options and their spelling, runs as written.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.train import train

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
API_DOCKERFILE = DOCKER_DIR / "api.Dockerfile"
JUPYTER_DOCKERFILE = DOCKER_DIR / "jupyter.Dockerfile"
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
MLFLOW_MANIFEST = DOCKER_DIR / "kubernetes" / "mlflow.yaml"
VENV_BIN = Path(sys.executable).parent
MODEL_NAME = "it-entrypoints"
START_TIMEOUT = 60.0

# Variables whose container value is a container path: the local process gets a local one.
CONTAINER_PATH_VARS = {"PATH", "VIRTUAL_ENV", "HOME"}


# --- reading commands and environments from the files --------------------------------------------


def dockerfile_final_stage(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of the final stage, continuation lines joined, comments dropped."""
    lines = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.strip().startswith("#")
    ]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    final = re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]
    return [
        (keyword.upper(), args.strip())
        for keyword, _, args in (line.partition(" ") for line in final.splitlines()[1:] if line)
    ]


def dockerfile_command(path: Path) -> list[str]:
    """What `docker run IMAGE` runs: ENTRYPOINT + CMD in exec form."""
    parts: dict[str, list[str]] = {"ENTRYPOINT": [], "CMD": []}
    for keyword, args in dockerfile_final_stage(path):
        if keyword in parts:
            parts[keyword] = json.loads(args)
    return parts["ENTRYPOINT"] + parts["CMD"]


def dockerfile_env(path: Path) -> dict[str, str]:
    """ENV of every stage the final one builds on (here: all of them share the `base` stage)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    env: dict[str, str] = {}
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    for stage in (stages[0], stages[-1]):  # base + runtime
        for line in stage.splitlines():
            if line.startswith("ENV "):
                env.update(re.findall(r"(\w+)=(\S+)", line))
    return {name: value for name, value in env.items() if name not in CONTAINER_PATH_VARS}


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ${VAR:-default} and ${VAR-default}, from `environ` (the learner's shell)."""

    def substitute(match: re.Match[str]) -> str:
        name, colon, default = match.group(1), match.group(2), match.group(3) or ""
        current = environ.get(name)
        if current is None or (colon and current == ""):
            return default
        return current

    return re.sub(r"\$\{(\w+)(:?)-?([^}]*)\}", substitute, value)


def compose_service(name: str) -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"][name]


def compose_command(name: str) -> list[str]:
    """The service's command, or its image's when it has none (what compose runs)."""
    service = compose_service(name)
    if "command" in service:
        return list(service["command"])
    dockerfile = REPO_ROOT / service["build"]["dockerfile"]
    return dockerfile_command(dockerfile)


def compose_env(name: str, environ: dict[str, str]) -> dict[str, str]:
    """The image's ENV overlaid with the service's environment, as compose does."""
    service = compose_service(name)
    env = dockerfile_env(REPO_ROOT / service["build"]["dockerfile"])
    env.update({k: interpolate(str(v), environ) for k, v in service["environment"].items()})
    return env


# --- adapting a container command to a local process ---------------------------------------------


def localize(command: list[str], replace: dict[str, str]) -> list[str]:
    """Swap the values of container-only options (`--flag value` or `--flag=value`) and resolve
    the executable in the venv. Every flag to replace must be present: otherwise the process
    would listen on a port the test does not watch, and the test would say nothing useful."""
    executable = VENV_BIN / command[0]
    assert executable.is_file(), (
        f"{command[0]!r} is not an executable of the venv the images install "
        f"(looked for {executable})"
    )
    local = [str(executable), *command[1:]]
    for flag, value in replace.items():
        if flag in local:
            local[local.index(flag) + 1] = value
            continue
        joined = [i for i, arg in enumerate(local) if arg.startswith(flag + "=")]
        assert joined, f"{command}: expected the option {flag}, which the test adapts"
        local[joined[0]] = f"{flag}={value}"
    return local


@dataclass
class Launch:
    """One command to run: where it comes from, how to run it locally, what answers when ready."""

    origin: str
    command: list[str]
    env: dict[str, str]
    port: int
    health_path: str


def start(launch: Launch, workdir: Path) -> services.Service:
    env = {
        **launch.env,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        "HOME": str(workdir / "home"),
    }
    (workdir / "home").mkdir(parents=True, exist_ok=True)
    return services.start(
        launch.origin.replace(":", "-").replace("/", "-"),
        launch.command,
        launch.port,
        health_path=launch.health_path,
        workdir=workdir,
        timeout=START_TIMEOUT,
        env=env,
    )


def get(url: str, **kwargs: object) -> httpx.Response:
    return httpx.get(url, timeout=10.0, trust_env=False, **kwargs)  # type: ignore[arg-type]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def champion(mlflow_server: services.Service) -> str:
    """A small model registered under MODEL_NAME with the alias the API serves."""
    result = train(
        simulate_days(range(2), n=200), simulate_days([2], n=100), kind="ridge", run_name="ep"
    )
    assert result.model_uri
    version = registry.register(result.model_uri, MODEL_NAME)
    registry.set_alias(registry.CHAMPION, version.version, MODEL_NAME)
    return MODEL_NAME


@pytest.fixture
def api_env(mlflow_server: services.Service, champion: str) -> dict[str, str]:
    """The learner's shell for compose interpolation, and the `docker run -e` of the image."""
    return {"MLOPS_MODEL_NAME": champion, "MLOPS_TRACKING_URI": mlflow_server.url}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.fixture
def migrated_db(mlflow_server: services.Service, tmp_path: Path) -> Path:
    """A copy of the session server's database: MLflow's schema migrations on a fresh sqlite
    file cost seconds per server, and they are not what these tests are about."""
    copy = tmp_path / "migrated.db"
    source = sqlite3.connect(mlflow_server.log_path.parent / "mlflow.db")
    target = sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return copy


def api_is_ready(service: services.Service, model_name: str) -> None:
    """Beyond /health: the API found the registry and serves the champion."""
    ready = get(service.url + "/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["model"]["name"] == model_name


# --- the API -------------------------------------------------------------------------------------


def test_api_image_command_serves_the_champion(
    api_env: dict[str, str], workdir: Path, mlflow_server: services.Service
) -> None:
    """`docker run -e MLOPS_TRACKING_URI=... mlops-course-api` runs the image's CMD."""
    port = services.free_port()
    command = localize(
        dockerfile_command(API_DOCKERFILE), {"--host": "127.0.0.1", "--port": str(port)}
    )
    env = {**dockerfile_env(API_DOCKERFILE), **api_env}
    with start(Launch("image:api", command, env, port, "/health"), workdir) as service:
        api_is_ready(service, api_env["MLOPS_MODEL_NAME"])


def test_compose_api_command_serves_the_champion(
    api_env: dict[str, str], mlflow_server: services.Service, workdir: Path
) -> None:
    """The compose api service: its command, the image ENV and its environment; http://mlflow:5000
    is the local server (the learner's MLOPS_MODEL_NAME is interpolated as compose would)."""
    port = services.free_port()
    command = localize(compose_command("api"), {"--host": "127.0.0.1", "--port": str(port)})
    env = compose_env("api", {"MLOPS_MODEL_NAME": api_env["MLOPS_MODEL_NAME"]})
    assert env["MLOPS_TRACKING_URI"] == "http://mlflow:5000"
    env["MLOPS_TRACKING_URI"] = mlflow_server.url
    with start(Launch("compose:api", command, env, port, "/health"), workdir) as service:
        api_is_ready(service, api_env["MLOPS_MODEL_NAME"])
        # MLOPS_API_TOKEN is empty by default: the reload endpoint must be disabled, not open.
        assert env["MLOPS_API_TOKEN"] == ""
        reload = httpx.post(service.url + "/admin/reload", timeout=10.0, trust_env=False)
        assert reload.status_code == 403


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (("serve", "serv"), "No such command 'serv'"),
        (("--port", "--prot"), "No such option: --prot"),
    ],
    ids=["subcommand-typo", "option-typo"],
)
def test_a_typo_in_the_api_cmd_fails_here(
    tmp_path: Path, workdir: Path, broken: tuple[str, str], expected: str
) -> None:
    """Proves the tests above would catch a broken CMD: a copy of the Dockerfile with one typo."""
    old, new = broken
    copy = tmp_path / "api.Dockerfile"
    text = API_DOCKERFILE.read_text(encoding="utf-8")
    cmd_line = next(line for line in text.splitlines() if line.startswith("CMD "))
    copy.write_text(text.replace(cmd_line, cmd_line.replace(f'"{old}"', f'"{new}"')), "utf-8")
    port = services.free_port()
    command = dockerfile_command(copy)
    command = localize(command, {"--host": "127.0.0.1"})
    if "--port" in command:
        command = localize(command, {"--port": str(port)})
    launch = Launch("image:api-broken", command, dockerfile_env(copy), port, "/health")
    with pytest.raises(services.ServiceError, match="exited with code") as failure:
        start(launch, workdir)
    assert expected in str(failure.value)


# --- JupyterLab ----------------------------------------------------------------------------------


def test_jupyter_image_command_starts_jupyterlab(workdir: Path) -> None:
    """The course image's CMD (also the compose jupyter service's): /api answers without a token,
    which is what the image's HEALTHCHECK relies on."""
    assert "command" not in compose_service("jupyter"), "compose overrides the image's CMD"
    port = services.free_port()
    root = workdir / "course"
    root.mkdir()
    command = localize(
        dockerfile_command(JUPYTER_DOCKERFILE),
        {"--ip": "127.0.0.1", "--port": str(port), "--ServerApp.root_dir": str(root)},
    )
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = compose_env("jupyter", {})
    with start(Launch("image:jupyter", command, env, port, "/api"), workdir) as service:
        assert "version" in get(service.url + "/api").json()
        assert get(service.url + "/api/contents").status_code == 403  # the token still guards


# --- MLflow --------------------------------------------------------------------------------------


def mlflow_checks(service: services.Service, hostname: str) -> None:
    """Healthy, and the --allowed-hosts list accepts the name other containers use for it."""
    search = service.url + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert get(search, headers={"Host": hostname}).status_code == 200
    assert get(search, headers={"Host": "attacker.example:5000"}).status_code == 403


def test_compose_mlflow_command_starts_the_server(workdir: Path, migrated_db: Path) -> None:
    """The compose mlflow command with a sqlite file for Postgres and a folder for the bucket."""
    port = services.free_port()
    command = localize(
        compose_command("mlflow"),
        {
            "--host": "127.0.0.1",
            "--port": str(port),
            "--backend-store-uri": f"sqlite:///{migrated_db}",
            "--artifacts-destination": str(workdir / "artifacts"),
            "--workers": "1",
        },
    )
    env = compose_env("mlflow", {})
    with start(Launch("compose:mlflow", command, env, port, "/health"), workdir) as service:
        mlflow_checks(service, "mlflow:5000")


def test_kubernetes_mlflow_command_starts_the_server(workdir: Path, migrated_db: Path) -> None:
    """The MLflow Deployment's command, its /data volume a temporary folder."""
    deployment = next(
        doc
        for doc in yaml.safe_load_all(MLFLOW_MANIFEST.read_text(encoding="utf-8"))
        if doc["kind"] == "Deployment"
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    data = workdir / "data"
    data.mkdir()
    migrated_db.rename(data / "mlflow.db")  # what the volume holds after the first start
    port = services.free_port()
    original = container["command"]
    store = original[original.index("--backend-store-uri") + 1]
    artifacts = original[original.index("--artifacts-destination") + 1]
    # Both must live on the persistent volume, or a pod restart loses the registry.
    mounts = {m["mountPath"] for m in container["volumeMounts"] if m["name"] == "data"}
    assert store.startswith("sqlite:////data/") and artifacts.startswith("/data/")
    assert mounts == {"/data"}
    command = localize(
        original,
        {
            "--host": "127.0.0.1",
            "--port": str(port),
            "--backend-store-uri": store.replace("/data", str(data)),
            "--artifacts-destination": artifacts.replace("/data", str(data)),
        },
    )
    env = {var["name"]: var["value"] for var in container["env"] if var["name"] != "HOME"}
    with start(Launch("kubernetes:mlflow", command, env, port, "/health"), workdir) as service:
        mlflow_checks(service, "mlflow:5000")
