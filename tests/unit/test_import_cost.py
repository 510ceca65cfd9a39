"""Importing a light module stays light: the package's __init__ files load nothing on their own."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("mlflow", "sklearn")


def _loaded(module: str) -> list[str]:
    code = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return [name for name in HEAVY if f"'{name}'" in out]


@pytest.mark.parametrize(
    "module",
    [
        "mlops_course.pipelines.triggers",  # the pure retraining policy
        "mlops_course.monitoring.drift",  # the statistics (SciPy), not the MLflow reference
        "mlops_course.serving.schema",  # the API's request models
        "mlops_course.serving.settings",  # the API's settings need the alias name, not MLflow
        "mlops_course.registry",  # the alias names; MLflow is imported by what calls it
    ],
)
def test_a_light_module_does_not_load_mlflow_or_scikit_learn(module: str) -> None:
    assert _loaded(module) == [], f"importing {module} loads {_loaded(module)}"
