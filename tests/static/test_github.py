"""Static checks of .github/workflows/.

A workflow is only run by GitHub, after a push, so a typo or a rotted step would show up late and
somewhere else. These tests validate every workflow against the GitHub workflow schema vendored in
check-jsonschema (offline), and enforce the project's rules that no schema knows: least privilege,
timeouts, actions pinned by commit, no template injection, and CI that only calls `make`.
"""

import copy
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

CheckJsonschema = Callable[..., subprocess.CompletedProcess[str]]  # the conftest fixture

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
CI_WORKFLOW = WORKFLOW_DIR / "ci.yml"
NEWEST_WORKFLOW = WORKFLOW_DIR / "newest-deps.yml"
# The workflows that run the project's own checks: only make targets and machine setup.
MAKE_ONLY_WORKFLOWS = {CI_WORKFLOW, NEWEST_WORKFLOW}
MAKEFILE = REPO_ROOT / "Makefile"
PYPROJECT_TOML = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))

SHA_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
# What a CI `run:` line may do besides calling make: set up the machine, nothing else.
SETUP_COMMANDS = [
    re.compile(r"^sudo apt-get update( -q+)?$"),
    re.compile(r"^sudo apt-get install( --?[\w-]+)* [a-z0-9][a-z0-9.+-]*( [a-z0-9][a-z0-9.+-]*)*$"),
    re.compile(r"^(python -m )?pip install( --?[\w-]+)* -r requirements\.txt$"),
    re.compile(r"^sudo systemctl (disable --now|stop) [a-z0-9-]+$"),
]

Workflow = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


def load_workflow(path: Path) -> Workflow:
    """The workflow as a dict; YAML 1.1 reads the key `on` as True, so it is put back as "on"."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: Workflow) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step of every job."""
    return [
        (job_id, step)
        for job_id, job in workflow.get("jobs", {}).items()
        for step in job.get("steps", [])
    ]


def run_lines(workflow: Workflow) -> list[str]:
    """Every non-blank, non-comment line of every `run:` script."""
    return [
        line.strip()
        for _, step in steps(workflow)
        for line in str(step.get("run", "")).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def makefile_targets() -> set[str]:
    """Target names defined in the Makefile (variable assignments such as `X := y` excluded)."""
    targets: set[str] = set()
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-][A-Za-z0-9_. -]*?)\s*::?(?!=)", line)
        if match and not line.startswith((".PHONY", "\t")):
            targets.update(match.group(1).split())
    return targets


# --- rules: each returns the problems it finds, so it can be proven on a broken workflow too -----


def missing_permissions(workflow: Workflow) -> list[str]:
    """Without `permissions`, GITHUB_TOKEN gets the repository default, which may be write-all."""
    if "permissions" in workflow:
        return ["permissions: write-all"] if workflow["permissions"] == "write-all" else []
    return [
        f"job {job_id} sets no permissions (and the workflow sets none)"
        for job_id, job in workflow.get("jobs", {}).items()
        if "permissions" not in job
    ]


def missing_timeouts(workflow: Workflow) -> list[str]:
    """GitHub's default timeout is six hours: a hung notebook would hold a runner that long."""
    return [
        f"job {job_id} has no timeout-minutes"
        for job_id, job in workflow.get("jobs", {}).items()
        if "uses" not in job and "timeout-minutes" not in job
    ]


def unpinned_actions(workflow: Workflow) -> list[str]:
    """A tag can be moved to other code; a full commit SHA cannot."""
    problems = []
    uses = [
        (job_id, job["uses"]) for job_id, job in workflow.get("jobs", {}).items() if "uses" in job
    ]
    uses += [(job_id, step["uses"]) for job_id, step in steps(workflow) if "uses" in step]
    for job_id, ref in uses:
        if ref.startswith("./"):
            continue
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                problems.append(f"job {job_id}: {ref} is not pinned by digest")
        elif not SHA_PINNED.match(ref):
            problems.append(f"job {job_id}: {ref} is not pinned to a full commit SHA")
    return problems


def expressions_in_run(workflow: Workflow) -> list[str]:
    """`${{ }}` in a script is pasted in before the shell runs: a branch name or PR title could then
    run code. Pass values through `env:` and use "$VAR" instead."""
    return [
        f"job {job_id}: run script interpolates an expression: {step['run'].strip()[:80]!r}"
        for job_id, step in steps(workflow)
        if "${{" in str(step.get("run", ""))
    ]


