"""Sphinx extension: the "at a glance" box of a page (estimated time and the page's graded labs).

Every chapter page and notebook starts with the same box, so a learner sees at once how long a page
takes and which labs practise it. Lab titles and minutes are read from the lab's solution notebook
(``metadata.mlops_course``), the single source of truth, so the book never shows a stale title; a
lab that does not exist is a build warning, which ``make book`` (``-W``) turns into an error.

Usage in MyST Markdown (and in a notebook's markdown cell)::

    :::{page-meta}
    :time: 25 min
    :labs: stage1/01_validation_checks stage1/02_data_versions
    :::
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

DEFAULT_REPOSITORY = "https://github.com/mlops-course/mlops-course"


def _lab_metadata(root: Path, lab: str) -> dict[str, Any] | None:
    solution = root / "solutions" / f"{lab}.ipynb"
    if not solution.is_file():
        return None
    notebook = json.loads(solution.read_text(encoding="utf-8"))
    return notebook.get("metadata", {}).get("mlops_course")


class PageMeta(SphinxDirective):
    """Render the estimated time and the linked labs of a page as one admonition."""

    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {
        "time": directives.unchanged_required,
        "labs": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        time = self.options.get("time", "").strip()
        if not time:
            raise self.error("page-meta needs :time: (for example `:time: 20 min`)")
        box = nodes.admonition(classes=["page-meta", "tip"])
        box += nodes.title(text="At a glance")
        box += nodes.paragraph(text=f"Estimated time: {time} (reading and running the code).")

        labs = self.options.get("labs", "").replace(",", " ").split()
        if labs:
            box += self._labs(labs)
        return [box]

    def _labs(self, labs: list[str]) -> list[nodes.Node]:
        theme = self.config.html_theme_options or {}
        repository = str(theme.get("repository_url") or DEFAULT_REPOSITORY).rstrip("/")
        branch = str(theme.get("repository_branch") or "main")
        root = Path(self.env.srcdir)
        items = nodes.bullet_list()
        for lab in labs:
            meta = _lab_metadata(root, lab)
            if meta is None:
                self.reporter.warning(
                    f"page-meta: no lab solutions/{lab}.ipynb; labs are named by their path "
                    "under solutions/ without .ipynb, e.g. stage1/01_validation_checks",
                    line=self.lineno,
                )
                continue
            url = f"{repository}/blob/{branch}/labs/{lab}.ipynb"
            line = nodes.paragraph()
            line += nodes.reference("", meta.get("title", lab), refuri=url, internal=False)
            line += nodes.Text(f" ({meta.get('minutes', '?')} min, graded): ")
            line += nodes.literal(text=f"labs/{lab}.ipynb")
            items += nodes.list_item("", line)
        intro = nodes.paragraph()
        intro += nodes.Text("Practise it in these graded labs. Open them locally with ")
        intro += nodes.literal(text="make lab")
        intro += nodes.Text(
            " (JupyterLab with the course kernel); the checks under each exercise tell you "
            "how you are doing."
        )
        return [intro, items]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("page-meta", PageMeta)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
