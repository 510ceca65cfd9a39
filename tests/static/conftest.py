"""Shared fixtures of the static checks of docker/ and .github/.

Everything here runs offline: the schemas are the ones vendored inside check-jsonschema (never
fetched), and the linters are local executables.
"""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

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
    must pass without a network. Its command runs in this process (click's runner: the same
    arguments, exit code and messages as ``python -m check_jsonschema``): a process of its own
    cost about two seconds of CPU for the import alone, and the static checks run it 18 times.
    """
    from check_jsonschema import main

    def run(builtin_schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
        args = ["--builtin-schema", builtin_schema, "--color", "never", *map(str, files)]
        result = CliRunner().invoke(main, args, prog_name="check-jsonschema")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(
            ["check-jsonschema", *args], result.exit_code, result.stdout, result.stderr
        )

    return run
