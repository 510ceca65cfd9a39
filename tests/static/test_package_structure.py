"""The package keeps its shape: imports flow one way, functions stay short, columns have one home.

Read from the source (AST), not by importing it, so a cycle or a slow import cannot hide a
violation. Each rule is also run on a planted violation, so a rule that cannot fail is caught.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mlops_course"

LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: what everything may use: the data contract, settings, exit codes, metrics, helpers
    (
        "mlops_course",
        "schema",
        "settings",
        "exits",
        "lazy",
        "evaluate",
        "http_client",
        "forkserver",
    ),
    # 1: data (the simulator, collection, validation, leakage checks)
    ("data",),
    # 2: model inputs
    ("features",),
    # 3: monitoring's statistics, which training (the reference) and serving (drift) use too
    (
        "monitoring.drift",
        "monitoring.gauges",
        "monitoring.trips",
        "monitoring.online",
        "monitoring.reference",
        "monitoring.quality",
        "monitoring.performance",
    ),
    # 4: models: saving and loading, tracking, training, the gate, the registry
    ("model_io", "tracking", "train", "gate", "registry"),
    # 5: starting and stopping processes, and building and running containers
    ("services", "containers"),
    # 6: the model API
    ("serving",),
    # 7: monitoring over time: backtests and reports
    ("monitoring",),
    # 8: pipelines: the DVC stages and the continuous-training loop
    ("dvc_stages", "ct"),
    # 9: commands and course tooling
    (
        "cli",
        "__main__",
        "data.cli",
        "services.cli",
        "containers.cli",
        "serving.cli",
        "gate.cli",
        "monitoring.cli",
        "ct.cli",
        "ct.prefect_flow",
        "serving.__main__",
        "serving.server",
        "grading",
        "template",
        "doctor",
    ),
)
"""Layers from the bottom up. A module belongs to the layer of its longest matching prefix; it
may import from its own layer and those below, never from above. The order is the issue's
(schema, data, features, train, registry, serving, monitoring, pipelines (ct), cli), with one
deliberate refinement: monitoring's statistics sit below training and serving, because a model is
logged with its reference profile and the API measures the drift of what it serves."""

MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts else "mlops_course"


def _sources() -> dict[str, str]:
    return {_module_name(p): p.read_text() for p in sorted(SRC.rglob("*.py"))}


def _layer(module: str) -> int:
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > depth:
                best, depth = index, len(prefix)
    if best < 0:
        raise AssertionError(f"mlops_course.{module} is in no layer: add it to LAYERS")
    return best


def _imports(source: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module relative to the package, names) of every mlops_course import."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mlops_course":
                for alias in node.names:
                    found.append((node.lineno, alias.name, []))
            elif node.module.startswith("mlops_course."):
                names = [alias.name for alias in node.names]
                found.append((node.lineno, node.module.removeprefix("mlops_course."), names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mlops_course."):
                    found.append((node.lineno, alias.name.removeprefix("mlops_course."), []))
    return found


def layer_violations(sources: dict[str, str]) -> list[str]:
    """Every import, at any depth of a module (also inside functions), that points upwards."""
    problems = []
    for module, source in sources.items():
        own = _layer(module)
        for line, target, _ in _imports(source):
            if target == "__version__":
                continue  # the package's own version, from the root
            if _layer(target) > own:
                problems.append(
                    f"{module}:{line} imports {target} (layer {_layer(target)} above {own})"
                )
    return problems


def long_functions(sources: dict[str, str], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Every function or method longer than ``limit`` lines, ``def`` to its last line."""
    problems = []
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    problems.append(f"{module}.{node.name}: {length} lines")
    return problems


SIMULATOR = "data.simulate"
SIMULATOR_USES = {"simulate_day", "simulate_days", "SCENARIOS", "get_scenario", "EPOCH"}
"""What a module outside ``data/`` may take from the simulator: simulated data, not the contract."""


def simulator_for_columns(sources: dict[str, str]) -> list[str]:
    """Modules outside the data layer that import column names or rules from the simulator."""
    problems = []
    for module, source in sources.items():
        if module == "data" or module.startswith("data."):
            continue
        for line, target, names in _imports(source):
            if target == SIMULATOR:
                borrowed = sorted(set(names) - SIMULATOR_USES)
                if borrowed:
                    problems.append(f"{module}:{line} takes {borrowed} from the simulator")
    return problems


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def undeclared_imports(sources: dict[str, str], declared: set[str]) -> list[str]:
    """Third-party packages the sources import that pyproject.toml does not declare.

    A package that is only installed as someone else's dependency (starlette under FastAPI)
    works by accident: the day FastAPI drops it, `pip install` of the wheel breaks.
    """
    owners = packages_distributions()
    problems = set()
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top in ("mlops_course", "__future__"):
                    continue
                dists = {_canonical(d) for d in owners.get(top, [top])}
                if not dists & declared:
                    problems.add(f"{module} imports {top} (distribution {sorted(dists)})")
    return sorted(problems)


def _declared() -> set[str]:
    project = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        names += extra
    return {_canonical(re.split(r"[<>=!~\[; ]", name)[0]) for name in names}


def test_every_third_party_import_is_a_declared_dependency() -> None:
    assert undeclared_imports(_sources(), _declared()) == []


def test_imports_flow_one_way() -> None:
    assert layer_violations(_sources()) == []


def test_every_function_is_at_most_80_lines() -> None:
    assert long_functions(_sources()) == []


def test_column_names_come_from_the_schema_not_the_simulator() -> None:
    assert simulator_for_columns(_sources()) == []


@pytest.mark.parametrize(
    ("rule", "planted"),
    [
        (layer_violations, {"schema": "from mlops_course.cli import app\n"}),
        (layer_violations, {"features": "def f():\n    from mlops_course import registry\n"}),
        (layer_violations, {"monitoring.drift": "import mlops_course.serving.app\n"}),
        (long_functions, {"train": "def f():\n" + "    x = 1\n" * 80}),
        (simulator_for_columns, {"serving.frame": "from mlops_course.data.simulate import X\n"}),
    ],
    ids=["module-level", "inside a function", "import statement", "81 lines", "column names"],
)
def test_each_rule_finds_a_planted_violation(rule, planted: dict[str, str]) -> None:
    assert rule({**_sources(), **planted}) != []


def test_an_undeclared_import_is_found() -> None:
    planted = {"features": "import starlette\n"}
    assert undeclared_imports(planted, _declared() - {"starlette"}) != []


def test_a_module_without_a_layer_is_refused() -> None:
    with pytest.raises(AssertionError, match="in no layer"):
        _layer("brand_new_module")
