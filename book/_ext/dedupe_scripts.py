"""Sphinx extension: drop duplicated script tags from every page.

sphinx-thebe registers its inline configuration script once per read phase, and a Jupyter Book
build can run that phase twice, so pages got `const THEBE_JS_URL = ...` twice and browsers
reported "Identifier 'THEBE_JS_URL' has already been declared" on every page (caught by
tests/book/test_browser.py). Keeping the first copy of each identical script fixes it.
"""

from __future__ import annotations

from typing import Any


def _dedupe(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        name = str(getattr(script, "filename", None) or "")  # inline scripts: None or ""
        key = (name, str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
