"""Shared fixtures of the static checks of docker/ and .github/.

Everything here runs offline: the schemas are the ones vendored inside check-jsonschema (never
fetched), and the linters are local executables.
"""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

CheckJsonschema = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def repo_root() -> Path:
    """The repository root, so tests do not depend on the directory pytest was started from."""
    return REPO_ROOT


@pytest.fixture
def check_jsonschema() -> CheckJsonschema:
    """Run check-jsonschema with one of its vendored schemas and return the finished process.

    Only `--builtin-schema` is offered: a schema given by URL would be downloaded, and the tests
    must pass without a network.
    """

    def run(builtin_schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                builtin_schema,
                "--color",
                "never",
                *map(str, files),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run
