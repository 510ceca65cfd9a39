"""Sphinx extension: show a command and its output as ``make containers`` recorded them.

Usage::

    :::{container-recording} api-inspect
    :::

renders ``$ <command>`` and its output from ``book/recorded/containers.json``, with a caption
that says it is a recording, when, with which engine, and of which ``docker/`` (a hash that
tests/static/test_recordings.py holds to the current files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class ContainerRecording(SphinxDirective):
    """One recorded command with its output and where the recording came from."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = Path(self.env.srcdir) / "book" / "recorded" / "containers.json"
        self.env.note_dependency(str(path))
        if not path.is_file():
            raise self.error("no book/recorded/containers.json: run `make containers`")
        recording = json.loads(path.read_text(encoding="utf-8"))
        entry = recording["entries"].get(name)
        if entry is None:
            raise self.error(f"{path.name} has no entry {name!r}: run `make containers`")
        text = f"$ {entry['command']}\n{entry['output']}"
        block = nodes.literal_block(text, text, classes=["container-recording"])
        block["language"] = "console"
        caption = nodes.paragraph(
            text=f"Recorded by make containers on {recording['date']} with {recording['engine']}, "
            f"docker/ at {recording['docker_hash']}."
        )
        return [block, caption]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("container-recording", ContainerRecording)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
