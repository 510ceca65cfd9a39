"""Shared fixtures of the project-template tests: generated projects, made once per session.

Generating a project takes a fifth of a second, but running one (its tests, `dvc repro`, its
API) takes many seconds on a small machine, so the expensive projects are session fixtures that
several tests share.
"""

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from mlops_course.template import CHECKOUT_TEMPLATE

VENV_BIN = Path(sys.executable).parent
BOOLEAN_OPTIONS = ("include_kubernetes", "include_grafana", "include_retraining")
# Every combination of the answers that change which files exist or what the code does. The
# Python version only changes version strings (pyproject.toml, Dockerfile, Makefile, workflows),
# all of which the all-options project has, so 3.12 is generated with all options on, per type.
COMBINATIONS = [
    {
        "problem_type": problem_type,
        "python_version": "3.11",
        **dict(zip(BOOLEAN_OPTIONS, flags, strict=True)),
    }
    for problem_type in ("regression", "classification")
    for flags in itertools.product((True, False), repeat=len(BOOLEAN_OPTIONS))
] + [
    {"problem_type": problem_type, "python_version": "3.12", **dict.fromkeys(BOOLEAN_OPTIONS, True)}
    for problem_type in ("regression", "classification")
]


def combination_id(answers: dict[str, Any]) -> str:
    """For example `regression-py3.11-kgr` (all options) or `classification-py3.11-___` (none)."""
    letters = zip("kgr", BOOLEAN_OPTIONS, strict=True)
    flags = "".join(letter if answers[name] else "_" for letter, name in letters)
    return f"{answers['problem_type']}-py{answers['python_version']}-{flags}"


def generate(dst: Path, answers: dict[str, Any] | None = None) -> Path:
    """Render the template straight from template/ (no git needed) with the given answers."""
    run_copy(
        str(CHECKOUT_TEMPLATE), dst, data=answers or {}, defaults=True, quiet=True, unsafe=False
    )
    return dst


def project_env(tmp: Path) -> dict[str, str]:
    """The environment a generated project runs in: the course venv first on PATH, offline,
    quiet, and one OpenMP thread (the machine is shared)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FORCE_COLOR", "CLICOLOR_FORCE", "MLFLOW_TRACKING_URI", "VIRTUAL_ENV"}
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DVC_NO_ANALYTICS="1",
        OMP_NUM_THREADS="1",
        NO_COLOR="1",
        HOME=str(tmp / "home"),  # git and dvc must not read or write the user's configuration
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="learner",
        GIT_AUTHOR_EMAIL="learner@localhost",
        GIT_COMMITTER_NAME="learner",
        GIT_COMMITTER_EMAIL="learner@localhost",
    )
    (tmp / "home").mkdir(exist_ok=True)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    """Run a command of the generated project; on failure, the assertion shows its output."""
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"`{' '.join(cmd)}` failed ({result.returncode}) in {cwd}:\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def all_combinations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated project per answer combination, keyed by `combination_id`."""
    root = tmp_path_factory.mktemp("combinations")
    return {
        combination_id(answers): generate(root / combination_id(answers), answers)
        for answers in COMBINATIONS
    }


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project `--defaults` makes, in a git repository with DVC initialised, as a learner
    would set it up."""
    tmp = tmp_path_factory.mktemp("default")
    project = generate(tmp / "my-project")
    env = project_env(tmp)
    run(["git", "init", "--quiet"], project, env)
    run([str(VENV_BIN / "dvc"), "init", "--quiet"], project, env)
    yield project
    shutil.rmtree(tmp, ignore_errors=True)
