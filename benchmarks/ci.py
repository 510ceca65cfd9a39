"""Time every part of ``make test``, the course's CI, and write ``benchmarks/results/ci.json``.

The budget is 20 minutes on a 2-core machine. Timing each target separately shows which part to
make faster when the total grows. The Sphinx environment is cleared first, so the book is built
from scratch as on a fresh clone (in ``make test`` it renders the outputs nbval has just checked).

Run from the repository root: ``python benchmarks/ci.py`` (takes as long as ``make test``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import machine
from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "ci.json"


def make_test_targets() -> list[str]:
    """The prerequisites of ``make test``, in the Makefile's order (read, so they cannot drift)."""
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("test:"):
            prerequisites = line.split(":", 1)[1].split("##", 1)[0].split()
            return [target for target in prerequisites if not target.startswith("$")]
    raise SystemExit("the Makefile has no `test:` target")


def main() -> int:
    console = Console()
    shutil.rmtree(REPO / "_build" / ".doctrees", ignore_errors=True)
    results: dict[str, object] = {}
    total = 0.0
    for target in make_test_targets():
        with console.status(f"make {target}"):
            start = time.perf_counter()
            done = subprocess.run(["make", target], cwd=REPO, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            console.print(done.stdout[-3000:], done.stderr[-3000:])
            console.print(f"[red]make {target} failed[/]: no results written")
            return 1
        console.print(f"make {target}: {seconds:.0f} s")
        results[f"seconds_{target.replace('-', '_')}"] = round(seconds, 1)
        total += seconds
    results["seconds_make_test"] = round(total, 1)
    results["budget_seconds"] = 1200
    results["machine"] = machine()
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(REPO)}: make test {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
