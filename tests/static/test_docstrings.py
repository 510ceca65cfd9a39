"""The package functions the notebooks call document their parameters (numpydoc, like scikit-learn).

A learner meets the package in the notebooks: what they call there must explain itself in
``help()`` and in JupyterLab's tooltip. The functions are found from the notebooks' own imports
(``from mlops_course.x import f`` and ``module.f`` after ``from mlops_course import module``), so
a function a new notebook starts to call is held to the same rule.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _code_cells(notebook: Path) -> list[ast.Module]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    trees = []
    for cell in cells:
        if cell["cell_type"] == "code":
            try:
                trees.append(ast.parse("".join(cell["source"])))
            except SyntaxError:  # a cell with IPython magics
                continue
    return trees


def called_functions(notebooks: list[Path]) -> dict[str, object]:
    """Every mlops_course function the notebooks import or call through an imported module."""
    found: dict[str, object] = {}
    for notebook in notebooks:
        trees = _code_cells(notebook)
        modules: dict[str, str] = {}
        for tree in trees:
            for node in ast.walk(tree):
                if not (isinstance(node, ast.ImportFrom) and node.module):
                    continue
                if not node.module.startswith("mlops_course"):
                    continue
                for alias in node.names:
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                        modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                    except ImportError:
                        obj = getattr(importlib.import_module(node.module), alias.name)
                        found[f"{node.module}.{alias.name}"] = obj
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    module = modules.get(node.value.id)
                    if module is not None:
                        obj = getattr(importlib.import_module(module), node.attr, None)
                        if obj is not None:
                            found[f"{module}.{node.attr}"] = obj
    return {name: obj for name, obj in found.items() if inspect.isfunction(obj)}


def undocumented_parameters(function: object) -> list[str]:
    """The parameters of ``function`` that its docstring's Parameters section does not name."""
    assert inspect.isfunction(function)
    doc = inspect.getdoc(function) or ""
    if "Parameters\n----------" not in doc:
        section = ""
    else:
        section = doc.split("Parameters\n----------", 1)[1]
        for end in ("\nReturns\n", "\nRaises\n", "\nYields\n", "\nExamples\n", "\nNotes\n"):
            section = section.split(end, 1)[0]
    named = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):
            named |= {part.strip().lstrip("*") for part in line.split(":")[0].split(",")}
    parameters = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("self", "cls")
    ]
    return [name for name in parameters if name not in named]


def test_every_function_a_notebook_calls_documents_its_parameters() -> None:
    notebooks = sorted((REPO / "notebooks").rglob("*.ipynb"))
    functions = called_functions(notebooks)
    assert len(functions) > 20, "the notebooks' functions were not found: the check would be empty"
    missing = {
        name: undocumented
        for name, function in sorted(functions.items())
        if (undocumented := undocumented_parameters(function))
    }
    assert missing == {}, "document these parameters (numpydoc 'Parameters' section)"


def test_an_undocumented_parameter_is_found() -> None:
    def documented(day: int, *, seed: int | None = None) -> None:
        """Summary.

        Parameters
        ----------
        day
            The day.
        seed
            The seed.
        """

    def half_documented(day: int, seed: int | None = None) -> None:
        """Summary.

        Parameters
        ----------
        day : int
            The day.
        """

    def undocumented(day: int) -> None:
        """Summary, and the day is mentioned only in prose."""

    assert undocumented_parameters(documented) == []
    assert undocumented_parameters(half_documented) == ["seed"]
    assert undocumented_parameters(undocumented) == ["day"]