def run_lines_outside_make(workflow: Workflow) -> list[str]:
    """CI runs what a contributor runs: `make <target>`, plus setting up the machine. Logic written
    straight into the workflow would rot unseen, since only GitHub runs it."""
    targets = makefile_targets()
    problems = []
    for line in run_lines(workflow):
        words = line.split()
        if words[0] == "make":
            unknown = [w for w in words[1:] if "=" not in w and w not in targets]
            if unknown or len(words) == 1:
                problems.append(f"`{line}` calls no existing Makefile target ({unknown or 'none'})")
        elif not any(pattern.match(line) for pattern in SETUP_COMMANDS):
            problems.append(f"`{line}` is neither a make target nor apt-get/pip setup")
    return problems


WORKFLOW_RULES = [
    missing_permissions,
    missing_timeouts,
    unpinned_actions,
    expressions_in_run,
    run_lines_outside_make,
]


def broken_workflow() -> Workflow:
    """A copy of ci.yml that breaks every rule once, to prove no rule is vacuous."""
    workflow = copy.deepcopy(load_workflow(CI_WORKFLOW))
    workflow.pop("permissions")
    job = workflow["jobs"]["test"]
    job.pop("timeout-minutes")
    job["steps"][0]["uses"] = "actions/checkout@v5"
    job["steps"].append({"run": 'echo "${{ github.event.pull_request.title }}"'})
    job["steps"].append({"run": "make tests"})
    return workflow


# --- tests ---------------------------------------------------------------------------------------


