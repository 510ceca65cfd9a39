"""Recorded container sessions: what ``make containers`` saw, for a book built without an engine.

The stage 2 and 3 pages show an image being built and inspected, a container answering, a pod
being played. A reader's laptop (and the machine that publishes the site) may have no container
engine, so ``make containers`` records each command and its real output while it runs them, and
the book renders the recording (``{container-recording}``), labelled with the date, the engine and
a hash of ``docker/``. When ``docker/`` changes, the hash no longer matches and a test fails
until ``make containers`` records again: a recording is never silently older than the files it
shows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RECORDING = Path("book") / "recorded" / "containers.json"
"""Where the recording lives, relative to the repository."""


def docker_hash(repo: Path) -> str:
    """A short SHA-256 over every file of ``repo/docker`` (paths and contents, in a fixed order)."""
    digest = hashlib.sha256()
    for path in sorted((repo / "docker").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class Recorder:
    """Collects ``(command, output)`` entries by name, then writes them with their provenance."""

    repo: Path
    engine: str
    entries: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, command: str, output: str) -> None:
        """Keep one command and what it printed under ``name`` (the book refers to the name).

        Parameters
        ----------
        name
            The entry's name, e.g. ``api-inspect``.
        command
            The command as a reader would type it.
        output
            What it printed, trimmed of trailing blank lines.
        """
        self.entries[name] = {"command": command, "output": output.rstrip()}

    def write(self) -> Path:
        """Write the recording (`RECORDING`) with today's date and the hash of ``docker/``."""
        path = self.repo / RECORDING
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "engine": self.engine,
            "docker_hash": docker_hash(self.repo),
            "entries": self.entries,
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path
