"""Importing a light module stays light: the package's __init__ files load nothing on their own."""

from __future__ import annotations

import subprocess
import sys

import pytest

BOTH = ("mlflow", "sklearn")


def _loaded(module: str, heavy: tuple[str, ...]) -> list[str]:
    code = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return [name for name in heavy if f"'{name}'" in out]


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        ("mlops_course.ct.triggers", BOTH),  # the pure retraining policy (ct/ is lazy)
        ("mlops_course.monitoring.drift", BOTH),  # the statistics, not the MLflow reference
        ("mlops_course.serving.schema", BOTH),  # the API's request models
        ("mlops_course.serving.settings", BOTH),  # needs the alias name, not MLflow
        ("mlops_course.registry", BOTH),  # the alias names; MLflow is imported by what calls it
    ],
)
def test_a_light_module_does_not_load_what_it_does_not_need(
    module: str, heavy: tuple[str, ...]
) -> None:
    assert _loaded(module, heavy) == [], f"importing {module} loads {_loaded(module, heavy)}"
