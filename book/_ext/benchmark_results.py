"""Sphinx extension: show a benchmark's latest results from ``benchmarks/results/<name>.json``.

Benchmarks run on demand (``python benchmarks/<name>.py``), never inside ``make test``, and write a
flat JSON object of named figures plus the machine they ran on. The book renders that file at build
time, so the published numbers are always the latest measured ones and never retyped by hand.

Usage::

    :::{benchmark-results} serving
    :::
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_format(v) for v in value)
    return str(value)


def _table(rows: list[tuple[str, str]]) -> nodes.table:
    table = nodes.table(classes=["benchmark-results"])
    group = nodes.tgroup(cols=2)
    table += group
    group += nodes.colspec(colwidth=1)
    group += nodes.colspec(colwidth=2)
    head = nodes.thead()
    group += head
    header = nodes.row()
    for title in ("figure", "value"):
        header += nodes.entry("", nodes.paragraph(text=title))
    head += header
    body = nodes.tbody()
    group += body
    for name, value in rows:
        row = nodes.row()
        row += nodes.entry("", nodes.paragraph("", "", nodes.literal(text=name)))
        row += nodes.entry("", nodes.paragraph(text=value))
        body += row
    return table


class BenchmarkResults(SphinxDirective):
    """A table of every figure in one results file, with the machine and date it was measured."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = Path(self.env.srcdir) / "benchmarks" / "results" / f"{name}.json"
        self.env.note_dependency(str(path))
        if not path.is_file():
            raise self.error(
                f"no results in benchmarks/results/{name}.json: run `python benchmarks/{name}.py`"
            )
        results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        machine = results.pop("machine", None)
        measured = results.pop("date", None)
        rows = [(key, _format(value)) for key, value in results.items()]
        out: list[nodes.Node] = [_table(rows)]
        where = []
        if machine:
            where.append(f"Machine: {_format(machine)}.")
        if measured:
            where.append(f"Measured: {measured}.")
        if where:
            out.append(nodes.paragraph(text=" ".join(where)))
        return out


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("benchmark-results", BenchmarkResults)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
