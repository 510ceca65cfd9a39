"""The model API against a real MLflow registry: predictions, bad inputs, readiness, reloads.

Most checks use FastAPI's TestClient (the app in this process, the registry a real server).
One test runs the API as a real process and exercises what only a process can show: starting
while the registry is down, recovering when it comes up, and a model swap under concurrent load
that must not fail a single request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.schema import EXAMPLE_TRIP, FEATURE_COLUMNS
from mlops_course.services import start_api
from mlops_course.serving.app import create_app
from mlops_course.serving.jsonlog import JsonFormatter
from mlops_course.serving.schema import MAX_BATCH
from mlops_course.serving.settings import ServingSettings
from mlops_course.train import TrainResult, train

with warnings.catch_warnings():
    # Starlette 1.10 asks for `httpx2` under its TestClient; the course pins httpx (0.28), which
    # still works. Filtered here, at import, because that is where the warning is raised.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"content-type": "application/json"}
METRICS = [
    "mlops_api_requests_total",
    "mlops_api_request_duration_seconds_bucket",
    "mlops_api_requests_in_flight",
    "mlops_api_predicted_duration_minutes_bucket",
    "mlops_api_model_info",
]


def _fit_two(seed_days: int = 3) -> tuple[TrainResult, TrainResult, pd.DataFrame]:
    """Two small ridge models whose predictions differ, logged to the current tracking server."""
    train_frame = simulate_days(range(seed_days), n=300)
    eval_frame = simulate_days([seed_days], n=200)
    first = train(train_frame, eval_frame, kind="ridge", run_name="serving-v1")
    second = train(train_frame, eval_frame, kind="ridge", params={"alpha": 300.0}, run_name="v2")
    return first, second, eval_frame


@pytest.fixture(scope="module")
def trained(mlflow_server: services.Service) -> tuple[TrainResult, TrainResult, pd.DataFrame]:
    return _fit_two()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: missing passenger counts become null."""
    records = frame[FEATURE_COLUMNS].astype(object).to_dict("records")
    for record in records:
        if pd.isna(record["passengers"]):
            record["passengers"] = None
    return json.loads(json.dumps(records, default=int))


def _expected(result: TrainResult, records: list[dict[str, Any]]) -> list[float]:
    frame = to_model_input(pd.DataFrame(records, columns=FEATURE_COLUMNS))
    return [round(float(v), 2) for v in result.model.predict(frame)]


def _settings(name: str, **overrides: Any) -> ServingSettings:
    values: dict[str, Any] = {
        "model_name": name,
        "tracking_uri": None,  # the session server this process already uses
        "api_token": TOKEN,
        "reload_poll_seconds": 3600,  # no background surprises unless a test asks for them
        "watch_alias": False,
        **overrides,
    }
    return ServingSettings(**values)


@pytest.fixture
def client_for() -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included) for a model name; all are closed after the test."""
    clients: list[TestClient] = []

    def make(name: str, **overrides: Any) -> TestClient:
        client = TestClient(create_app(_settings(name, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _promote(result: TrainResult, name: str) -> str:
    version = registry.register(result.model_uri, name)
    registry.promote(version.version, name)
    return str(version.version)


@pytest.fixture(scope="module")
def served(trained, mlflow_server: services.Service) -> Iterator[TestClient]:
    """One app with a loaded champion, shared by the read-only tests of this module."""
    first, _, _ = trained
    _promote(first, "it-serving-shared")
    with TestClient(create_app(_settings("it-serving-shared"))) as client:
        yield client


# --- predictions ------------------------------------------------------------------------------


def test_predictions_equal_the_in_process_model(served: TestClient, trained) -> None:
    first, _, eval_frame = trained
    records = _records(eval_frame.head(60))
    expected = _expected(first, records)

    for record, value in zip(records[:10], expected, strict=False):
        response = served.post("/predict", json=record)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["duration_min"] == pytest.approx(value, abs=0.005)
        assert body["model"] == {"name": "it-serving-shared", "version": "1", "alias": "champion"}
        assert body["warnings"] == []

    batch = served.post("/predict/batch", json={"trips": records})
    assert batch.status_code == 200, batch.text
    np.testing.assert_allclose(batch.json()["duration_min"], expected, atol=0.005)


def _model_calls(client: TestClient) -> tuple[float, float]:
    """``POST /predict``'s model calls so far, and the trips they predicted."""
    text = client.get("/metrics").text
    return _gauge(text, "mlops_api_model_call_rows_count"), _gauge(
        text, "mlops_api_model_call_rows_sum"
    )


