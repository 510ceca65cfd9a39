"""The data contract is one consistent table, and every layer reads it instead of repeating it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from mlops_course import schema
from mlops_course.data.simulate import WEATHER_PROFILES, ZONE_PROFILES, simulate_day
from mlops_course.data.validate import validate
from mlops_course.serving.schema import Trip

SRC = Path(__file__).resolve().parents[2] / "src" / "mlops_course"


def test_every_column_has_one_rule_and_the_inputs_one_kind() -> None:
    assert list(schema.SCHEMA) == schema.COLUMNS
    kinds = [*schema.NUMERIC, *schema.CATEGORICAL, *schema.CYCLIC]
    assert sorted(kinds) == sorted(schema.FEATURE_COLUMNS), "an input without a kind, or two"
    assert len(set(kinds)) == len(kinds)
    assert schema.TARGET not in schema.FEATURE_COLUMNS
    assert not set(schema.IDENTIFIERS) & set(schema.FEATURE_COLUMNS)


def test_the_simulator_produces_the_contract() -> None:
    """Its profiles follow the schema's order, which its random draws depend on."""
    assert tuple(ZONE_PROFILES) == schema.ZONES
    assert tuple(WEATHER_PROFILES) == schema.WEATHER
    batch = simulate_day(0, n=200)
    assert list(batch.columns) == schema.COLUMNS
    assert validate(batch).ok


def test_the_api_example_is_a_valid_trip() -> None:
    assert list(schema.EXAMPLE_TRIP) == schema.FEATURE_COLUMNS
    assert Trip.model_validate(schema.EXAMPLE_TRIP).model_dump() == schema.EXAMPLE_TRIP


def test_importing_the_schema_loads_nothing_heavy() -> None:
    code = (
        "import sys, mlops_course.schema; "
        "print(sorted({'pandas', 'numpy', 'sklearn', 'pydantic'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]", loaded


def _imported_names(path: Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text())
    return {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_no_module_outside_the_data_layer_imports_the_simulator_for_column_names() -> None:
    """Column names come from the schema; the simulator is for data (simulate_day, scenarios)."""
    contract = {"FEATURE_COLUMNS", "TARGET", "COLUMNS", "ZONES", "WEATHER"}
    offenders = [
        f"{path.relative_to(SRC)} imports {name} from the simulator"
        for path in sorted(SRC.rglob("*.py"))
        for module, name in _imported_names(path)
        if module == "mlops_course.data.simulate" and name in contract
    ]
    assert not offenders, offenders
