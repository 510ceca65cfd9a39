from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from src.api.app import create_app

TRIP = {"distance_km": 4.2, "hour": 8, "weekday": 1, "passengers": 1, "zone": "center"}


@pytest.fixture
def client(model_path: Path) -> TestClient:
    with TestClient(create_app(model_path)) as client:
        yield client


def test_predict_returns_one_prediction_per_trip(client: TestClient) -> None:
    response = client.post("/predict", json={"trips": [TRIP, {**TRIP, "distance_km": 20.0}]})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 2
    assert predictions[0] < predictions[1]  # a longer trip takes longer (or is likelier long)


def test_invalid_input_is_a_422_that_names_the_field(client: TestClient) -> None:
    response = client.post("/predict", json={"trips": [{**TRIP, "hour": 24}]})
    assert response.status_code == 422
    assert "hour" in response.text


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200
    client.post("/predict", json={"trips": [TRIP]})
    metrics = client.get("/metrics").text
    assert "api_predictions_total 1.0" in metrics
    assert "api_model_loaded 1.0" in metrics


def test_without_a_model_the_api_is_alive_but_not_ready(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "missing.skops")) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.post("/predict", json={"trips": [TRIP]}).status_code == 503