def test_concurrent_single_predictions_share_model_calls_and_stay_exact(
    served: TestClient, trained
) -> None:
    """Micro-batching changes how often the model is called, never what a request gets."""
    first, _, eval_frame = trained
    records = _records(eval_frame.head(32))
    expected = _expected(first, records)

    async def all_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=served.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await asyncio.gather(*(client.post("/predict", json=r) for r in records))

    calls_before, rows_before = _model_calls(served)
    responses = asyncio.run(all_at_once())
    calls_after, rows_after = _model_calls(served)
    assert [r.status_code for r in responses] == [200] * len(records)
    np.testing.assert_allclose([r.json()["duration_min"] for r in responses], expected, atol=0.005)
    assert rows_after - rows_before == len(records)
    assert calls_after - calls_before < len(records) / 4, "concurrent requests were not batched"


def test_missing_passengers_and_unknown_zones_are_served_with_warnings(
    served: TestClient, trained
) -> None:
    first, _, _ = trained
    trip = {**EXAMPLE_TRIP, "pickup_zone": "riverside", "passengers": None}
    response = served.post("/predict", json=trip)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration_min"] == pytest.approx(_expected(first, [trip])[0], abs=0.005)
    assert len(body["warnings"]) == 1 and "'riverside'" in body["warnings"][0]

    batch = served.post("/predict/batch", json={"trips": [EXAMPLE_TRIP, trip]}).json()
    assert [w.split(" ")[0] for w in batch["warnings"]] == ["trips[1].pickup_zone"]


# --- bad inputs: every one a 4xx with a message, never a 500 ----------------------------------

