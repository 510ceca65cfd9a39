"""Time ``make test``, the course's CI, fresh and warm, and write ``benchmarks/results/ci.json``.

The budget is 600 s for a fresh clone (the virtual environment created from the lock, with a warm
uv cache) and 420 s warm (``.venv`` present, nothing changed), on a 2-core machine. ``make test``
runs every suite in one pytest session spread over the cores, so its total is less than the sum
of the suites; each suite is also timed alone (``make unit``, ``make grading``, ...) to show
which part to make faster when the total grows.

- fresh: ``git clone`` of the committed HEAD into a temporary folder, then ``make test`` there
  (creating ``.venv`` is part of it, and timed on its own as ``make venv`` first);
- warm: ``make test`` in this checkout, the Sphinx environment cleared first so the book is built
  from scratch as on a fresh clone;
- per suite, the seconds its tests took inside the warm run (``--durations=0``, summed over the
  workers, so they add up to about the workers times the wall time): where the time goes;
- with ``--suites-alone``, each suite also run alone, warm (``make unit``, ...).

Run from the repository root: ``python benchmarks/ci.py`` (about two ``make test``s);
``--skip-fresh`` leaves the fresh run out (its old figures are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import machine
from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ci.json"
BUDGET_FRESH = 600
BUDGET_WARM = 420
console = Console()


def suites() -> list[str]:
    """The suites of ``make test``, from the Makefile's ``SUITES`` (read, so they cannot drift)."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    found = re.search(r"^SUITES :?= (.+)$", text, flags=re.MULTILINE)
    if not found:
        raise SystemExit("the Makefile has no `SUITES :=` line")
    return found.group(1).split()


def timed_make(target: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Seconds ``make target`` took in ``cwd``, and its output; exits when it fails."""
    with console.status(f"make {target} in {cwd}"):
        start = time.perf_counter()
        done = subprocess.run(["make", target], cwd=cwd, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        console.print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"make {target} failed in {cwd}: no results written")
    console.print(f"make {target}: {seconds:.0f} s")
    return seconds, done.stdout


def passed_count(output: str) -> int:
    """The number of passed tests (notebook cells included) in pytest's closing line."""
    found = re.findall(r"(\d+) passed", output)
    if not found:
        raise SystemExit("make test printed no pytest summary line")
    return int(found[-1])


def suite_seconds(output: str) -> dict[str, float]:
    """Seconds of test time per suite (tests/<suite>/; nbval for notebooks/), ``--durations=0``."""
    seconds: dict[str, float] = {}
    for found in re.finditer(r"^([\d.]+)s (?:call|setup|teardown)\s+(\S+?)::", output, re.M):
        parts = found.group(2).split("/")
        suite = parts[1] if parts[0] == "tests" and len(parts) > 2 else "nbval"
        seconds[suite] = seconds.get(suite, 0.0) + float(found.group(1))
    return {suite: round(value, 1) for suite, value in sorted(seconds.items())}


def forked_count(output: str) -> int:
    """How many processes make test's fork server forked (tests/conftest.py prints the line)."""
    found = re.search(r"^fork server: (\d+) processes forked", output, re.M)
    return int(found.group(1)) if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-fresh", action="store_true", help="keep the old fresh figures")
    parser.add_argument(
        "--skip-warm",
        action="store_true",
        help="keep the old warm figures (e.g. to time a fresh clone once the images are current)",
    )
    parser.add_argument("--suites-alone", action="store_true", help="also time each suite alone")
    parser.add_argument(
        "--without-forkserver",
        action="store_true",
        help="also time the warm run with every process started as an ordinary one",
    )
    args = parser.parse_args()
    old: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    kept = [
        prefix
        for prefix, skip in [
            ("seconds_fresh_", args.skip_fresh),
            ("seconds_alone_", not args.suites_alone),
            ("seconds_warm_make_test_without_forkserver", not args.without_forkserver),
            ("seconds_warm_", args.skip_warm),
            ("test_seconds_in_warm_run_", args.skip_warm),
            ("tests_and_notebook_cells_passed", args.skip_warm),
            ("processes_forked_in_warm_run", args.skip_warm),
        ]
        if skip
    ]
    results = {key: value for key, value in old.items() if key.startswith(tuple(kept or ["-"]))}

    if not args.skip_fresh:
        with tempfile.TemporaryDirectory(prefix="mlops-course-fresh-") as scratch:
            clone = Path(scratch) / "mlops-course"
            subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
            venv, _ = timed_make("venv", clone)
            test, _ = timed_make("test", clone)
        results["seconds_fresh_venv"] = round(venv, 1)
        results["seconds_fresh_make_test"] = round(venv + test, 1)

    if args.skip_warm:
        return write(results)
    shutil.rmtree(REPO / "_build" / ".doctrees", ignore_errors=True)
    env = {**os.environ, "PYTEST_ADDOPTS": "--durations=0"}
    warm, output = timed_make("test", REPO, env)
    results["seconds_warm_make_test"] = round(warm, 1)
    results["tests_and_notebook_cells_passed"] = passed_count(output)
    results["processes_forked_in_warm_run"] = forked_count(output)
    results["workers"] = os.cpu_count() or 1
    for suite, seconds in suite_seconds(output).items():
        results[f"test_seconds_in_warm_run_{suite}"] = seconds

    if args.without_forkserver:  # right after the warm run, so both see the same machine
        seconds, _ = timed_make("test", REPO, {**env, "MLOPS_FORKSERVER": "off"})
        results["seconds_warm_make_test_without_forkserver"] = round(seconds, 1)

    if args.suites_alone:
        for suite in suites():
            seconds, _ = timed_make(suite, REPO)
            results[f"seconds_alone_{suite.replace('-', '_')}"] = round(seconds, 1)

    return write(results)


def write(results: dict[str, object]) -> int:
    """Add the budgets, the machine and the date; write ``RESULTS``."""
    results["budget_fresh_seconds"] = BUDGET_FRESH
    results["budget_warm_seconds"] = BUDGET_WARM
    results["machine"] = machine()
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