def test_there_is_a_ci_workflow() -> None:
    """The parametrized tests below would pass vacuously on an empty folder."""
    assert CI_WORKFLOW in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_the_github_schema(
    workflow: Path, check_jsonschema: CheckJsonschema
) -> None:
    """GitHub rejects an invalid workflow only after a push; the vendored schema rejects it here."""
    result = check_jsonschema("vendor.github-workflows", workflow)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_jobs_set_timeouts_per_check_jsonschema(
    workflow: Path, check_jsonschema: CheckJsonschema
) -> None:
    """check-jsonschema's own rule for job timeouts, as a second opinion on missing_timeouts."""
    result = check_jsonschema("custom.github-workflows-require-timeout", workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_schema_check_rejects_a_broken_workflow(
    tmp_path: Path, check_jsonschema: CheckJsonschema
) -> None:
    """Proves the schema check is live: a job without `runs-on` is invalid."""
    workflow = load_workflow(CI_WORKFLOW)
    workflow["jobs"]["test"].pop("runs-on")
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    result = check_jsonschema("vendor.github-workflows", broken)
    assert result.returncode != 0, "check-jsonschema accepted a job without runs-on"
    assert "'runs-on' is a required property" in result.stdout + result.stderr


@pytest.mark.parametrize("rule", WORKFLOW_RULES, ids=lambda rule: rule.__name__)
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_rule_holds(rule: Any, workflow: Path) -> None:
    """Least privilege, timeouts, pinned actions, no template injection, CI only through make."""
    if rule is run_lines_outside_make and workflow not in MAKE_ONLY_WORKFLOWS:
        pytest.skip("only the workflows of the project's checks are restricted to make targets")
    assert rule(load_workflow(workflow)) == []


@pytest.mark.parametrize("rule", WORKFLOW_RULES, ids=lambda rule: rule.__name__)
def test_workflow_rule_catches_a_broken_workflow(rule: Any) -> None:
    """Each rule finds its planted fault: a rule that cannot fail checks nothing."""
    assert rule(broken_workflow()), f"{rule.__name__} found nothing wrong in a broken workflow"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_pinned_action_names_its_version(workflow: Path) -> None:
    """A bare SHA cannot be reviewed or updated by a person: each carries its tag as a comment."""
    for number, line in enumerate(workflow.read_text(encoding="utf-8").splitlines(), 1):
        match = re.search(r"\buses:\s*(\S+@[0-9a-f]{40})(.*)$", line)
        if match:
            assert re.match(r"\s+#\s*v\d+(\.\d+)*\s*$", match.group(2)), (
                f"{workflow.name}:{number}: {match.group(1)} has no `# vX.Y.Z` comment"
            )


def test_makefile_targets_are_parsed() -> None:
    """run_lines_outside_make trusts this parser; if it found nothing, every make line would fail,
    and if it over-matched (`X := y`), a removed target would go unnoticed."""
    targets = makefile_targets()
    assert {"test", "book", "lint", "static"} <= targets
    assert not {"SHELL", "PYTHON", "VENV", "export"} & targets


def test_ci_runs_make_test_on_push_and_pull_request() -> None:
    """The contract of the README: CI runs exactly `make test`, for pushes and pull requests."""
    workflow = load_workflow(CI_WORKFLOW)
    assert {"push", "pull_request"} <= set(workflow["on"])
    assert workflow["permissions"] == {"contents": "read"}
    assert "make test" in run_lines(workflow)
    assert workflow["jobs"]["test"]["runs-on"] == "ubuntu-24.04"


# Runner labels pinned to an OS version: `-latest` moves under the project without a commit.
RUNNERS = {"ubuntu-24.04", "macos-15"}


def test_ci_unit_job_covers_the_newer_pythons_the_package_claims() -> None:
    """requires-python is a promise to whoever installs the wheel: every minor version it admits
    besides the course's own 3.11 gets the unit tests, on pinned runners."""
    unit = load_workflow(CI_WORKFLOW)["jobs"]["unit"]
    matrix = unit["strategy"]["matrix"]
    assert set(matrix["os"]) <= RUNNERS and "ubuntu-24.04" in matrix["os"], matrix["os"]
    assert unit["runs-on"] == "${{ matrix.os }}"
    assert run_lines({"jobs": {"unit": unit}}) == ["make unit"]
    assert unit["env"]["PYTHON"] == "python${{ matrix.python }}", "make would use python3.11"
    claimed = SpecifierSet(PYPROJECT_TOML["project"]["requires-python"])
    newer = {f"3.{minor}" for minor in range(12, 20) if f"3.{minor}" in claimed}
    assert newer, "requires-python admits no version above 3.11: drop the unit job"
    assert set(matrix["python"]) == newer


# The oldest 3.11 releases that learners really have: Debian 12's python3 (also the base the
# course's images are built on where no registry answers) is 3.11.2.
OLDEST_PYTHONS = ("3.11.0", "3.11.2")


def test_every_pin_of_the_lock_installs_on_the_oldest_python_the_package_claims() -> None:
    """requires-python says >=3.11; a pin whose own Requires-Python is narrower (soupsieve 4.1
    wants >=3.11.5) breaks the install there, found first by building the course image on
    Debian's Python. Read from the venv's installed metadata, so it runs offline."""
    claimed = SpecifierSet(PYPROJECT_TOML["project"]["requires-python"])
    assert all(version in claimed for version in OLDEST_PYTHONS)
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line):
            pins[canonicalize_name(match[1])] = match[2]
    narrower = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if pins.get(name) != dist.version:
            continue
        wanted = SpecifierSet(dist.metadata.get("Requires-Python") or "")
        if refused := [version for version in OLDEST_PYTHONS if version not in wanted]:
            narrower[f"{name}=={dist.version}"] = f"Requires-Python {wanted}, not {refused}"
    assert (
        len(
            {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions()}
            & set(pins)
        )
        > 250
    ), "the venv does not hold the lock: nothing was checked"
    assert narrower == {}, (
        f"{narrower}: pin the newest release that still installs there in requirements.in"
    )


def test_ci_python_matches_the_project() -> None:
    """CI, the image and pyproject.toml must agree on Python, or CI tests another interpreter."""
    workflow = load_workflow(CI_WORKFLOW)
    versions = {
        str(step["with"]["python-version"])
        for _, step in steps({"jobs": {"test": workflow["jobs"]["test"]}})
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    }
    assert versions == {"3.11"}
    assert PYPROJECT_TOML["project"]["requires-python"].startswith(">=3.11,")
    dockerfile = (REPO_ROOT / "docker" / "api.Dockerfile").read_text(encoding="utf-8")
    # The published base (the default of ARG BASE_IMAGE, which every FROM starts from).
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM \$\{BASE_IMAGE\} AS base$", dockerfile, re.MULTILINE)