_deep = "[" * 50_000 + "]" * 50_000
BAD_REQUESTS: list[tuple[str, str, str | bytes, dict[str, str], int]] = [
    ("extra field", "/predict", json.dumps({**EXAMPLE_TRIP, "pasengers": 2}), JSON, 422),
    ("out of range", "/predict", json.dumps({**EXAMPLE_TRIP, "pickup_hour": 24}), JSON, 422),
    ("fractional count", "/predict", json.dumps({**EXAMPLE_TRIP, "weekday": 2.5}), JSON, 422),
    ("string number", "/predict", json.dumps({**EXAMPLE_TRIP, "distance_km": "3"}), JSON, 422),
    ("bool count", "/predict", json.dumps({**EXAMPLE_TRIP, "passengers": True}), JSON, 422),
    ("huge int", "/predict", json.dumps({**EXAMPLE_TRIP, "pickup_hour": 10**40}), JSON, 422),
    ("NaN", "/predict", json.dumps({**EXAMPLE_TRIP, "distance_km": float("nan")}), JSON, 422),
    (
        "Infinity",
        "/predict",
        json.dumps({**EXAMPLE_TRIP, "temperature_c": float("inf")}),
        JSON,
        422,
    ),
    ("1e999", "/predict", json.dumps(EXAMPLE_TRIP).replace("12.5", "1e999"), JSON, 422),
    ("missing field", "/predict", json.dumps({"pickup_zone": "downtown"}), JSON, 422),
    ("wrong type", "/predict", json.dumps({**EXAMPLE_TRIP, "weather": 3}), JSON, 422),
    ("control char", "/predict", json.dumps({**EXAMPLE_TRIP, "weather": "a\u0000"}), JSON, 422),
    ("lone surrogate", "/predict", '{"pickup_zone": "\\ud800"}', JSON, 422),
    ("surrogate key", "/predict", '{"\\ud800": 1}', JSON, 422),
    ("list body", "/predict", json.dumps([EXAMPLE_TRIP]), JSON, 422),
    ("null body", "/predict", "null", JSON, 422),
    ("empty body", "/predict", "", JSON, 422),
    ("malformed JSON", "/predict", '{"pickup_zone": ', JSON, 422),
    ("deeply nested JSON", "/predict", _deep, JSON, 400),
    ("text/plain", "/predict", json.dumps(EXAMPLE_TRIP), {"content-type": "text/plain"}, 415),
    ("no content type", "/predict", json.dumps(EXAMPLE_TRIP), {}, 415),
    (
        "form encoded",
        "/predict/batch",
        "trips=1",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
    ),
    ("empty batch", "/predict/batch", json.dumps({"trips": []}), JSON, 422),
    ("bare list batch", "/predict/batch", json.dumps([EXAMPLE_TRIP]), JSON, 422),
    (
        "oversized batch",
        "/predict/batch",
        json.dumps({"trips": [EXAMPLE_TRIP] * (MAX_BATCH + 1)}),
        JSON,
        413,
    ),
    ("too many bytes", "/predict/batch", b'{"trips": [' + b" " * 4_000_000 + b"]}", JSON, 413),
    (
        "bad trip in batch",
        "/predict/batch",
        json.dumps({"trips": [EXAMPLE_TRIP, {**EXAMPLE_TRIP, "pickup_hour": -1}]}),
        JSON,
        422,
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_4xx_with_a_message(
    served: TestClient, path: str, body: str | bytes, headers: dict[str, str], status: int
) -> None:
    response = served.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.text.strip(), "a refusal must say why"
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        assert payload.get("message") or payload.get("detail")
        if status == 422:
            assert all(d["loc"] and d["msg"] for d in payload["detail"]), payload


def test_field_level_messages_name_the_field_and_the_trip(served: TestClient) -> None:
    trips = [EXAMPLE_TRIP, {**EXAMPLE_TRIP, "pickup_hour": 30}]
    payload = served.post("/predict/batch", json={"trips": trips}).json()
    assert payload["detail"][0]["loc"] == ["body", "trips", 1, "pickup_hour"]
    assert "less than or equal to 23" in payload["detail"][0]["msg"]
    assert "trips.1.pickup_hour" in payload["message"]
    too_many = served.post("/predict/batch", json={"trips": [EXAMPLE_TRIP] * (MAX_BATCH + 1)})
    assert f"at most {MAX_BATCH:,}" in too_many.json()["message"]


def test_whole_floats_are_accepted_for_counts(served: TestClient) -> None:
    """Documented choice: 7.0 is 7 (many JSON producers write every number as a float)."""
    as_float = served.post("/predict", json={**EXAMPLE_TRIP, "pickup_hour": 8.0}).json()
    assert (
        as_float["duration_min"]
        == served.post("/predict", json=EXAMPLE_TRIP).json()["duration_min"]
    )


def test_no_bad_input_was_counted_as_a_server_error(served: TestClient) -> None:
    """The metrics agree with the tests above: the app never answered 5xx."""
    text = served.get("/metrics").text
    assert 'status="5' not in text
    assert 'status="422"' in text


# --- readiness, model info and reloading ------------------------------------------------------


def test_not_ready_until_a_champion_exists_then_ready_after_promote_and_reload(
    trained, model_name: str, client_for
) -> None:
    first, _, _ = trained
    client = client_for(model_name)
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert model_name in ready.json()["reason"] and "champion" in ready.json()["reason"]
    for path in ("/predict", "/model"):
        method = client.post if path == "/predict" else client.get
        response = method(path, json=EXAMPLE_TRIP) if path == "/predict" else method(path)
        assert response.status_code == 503
        assert model_name in response.json()["detail"]
    assert client.post("/admin/reload", headers=AUTH).status_code == 409  # nothing promoted

    version = _promote(first, model_name)
    assert client.get("/ready").status_code == 503, "no reload yet: still the old state"
    reload = client.post("/admin/reload", headers=AUTH)
    assert reload.status_code == 200, reload.text
    assert reload.json()["changed"] is True and reload.json()["previous"] is None
    assert client.get("/ready").json() == {
        "status": "ready",
        "model": {"name": model_name, "version": version, "alias": "champion"},
    }
    info = client.get("/model").json()
    assert info["version"] == version and info["run_id"] == first.run_id
    assert [c["name"] for c in info["signature"]["inputs"]] == FEATURE_COLUMNS
    assert "downtown" in info["known_categories"]["pickup_zone"]
    again = client.post("/admin/reload", headers=AUTH).json()
    assert again["changed"] is False


def test_reload_requires_the_token(served: TestClient, model_name: str, client_for) -> None:
    assert served.post("/admin/reload").status_code == 401
    assert served.post("/admin/reload").headers["www-authenticate"] == "Bearer"
    assert served.post("/admin/reload", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert served.post("/admin/reload", headers={"Authorization": TOKEN}).status_code == 401
    assert served.post("/admin/reload", headers=AUTH).status_code == 200

    disabled = client_for(model_name, api_token=None)
    response = disabled.post("/admin/reload", headers=AUTH)
    assert response.status_code == 403 and "MLOPS_API_TOKEN" in response.json()["detail"]


def test_watching_the_alias_picks_up_a_new_champion(trained, model_name: str, client_for) -> None:
    first, second, _ = trained
    _promote(first, model_name)
    client = client_for(model_name, watch_alias=True, reload_poll_seconds=0.2)
    assert client.get("/model").json()["version"] == "1"
    _promote(second, model_name)
    deadline = time.monotonic() + 30
    while client.get("/model").json()["version"] != "2":
        assert time.monotonic() < deadline, "the poller did not follow the alias"
        time.sleep(0.1)
    expected = _expected(second, [EXAMPLE_TRIP])[0]
    assert client.post("/predict", json=EXAMPLE_TRIP).json()["duration_min"] == expected


# --- metrics and logs -------------------------------------------------------------------------


def test_metrics_are_exposed_per_app(served: TestClient, model_name: str, client_for) -> None:
    served.post("/predict", json=EXAMPLE_TRIP)
    text = served.get("/metrics").text
    for name in METRICS:
        assert name in text, name
    assert 'mlops_api_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'name="it-serving-shared"' in text and 'version="1"' in text
    # A second app in the same process has its own registry: no clash, its own counts.
    other = client_for(model_name).get("/metrics").text
    assert 'route="/predict"' not in other


def _gauge(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def test_model_timestamps_are_those_of_the_served_version(served: TestClient) -> None:
    """The gauges the stale-model alert reads: registry creation time and load time."""
    version = mlflow.MlflowClient().get_model_version("it-serving-shared", "1")
    text = served.get("/metrics").text
    created = _gauge(text, "mlops_api_model_created_timestamp_seconds")
    loaded = _gauge(text, "mlops_api_model_loaded_timestamp_seconds")
    assert created == version.creation_timestamp / 1000
    assert created <= loaded <= time.time()
    info = served.get("/model").json()
    assert info["created_at"] == datetime.fromtimestamp(created, UTC).isoformat(timespec="seconds")


def test_one_json_log_line_per_request(
    served: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mlops_course.serving.access"):
        served.post("/predict", json=EXAMPLE_TRIP)
    records = [r for r in caplog.records if r.name == "mlops_course.serving.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["route"] == "/predict" and line["status"] == 200
    assert line["model_version"] == "1" and line["latency_ms"] > 0


def test_request_ids_join_a_response_to_its_log_line(
    served: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mlops_course.serving.access"):
        given = served.post("/predict", json=EXAMPLE_TRIP, headers={"X-Request-ID": "trip-42.a"})
        fresh = served.post("/predict", json=EXAMPLE_TRIP)
        forged = served.post("/predict", json=EXAMPLE_TRIP, headers={"X-Request-ID": 'x" y\n'})
    logged = [
        json.loads(JsonFormatter().format(r))["request_id"]
        for r in caplog.records
        if r.name == "mlops_course.serving.access"
    ]
    assert given.headers["x-request-id"] == "trip-42.a"
    assert len(fresh.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] not in {'x" y\n', fresh.headers["x-request-id"]}
    assert logged == [r.headers["x-request-id"] for r in (given, fresh, forged)]


def _drift_gauges(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("mlops_drift", "mlops_feature_drifted"))
    }


def test_drift_gauges_describe_the_served_traffic(trained, model_name: str, client_for) -> None:
    """The gauges the drift alert reads: quiet on ordinary days, raised by the new zone."""
    first, _, _ = trained
    _promote(first, model_name)
    quiet = client_for(model_name)
    assert _drift_gauges(quiet).get("mlops_drift_window_rows", 0) == 0  # nothing served yet
    for day in (4, 5):
        records = _records(simulate_days([day], n=400))
        assert quiet.post("/predict/batch", json={"trips": records}).status_code == 200
    gauges = _drift_gauges(quiet)
    assert gauges["mlops_drift_window_rows"] == 800
    assert gauges["mlops_drift_detected"] == 0, gauges

    shifted = client_for(model_name)
    records = _records(simulate_days([40, 41], n=400, scenario="covariate_shift"))
    assert shifted.post("/predict/batch", json={"trips": records}).status_code == 200
    gauges = _drift_gauges(shifted)
    assert gauges["mlops_drift_detected"] == 1, gauges
    assert gauges['mlops_feature_drifted{feature="pickup_zone"}'] == 1, gauges


# --- schemathesis: generated requests from the OpenAPI spec -----------------------------------


# The app for the generated requests exists at import time, because schemathesis reads the
# OpenAPI spec while pytest collects the tests; its model is loaded by the fixture below. (The
# lazy `schemathesis.pytest.from_fixture` fails under pytest 9.2: "no attribute _nodeid".) The
# spec is the app's own, not fetched through `from_asgi`: that runs the app's start-up, which at
# collection, before the session's server exists, loaded the model from MLflow's default store
# and so created ./mlflow.db in the repository. `app` and `location` are what `from_asgi` sets.
fuzz_app = create_app(_settings("it-serving-fuzz"))
schema = schemathesis.openapi.from_dict(fuzz_app.openapi())
schema.app, schema.location = fuzz_app, "/openapi.json"


@pytest.fixture(scope="module")
def fuzz_model(trained) -> None:
    first, _, _ = trained
    if fuzz_app.state.api.holder.current is None:
        _promote(first, "it-serving-fuzz")
        fuzz_app.state.api.holder.refresh()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_never_get_a_server_error(case, fuzz_model) -> None:
    """Whatever the spec allows a client to send, and whatever it forbids, is never a 5xx."""
    case.call_and_validate(checks=[not_a_server_error])


# --- the API as a real process ----------------------------------------------------------------


def _wait_for(check: Callable[[], bool], timeout: float, what: str, log: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s; API log:\n{log()}")
        time.sleep(0.2)


@pytest.fixture
def restore_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process test logs to its own MLflow server; later tests expect the session one."""
    before = mlflow.get_tracking_uri()
    yield
    mlflow.set_tracking_uri(before)


def test_real_process_survives_a_missing_registry_and_reloads_under_load(
    tmp_path: Path, model_name: str, monkeypatch: pytest.MonkeyPatch, restore_tracking_uri
) -> None:
    """Start with no registry, recover when it appears, then swap models under load.

    Load: 8 threads keep sending single and batch predictions (at least 50 each) while a new
    version is promoted and /admin/reload called; not one request may fail, and both versions
    must have answered (the swap really happened mid-load).
    """
    registry_port = services.free_port()
    registry_uri = f"http://127.0.0.1:{registry_port}"
    api = start_api(
        tmp_path,
        tracking_uri=registry_uri,
        model_name=model_name,
        token=TOKEN,
        reload_poll_seconds=0.5,
    )
    with api, httpx.Client(base_url=api.url, trust_env=False, timeout=30) as http:
        # 1. Registry down: alive, not ready, and the reason names the tracking URI.
        assert http.get("/health").status_code == 200
        ready = http.get("/ready")
        assert ready.status_code == 503, ready.text
        assert registry_uri in ready.json()["reason"], ready.json()
        assert http.post("/predict", json=EXAMPLE_TRIP).status_code == 503

        # 2. The registry comes up at that address and a champion is promoted: recovery.
        with services.start_mlflow(workdir=tmp_path / "registry", port=registry_port) as server:
            services.use_mlflow(server)
            monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
            first, second, eval_frame = _fit_two()
            _promote(first, model_name)
            _wait_for(
                lambda: http.get("/ready").status_code == 200,
                60,
                "the API did not load the champion once the registry was up",
                api.log_tail,
            )
            records = _records(eval_frame.head(20))
            batch = http.post("/predict/batch", json={"trips": records}).json()
            np.testing.assert_allclose(batch["duration_min"], _expected(first, records), atol=0.005)

            # 3. Swap to version 2 under concurrent load.
            v2 = registry.register(second.model_uri, model_name).version
            failures: list[str] = []
            versions: Counter[str] = Counter()
            reloaded = threading.Event()
            lock = threading.Lock()

            def hammer(worker: int) -> None:
                sent = after_reload = 0
                with httpx.Client(base_url=api.url, trust_env=False, timeout=30) as own:
                    # At least 50 requests, of which at least 10 after the reload returned.
                    while sent < 1000 and (sent < 50 or after_reload < 10):
                        reload_done = reloaded.is_set()
                        try:
                            if sent % 5 == 4:
                                response = own.post("/predict/batch", json={"trips": records})
                            else:
                                response = own.post("/predict", json=records[sent % 20])
                            ok = response.status_code == 200
                            detail = f"{response.status_code} {response.text[:200]}"
                            version = response.json()["model"]["version"] if ok else None
                        except httpx.HTTPError as error:
                            ok, detail, version = False, repr(error), None
                        with lock:
                            if ok:
                                versions[version] += 1
                            else:
                                failures.append(f"worker {worker}: {detail}")
                        sent += 1
                        after_reload += reload_done

            threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # let the load build up before the swap
            registry.promote(v2, model_name)
            reload = http.post("/admin/reload", headers=AUTH)
            reloaded.set()
            for thread in threads:
                thread.join(120)

            assert reload.status_code == 200, reload.text
            assert reload.json()["current"]["version"] == str(v2)
            assert failures == [], f"{len(failures)} failed requests, e.g. {failures[:3]}"
            assert sum(versions.values()) >= 400
            assert set(versions) == {"1", str(v2)}, f"answers by version: {versions}"
            assert http.get("/model").json()["version"] == str(v2)
            after = http.post("/predict", json=EXAMPLE_TRIP).json()
            assert after["duration_min"] == _expected(second, [EXAMPLE_TRIP])[0]

            # 4. The process's metrics and logs tell the story.
            text = http.get("/metrics").text
            for name in METRICS:
                assert name in text, name
            assert f'version="{v2}"' in text
            assert 'mlops_api_model_loads_total{outcome="loaded"} 2.0' in text
    lines = [json.loads(line) for line in api.log_path.read_text().splitlines() if line[:1] == "{"]
    requests = [line for line in lines if line["message"] == "request"]
    assert {line["model_version"] for line in requests} >= {None, "1", str(v2)}
    assert all({"route", "status", "latency_ms"} <= set(line) for line in requests)
