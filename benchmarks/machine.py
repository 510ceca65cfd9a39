"""The machine a benchmark ran on, written next to its figures.

Numbers from different machines must not be compared blindly, so every results file names the
core count and the CPU. Imported by the scripts in this folder (``python benchmarks/<name>.py``
puts the folder on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or what ``platform`` knows elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    """``{"cores": ..., "cpu_model": ...}`` for a results file."""
    return {"cores": os.cpu_count(), "cpu_model": cpu_model()}