def test_ci_installs_what_the_tests_need_and_keeps_the_book() -> None:
    """promtool (tests/static) comes from apt; the notebook cache and the built site are kept."""
    workflow = load_workflow(CI_WORKFLOW)
    assert any(
        re.match(r"^sudo apt-get install .*\bprometheus\b", line) for line in run_lines(workflow)
    )
    by_action = {
        str(step.get("uses", "")).split("@")[0]: step.get("with", {}) for _, step in steps(workflow)
    }
    assert by_action["actions/setup-python"]["cache"] == "pip"
    assert by_action["actions/setup-python"]["cache-dependency-path"] == "requirements.txt"
    cached = by_action["actions/cache"]["path"].split()
    assert {"_build/.jupyter_cache", "_build/.cache-key"} <= set(cached)
    uploaded = by_action["actions/upload-artifact"]["path"].split()
    assert "_build/html" in uploaded and "test-artifacts" in uploaded  # site + browser screenshots
    assert by_action["actions/checkout"].get("persist-credentials") is False


# --- the weekly run against the newest releases -------------------------------------------------


def action_pins(workflow: Workflow) -> dict[str, str]:
    """{action: commit SHA} of every step that uses one."""
    return dict(str(step["uses"]).split("@", 1) for _, step in steps(workflow) if "uses" in step)


def pins_differing_from_ci(workflow: Workflow) -> list[str]:
    """An action pinned to another commit than in ci.yml is a second version to review and
    update; the newest-releases run must differ from CI in its packages only."""
    ci = action_pins(load_workflow(CI_WORKFLOW))
    return [
        f"{action}@{sha} is not ci.yml's {action}@{ci.get(action)}"
        for action, sha in action_pins(workflow).items()
        if ci.get(action) != sha
    ]


