"""API contract tests: the model service keeps the endpoints, fields, types and status codes that
clients were promised.

The promise is a snapshot, `tests/model/data/openapi_contract.json`, reduced from the service's
OpenAPI document to what a client depends on. Additions are fine (a new endpoint, a new optional
field, a new error code); a removed or renamed field, a changed type, a newly required request
field, a removed status code or endpoint breaks clients, and fails here before it ships. After an
intended breaking change (a new API version), regenerate the snapshot:

    python tests/model/test_api_contract.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT = Path(__file__).parent / "data" / "openapi_contract.json"
Contract = dict[str, Any]


def _type(schema: dict[str, Any]) -> str:
    """A field's type as one readable string: "integer", "number|null", "array[Prediction]"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return "|".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array[{_type(schema.get('items', {}))}]"
    if schema.get("type") == "object" and "additionalProperties" in schema:
        value = schema["additionalProperties"]
        return f"object[{_type(value) if isinstance(value, dict) else 'any'}]"
    return str(schema.get("type", "any"))


def contract(openapi: dict[str, Any]) -> Contract:
    """What clients depend on: per operation the request and response types per status code;
    per schema its fields with their types, and which fields are required."""
    operations = {}
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            responses = {}
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                media = content.get("application/json") or next(iter(content.values()), {})
                responses[status] = _type(media.get("schema", {})) if media else "none"
            operations[f"{method.upper()} {path}"] = {
                "request": _type(body["schema"]) if body else "none",
                "responses": responses,
            }
    schemas = {
        name: {
            "fields": {f: _type(s) for f, s in schema.get("properties", {}).items()},
            "required": sorted(schema.get("required", [])),
        }
        for name, schema in openapi.get("components", {}).get("schemas", {}).items()
    }
    return {"operations": operations, "schemas": schemas}


def breaking_changes(promised: Contract, current: Contract) -> list[str]:
    """Every way ``current`` breaks a client written against ``promised``."""
    problems = []
    for op, spec in promised["operations"].items():
        now = current["operations"].get(op)
        if now is None:
            problems.append(f"{op} was removed")
            continue
        if now["request"] != spec["request"]:
            problems.append(f"{op} now takes {now['request']} instead of {spec['request']}")
        for status, body in spec["responses"].items():
            if status not in now["responses"]:
                problems.append(f"{op} no longer answers {status}")
            elif now["responses"][status] != body:
                problems.append(f"{op} {status} now returns {now['responses'][status]}, not {body}")
    for name, spec in promised["schemas"].items():
        now = current["schemas"].get(name)
        if now is None:
            problems.append(f"schema {name} was removed")
            continue
        for field, kind in spec["fields"].items():
            if field not in now["fields"]:
                problems.append(f"{name}.{field} was removed")
            elif now["fields"][field] != kind:
                problems.append(f"{name}.{field} is now {now['fields'][field]}, was {kind}")
        for field in sorted(set(now["required"]) - set(spec["required"])):
            problems.append(f"{name}.{field} is newly required")
        for field in sorted(set(spec["required"]) - set(now["required"])):
            problems.append(f"{name}.{field} is no longer always present")
    return problems


def current_contract() -> Contract:
    from mlops_course.serving import create_app

    return contract(create_app().openapi())


@pytest.fixture(scope="module")
def current() -> Contract:
    return current_contract()


@pytest.fixture(scope="module")
def promised() -> Contract:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_the_service_keeps_its_contract(promised: Contract, current: Contract) -> None:
    problems = breaking_changes(promised, current)
    assert not problems, (
        "the model API breaks its contract with clients:\n  "
        + "\n  ".join(problems)
        + f"\nIf this is intended (a new API version), regenerate {SNAPSHOT.name}: "
        "python tests/model/test_api_contract.py"
    )


def test_the_contract_covers_what_clients_use(promised: Contract) -> None:
    """A snapshot that lost its content would promise nothing."""
    predict = promised["operations"]["POST /predict"]
    assert predict["request"] == "Trip"
    assert {"200", "422", "503"} <= set(predict["responses"])
    trip = promised["schemas"]["Trip"]["fields"]
    assert trip["distance_km"] == "number" and trip["passengers"] == "integer|null"
    assert "duration_min" in str(promised["schemas"]["Prediction"]["fields"])


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda c: c["schemas"]["Trip"]["fields"].pop("distance_km"), "Trip.distance_km was"),
        (
            lambda c: c["schemas"]["Trip"]["fields"].update(pickup_hour="string"),
            "Trip.pickup_hour is now string",
        ),
        (
            lambda c: c["schemas"]["Trip"]["required"].append("passengers"),
            "Trip.passengers is newly required",
        ),
        (
            lambda c: c["operations"]["POST /predict"]["responses"].pop("422"),
            "no longer answers 422",
        ),
        (lambda c: c["operations"].pop("GET /health"), "GET /health was removed"),
    ],
    ids=["field removed", "type changed", "newly required", "status removed", "endpoint removed"],
)
def test_a_breaking_change_is_caught(
    breakage: Any, expected: str, promised: Contract, current: Contract
) -> None:
    """Break the current service in one way at a time: the comparison must name the break."""
    broken = copy.deepcopy(current)
    breakage(broken)
    problems = breaking_changes(promised, broken)
    assert any(expected in p for p in problems), problems


def test_an_addition_is_not_a_breaking_change(promised: Contract, current: Contract) -> None:
    extended = copy.deepcopy(current)
    extended["schemas"]["Trip"]["fields"]["driver_rating"] = "number|null"
    extended["operations"]["GET /version"] = {"request": "none", "responses": {"200": "object"}}
    assert breaking_changes(promised, extended) == []


if __name__ == "__main__":
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(current_contract(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")
