"""The book's recorded container sessions are of today's docker/, and every one it shows exists.

``make containers`` records commands and their output (book/recorded/containers.json) for readers
without a container engine; the recording carries a hash of docker/. A change to docker/ without
a new recording fails here, so the book never shows the output of files that no longer exist.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from mlops_course.containers.recording import RECORDING, docker_hash

REPO = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"^:::\{container-recording\} (\S+)$", re.MULTILINE)


def _recording() -> dict:
    return json.loads((REPO / RECORDING).read_text(encoding="utf-8"))


def test_the_recording_is_of_the_current_docker_folder() -> None:
    recorded = _recording()["docker_hash"]
    assert recorded == docker_hash(REPO), (
        f"{RECORDING} was recorded from another docker/ (hash {recorded}, now "
        f"{docker_hash(REPO)}): run `make containers` and commit the new recording"
    )


def test_the_hash_changes_with_any_byte_or_name_under_docker(tmp_path: Path) -> None:
    shutil.copytree(REPO / "docker", tmp_path / "docker")
    before = docker_hash(tmp_path)
    assert before == docker_hash(REPO)
    compose = tmp_path / "docker" / "docker-compose.yml"
    compose.write_bytes(compose.read_bytes() + b" ")
    assert docker_hash(tmp_path) != before
    compose.write_bytes(compose.read_bytes()[:-1])
    compose.rename(compose.with_name("compose.yml"))
    assert docker_hash(tmp_path) != before


def test_every_recording_the_book_shows_was_recorded() -> None:
    shown = {
        name
        for page in (REPO / "book").rglob("*.md")
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }
    entries = _recording()["entries"]
    assert shown, "no page shows a recording"
    assert shown <= set(entries), f"not recorded: {sorted(shown - set(entries))}"
    for name in shown:
        assert entries[name]["command"] and entries[name]["output"], f"{name} is empty"
