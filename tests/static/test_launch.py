"""The launch configurations (Codespaces, Binder) install the same pinned environment as CI.

A learner who clicks "launch" must get the course as tested: the same ``requirements.txt``, the same
Python and the same Debian packages as ``.ci/run``. Nothing here can be run offline, so these checks
compare the files with the ones CI does run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _jsonc(path: Path) -> dict:
    """devcontainer.json allows // comments (JSONC); strip whole-line ones and parse."""
    lines = [line for line in path.read_text().splitlines() if not line.strip().startswith("//")]
    return json.loads("\n".join(lines))


def _ci_apt_packages() -> set[str]:
    script = (REPO / ".ci" / "run").read_text()
    block = script.split("apt-get install", 1)[1].split(">/dev/null", 1)[0]
    return {word for word in block.replace("\\", " ").split() if not word.startswith("-")}


def test_devcontainer_builds_the_ci_environment() -> None:
    config = _jsonc(REPO / ".devcontainer" / "devcontainer.json")
    assert "3.11" in config["image"], "the dev container must use the Python of pyproject.toml"
    assert config["postCreateCommand"] == "make venv", "install exactly what CI installs"
    installed = set(config["onCreateCommand"].split())
    missing = _ci_apt_packages() - installed - {"make", "git"}  # both are in the base image
    assert not missing, f"Debian packages CI installs but the dev container does not: {missing}"
    assert config["containerEnv"]["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_binder_installs_the_pinned_lock_and_the_package() -> None:
    binder = REPO / "binder"
    requirements = [
        line
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert requirements == ["-r ../requirements.txt"]
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    assert "pip install --no-deps -e ." in (binder / "postBuild").read_text()
    apt = set((binder / "apt.txt").read_text().split())
    assert {"prometheus", "bubblewrap"} <= apt <= _ci_apt_packages()


def test_book_launch_button_points_at_binder() -> None:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert re.match(r"https://github\.com/[\w.-]+/[\w.-]+$", config["repository"]["url"])
