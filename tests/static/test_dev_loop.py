"""The edit loop: pre-commit's hooks are valid and local, `make check` runs the fast checks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_pre_commit_config_is_valid_and_needs_no_network() -> None:
    config = REPO / ".pre-commit-config.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    repos = yaml.safe_load(config.read_text())["repos"]
    assert [r["repo"] for r in repos] == ["local"], "a remote hook repo would be cloned online"
    entries = " | ".join(h["entry"] for r in repos for h in r["hooks"])
    for needed in ("ruff check", "ruff format", "labs generate --check", "mypy"):
        assert needed in entries, f"pre-commit should run {needed!r}"


def test_make_check_runs_lint_types_labs_and_unit_tests() -> None:
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"^check: (.*)$\n\t(.*)$", makefile, re.MULTILINE)
    assert rule is not None, "make check is missing"
    prerequisites, recipe = rule.group(1), rule.group(2)
    for target in ("lint", "types", "labs-check"):
        assert target in prerequisites.split("##")[0].split()
    assert "tests/unit" in recipe
