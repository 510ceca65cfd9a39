"""The package type-checks: mypy (pinned, configured in pyproject.toml) finds nothing in src/.

Run as a test so that it runs in parallel with the others in `make test` (and alone in `make
check`). Every ``type: ignore`` in src/ must say why, on its line or the line above.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_src_type_checks() -> None:
    done = _mypy()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def test_the_type_check_catches_a_planted_error(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def half(x: int) -> int:\n    return x / 2\n")
    done = _mypy(str(planted))
    assert done.returncode == 1 and "planted.py:2: error" in done.stdout, done.stdout


def _unexplained_ignores(lines: list[str]) -> list[int]:
    unexplained = []
    for number, line in enumerate(lines, start=1):
        if "type: ignore" not in line:
            continue
        after = line.split("type: ignore", 1)[1]
        said_here = re.search(r"#\s*\S", after) is not None
        said_above = number > 1 and lines[number - 2].strip().startswith("#")
        if not (said_here or said_above):
            unexplained.append(number)
    return unexplained


def test_every_type_ignore_says_why() -> None:
    unexplained = {
        str(path.relative_to(REPO)): numbers
        for path in sorted((REPO / "src").rglob("*.py"))
        if (numbers := _unexplained_ignores(path.read_text().splitlines()))
    }
    assert unexplained == {}


def test_an_unexplained_ignore_is_found() -> None:
    assert _unexplained_ignores(["x = 1", "y: int = 'a'  # type: ignore[assignment]"]) == [2]
    assert _unexplained_ignores(["# a str on purpose", "y: int = 'a'  # type: ignore"]) == []
