"""The model API's docs pages and model metrics, without MLflow: no model load ever runs.

``TestClient`` used without ``with`` skips the ASGI lifespan, so no registry is contacted; the
docs and the metrics registry exist as soon as the app is created.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from importlib.util import find_spec

import pytest
from sklearn.dummy import DummyRegressor
from sklearn.pipeline import Pipeline

from mlops_course.serving.app import create_app
from mlops_course.serving.docs import ASSETS_URL
from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.model_holder import LoadedModel
from mlops_course.serving.settings import ServingSettings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

ASSET_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(ServingSettings(model_name="unit-docs", tracking_uri=None)))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_service_itself(client: TestClient, page: str) -> None:
    """Offline, a page that references a CDN is blank: every script and style must be local."""
    assert find_spec("fastapi_offline"), "install fastapi-offline: it ships the docs' assets"
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html, html
    references = ASSET_REFERENCE.findall(html)
    scripts = [ref for ref in references if ref.endswith(".js")]
    assert scripts, f"{page} references no script: {references}"
    for reference in references:
        assert reference.startswith(ASSETS_URL + "/"), reference
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 1000, reference
    for script in scripts:
        asset = client.get(script)
        assert "javascript" in asset.headers["content-type"], asset.headers
        assert asset.text.lstrip().startswith(("/*", "!function", "(")), asset.text[:80]


def test_docs_point_at_this_apps_openapi_spec(client: TestClient) -> None:
    assert "url: '/openapi.json'" in client.get("/docs").text
    assert 'spec-url="/openapi.json"' in client.get("/redoc").text
    paths = client.get("/openapi.json").json()["paths"]
    assert "/predict" in paths and "/docs" not in paths and ASSETS_URL not in str(paths)


def _loaded(created: datetime | None) -> LoadedModel:
    return LoadedModel(
        pipeline=Pipeline([("model", DummyRegressor())]),
        name="trip-duration",
        version="7",
        alias="champion",
        run_id="abc",
        signature=None,
        known_categories={},
        created_at=created,
        loaded_at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
    )


def _sample(metrics: ApiMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


def test_model_timestamps_are_exported_on_each_load() -> None:
    """The alerting rules compute the model's age from these two gauges (a shared contract)."""
    metrics = ApiMetrics()
    loaded = "mlops_api_model_loaded_timestamp_seconds"
    created = "mlops_api_model_created_timestamp_seconds"
    assert _sample(metrics, loaded) == 0 and _sample(metrics, created) == 0

    metrics.record_model(_loaded(datetime(2026, 3, 1, tzinfo=UTC)))
    assert _sample(metrics, loaded) == datetime(2026, 3, 2, 8, 30, tzinfo=UTC).timestamp()
    assert _sample(metrics, created) == datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    info = {"name": "trip-duration", "version": "7", "alias": "champion", "run_id": "abc"}
    assert metrics.registry.get_sample_value("mlops_api_model_info", info) == 1.0

    text = metrics.render()[0].decode()
    assert f"# TYPE {loaded} gauge" in text and f"# TYPE {created} gauge" in text
