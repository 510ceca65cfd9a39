"""Every panel of the provisioned Grafana dashboards shows data, against a real Prometheus.

There is no Grafana image here (no registry to pull it from), and the static checks
(tests/static/test_grafana.py) only parse the queries: a panel over a misspelt metric, or over a
series that never exists on a healthy service, parses fine and shows "No data". This test starts
what Grafana would query in the compose stack (MLflow with a champion, the API, Prometheus
scraping it every second), sends the package's mixed load (good trips, unknown categories, 422s,
415s, batches) and runs every target of both dashboards through ``/api/v1/query_range`` with
Grafana's variables replaced, the way ``mlops_course.monitoring.dashboards`` does for the book's
preview. Planted faults prove the check fails with the panel's title.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.monitoring.dashboards import (
    DashboardQueryError,
    dashboard_panels,
    grafana_variables,
    load_dashboard,
    render_dashboard,
    run_dashboard,
    substitute,
)
from mlops_course.services import start_api
from mlops_course.services.traffic import send_traffic
from mlops_course.train import train
from tests.integration.test_prometheus_scrape import _require_prometheus
from tests.static.promql import DASHBOARDS_DIR

MODEL_NAME = "it-dashboards"
# 2 s, not 1 s: under load GET /metrics runs the drift check over the served window and took
# 0.6 to 1 s at 500 to 1,000 rows on a busy 2-core machine; a scrape times out after one interval.
SCRAPE_SECONDS = 2.0
TRAFFIC_SECONDS = 10.0  # several scrapes, so every rate() has data
TRAFFIC_ROUNDS = 25  # 650 rows, however slow the machine: the drift check needs 500
DASHBOARD_FILES = sorted(path.name for path in DASHBOARDS_DIR.glob("*.json"))


@dataclass
class Window:
    prometheus: services.Service
    start: float
    end: float

    def run(self, dashboard: dict[str, Any]) -> Any:
        return run_dashboard(
            dashboard, self.prometheus.url, self.start, self.end, scrape_interval=SCRAPE_SECONDS
        )


def _query(prometheus: services.Service, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(
        prometheus.url + "/api/v1/query", params={"query": promql}, timeout=10, trust_env=False
    )
    return response.json()["data"]["result"]


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def window(
    mlflow_server: services.Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Window]:
    _require_prometheus()
    result = train(simulate_days(range(3), n=300), simulate_days([3], n=200), kind="ridge")
    version = registry.register(result.model_uri, MODEL_NAME)
    registry.promote(version.version, MODEL_NAME)
    workdir = tmp_path_factory.mktemp("dashboards")
    api = start_api(workdir=workdir, tracking_uri=mlflow_server.url, model_name=MODEL_NAME)
    with (
        api,
        services.start_prometheus(
            workdir=workdir, targets={"api": api.url}, scrape_interval=f"{SCRAPE_SECONDS:g}s"
        ) as prometheus,
    ):
        _wait_for(lambda: _query(prometheus, 'up{job="api"} == 1'), "the api target to be up")
        start = time.time()
        sent = send_traffic(api.url, TRAFFIC_SECONDS, min_rounds=TRAFFIC_ROUNDS)
        assert {("/predict", 200), ("/predict", 422), ("/predict/batch", 200)} <= set(sent)
        # The drift check runs on a scrape once 500 rows are in the window.
        _wait_for(lambda: _query(prometheus, "mlops_feature_drift_score"), "the drift gauges")
        time.sleep(1.5 * SCRAPE_SECONDS)  # one more scrape after the last request
        yield Window(prometheus, start, time.time())


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_every_panel_shows_data(window: Window, name: str, tmp_path: Path) -> None:
    dashboard = load_dashboard(DASHBOARDS_DIR / name)
    result = window.run(dashboard)
    assert len(result.panel_results()) == len(dashboard_panels(dashboard)) >= 8
    assert result.problems() == [], "\n".join(result.problems())
    result.raise_for_problems()
    picture = render_dashboard(result, tmp_path / f"{name}.png", source=name)
    assert picture.stat().st_size > 20_000, "a picture of every panel, not an empty figure"


def _broken(name: str, title: str, expr: str) -> dict[str, Any]:
    """A copy of a provisioned dashboard with the first query of panel ``title`` replaced."""
    dashboard = copy.deepcopy(load_dashboard(DASHBOARDS_DIR / name))
    (panel,) = [p for p in dashboard["panels"] if p.get("title") == title]
    panel["targets"][0]["expr"] = expr
    return dashboard


def test_a_misspelt_metric_is_reported_with_the_panel_title(window: Window) -> None:
    title = "Request rate by route and status"
    typo = "sum by (route, status) (rate(mlops_api_request_total[$__rate_interval]))"
    result = window.run(_broken("api.json", title, typo))
    (problem,) = result.problems()
    assert f"panel {title!r} (A)" in problem and "returned no series" in problem, problem
    sent = f"mlops_api_request_total[{result.variables['__rate_interval']}]"
    assert sent in problem, "the query as sent, Grafana's variables replaced"
    with pytest.raises(DashboardQueryError, match=title):
        result.raise_for_problems()


def test_a_syntax_error_is_reported_with_prometheus_error(window: Window, tmp_path: Path) -> None:
    title = "Drift score per feature"
    result = window.run(_broken("model.json", title, "max by (feature) (mlops_feature_drift_score"))
    (problem,) = result.problems()
    assert f"panel {title!r} (A)" in problem, problem
    assert "bad_data" in problem and "parse error" in problem, "Prometheus' own error"
    # The picture draws the problem in the panel rather than an empty box, and still renders.
    assert render_dashboard(result, tmp_path / "broken.png").exists()


def test_an_unknown_grafana_variable_is_reported(window: Window) -> None:
    title = "Rows in the drift window"
    result = window.run(_broken("model.json", title, 'max(mlops_drift_window_rows{job="$job"})'))
    (problem,) = result.problems()
    assert title in problem and "$job has no value" in problem, problem


def test_grafana_variables_follow_grafana_rules() -> None:
    """Step = range / max points, at least the scrape interval; rate window >= 4 scrapes."""
    one_second = grafana_variables(0, 60, scrape_interval=1)
    assert one_second["__interval"] == "1s" and one_second["__rate_interval"] == "4s"
    compose = grafana_variables(0, 1800, scrape_interval=5)  # the stack's 30 min default view
    assert compose["__interval"] == "6s" and compose["__rate_interval"] == "20s"
    assert compose["__range"] == "1800s" and compose["__interval_ms"] == "6000"
    expr = "rate(x[$__rate_interval]) + rate(x[${__interval}]) * [[__range_s]]"
    assert substitute(expr, compose) == "rate(x[20s]) + rate(x[6s]) * 1800"
    templated = {
        "templating": {"list": [{"name": "job", "type": "custom", "current": {"value": "api"}}]}
    }
    assert (
        substitute('up{job="$job"}', grafana_variables(0, 60, dashboard=templated))
        == 'up{job="api"}'
    )