def test_newest_workflow_runs_make_test_newest_weekly_and_by_hand() -> None:
    workflow = load_workflow(NEWEST_WORKFLOW)
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}, "never on push: not a gate"
    (schedule,) = workflow["on"]["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert day == month == "*" and weekday not in {"*", ""}, f"not weekly: {schedule['cron']}"
    assert workflow["permissions"] == {"contents": "read"}, "it reports by failing, not by writing"
    assert "make test-newest" in run_lines(workflow)
    assert action_pins(workflow), "no action found: the pin comparison would be vacuous"
    assert pins_differing_from_ci(workflow) == []


def test_the_pin_comparison_catches_another_sha() -> None:
    workflow = copy.deepcopy(load_workflow(NEWEST_WORKFLOW))
    workflow["jobs"]["test-newest"]["steps"][0]["uses"] = "actions/checkout@" + "0" * 40
    assert pins_differing_from_ci(workflow)


def test_test_newest_installs_requirements_in_without_its_pins(tmp_path: Path) -> None:
    """The file `make test-newest` installs: every package of requirements.in, no version."""
    venv = tmp_path / "venv-newest"
    subprocess.run(
        ["make", "--silent", f"NEWEST_VENV={venv}", f"{venv}/requirements-newest.txt"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )

    def names(path: Path) -> list[str]:
        lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        return [re.split(r"[=<>~!;\[ ]", line, maxsplit=1)[0] for line in lines if line]

    unpinned = (venv / "requirements-newest.txt").read_text()
    assert "==" not in unpinned, unpinned
    assert names(venv / "requirements-newest.txt") == names(REPO_ROOT / "requirements.in")
    assert len(names(REPO_ROOT / "requirements.in")) > 10


def test_makefile_installs_the_requirements_it_is_given() -> None:
    """`make test REQUIREMENTS=...` must install that file, or test-newest would test the lock."""
    dry = subprocess.run(
        ["make", "-n", "venv", "VENV=/nonexistent-venv", "REQUIREMENTS=pyproject.toml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in dry.splitlines() if "/nonexistent-venv/bin/uv pip install" in line]
    assert any(line.endswith("-r pyproject.toml") for line in installs), dry
    assert "-r requirements.txt" not in dry, dry
    # uv itself is pinned like everything else, and it compiles bytecode as pip would.
    assert re.search(r"pip install .*uv==\d+\.\d+\.\d+", dry), dry
    assert all("--compile-bytecode" in line for line in installs), dry


# --- zizmor: a security audit of the workflows, offline ------------------------------------------

ML_PIPELINE = WORKFLOW_DIR / "ml-pipeline.yml"
BOOK_WORKFLOW = WORKFLOW_DIR / "book.yml"


def zizmor(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    """Run zizmor's offline audits (no GitHub API) and return its exit code and findings."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "zizmor"),
            *("--offline", "--no-progress", "--no-config", "--format", "json"),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "[]")


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    """Pinned actions, no template injection, least privilege, no persisted credentials..."""
    code, findings = zizmor(*WORKFLOWS)
    problems = [
        f"{f['ident']}: {f['desc']} ({f['locations'][0]['symbolic']['key']})" for f in findings
    ]
    assert code == 0 and not problems, "\n".join(problems)


def test_zizmor_catches_a_deliberately_bad_workflow(tmp_path: Path) -> None:
    """Proves the audit is live: an unpinned action, a PR title pasted into a script, no
    `permissions` and persisted credentials are each reported, and the exit code says so."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: [pull_request]\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v5\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n',
        encoding="utf-8",
    )
    code, findings = zizmor(bad)
    assert code != 0
    found = {f["ident"] for f in findings}
    assert {"unpinned-uses", "template-injection", "excessive-permissions", "artipacked"} <= found


# --- the ML pipeline and the book deployment -----------------------------------------------------


def test_ml_pipeline_runs_when_data_params_or_model_code_change() -> None:
    workflow = load_workflow(ML_PIPELINE)
    for event in ("push", "pull_request"):
        paths = set(workflow["on"][event]["paths"])
        assert {"data/**", "params.yaml", "dvc.yaml", "dvc.lock", "src/**"} <= paths, event
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False, "never cancel a deployment"


def test_ml_pipeline_order_train_gate_image_staging_production() -> None:
    jobs = load_workflow(ML_PIPELINE)["jobs"]
    assert list(jobs) == ["train-and-gate", "image", "staging", "production"]
    assert jobs["image"]["needs"] == "train-and-gate"
    assert jobs["staging"]["needs"] == "image"
    assert "staging" in jobs["production"]["needs"]
    commands = [
        line
        for _, step in steps({"jobs": {"t": jobs["train-and-gate"]}})
        for line in str(step.get("run", "")).splitlines()
    ]
    order = [c for c in commands if c.startswith("make ") and c != "make venv"]
    assert order[:3] == ["make pipeline", "make model-tests", "make gate"], order


def test_ml_pipeline_environments_and_least_privilege() -> None:
    """Only the image job may write packages; staging and production are GitHub environments, so
    production waits for its required reviewers; pull requests never build or deploy."""
    workflow = load_workflow(ML_PIPELINE)
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}
    for name in ("train-and-gate", "staging", "production"):
        assert jobs[name]["permissions"] == {"contents": "read"}, name
    assert jobs["staging"]["environment"]["name"] == "staging"
    assert jobs["production"]["environment"]["name"] == "production"
    assert jobs["image"]["if"] == "github.event_name != 'pull_request'"
    assert "secrets.MLFLOW_TRACKING_URI" in jobs["train-and-gate"]["env"]["MLFLOW_TRACKING_URI"]


def test_ml_pipeline_builds_the_api_dockerfile_and_pushes_to_ghcr() -> None:
    workflow = load_workflow(ML_PIPELINE)
    dockerfile = workflow["env"]["API_DOCKERFILE"]
    assert (REPO_ROOT / dockerfile).is_file(), f"{dockerfile} does not exist"
    assert workflow["env"]["IMAGE_REPOSITORY"].startswith("ghcr.io/")
    build = next(
        step
        for _, step in steps(workflow)
        if str(step.get("uses", "")).startswith("docker/build-push-action@")
    )
    assert build["with"]["file"] == "${{ env.API_DOCKERFILE }}" and build["with"]["push"] is True


def test_book_workflow_deploys_pages_with_minimal_permissions() -> None:
    workflow = load_workflow(BOOK_WORKFLOW)
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert "make book" in run_lines({"jobs": {"build": jobs["build"]}})
    uses = [str(step.get("uses", "")).split("@")[0] for _, step in steps(workflow)]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    upload = next(s for _, s in steps(workflow) if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert jobs["deploy"]["environment"]["name"] == "github-pages"
