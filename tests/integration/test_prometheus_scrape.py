"""Real Prometheus scraping the real model API, with the course's alert rules loaded.

The embedded default of stage 4: MLflow with a registered champion, the API as a process, and
Debian's `prometheus` binary started by ``mlops_course.services`` with a config rendered from
the package's monitoring/prometheus/prometheus.yml (1 s scrapes, so the test waits seconds, not
minutes). The same
API instance answers the question the static checks cannot: is every metric that an alert or a
dashboard reads one the API really exports?
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.services import start_api
from mlops_course.services.traffic import send_traffic
from mlops_course.train import train
from tests.static.promql import (
    PROMETHEUS_OWN_SERIES,
    alert_expressions,
    alert_rules,
    dashboard_expressions,
    metric_names,
)

MODEL_NAME = "it-prometheus-scrape"
# Suffixes of the series behind a metric family, by type (the text format's rules).
SERIES_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "info": ("_info",),
}


@dataclass
class Stack:
    api: services.Service
    prometheus: services.Service
    alerts_before_traffic: list[dict[str, Any]]


def _require_prometheus() -> None:
    if shutil.which("prometheus") and shutil.which("promtool"):
        return
    hint = (
        "Prometheus is not installed: on Debian or Ubuntu run `sudo apt-get install prometheus` "
        "(it provides `prometheus` and `promtool`; .ci/run installs it in CI)"
    )
    if os.environ.get("CI"):
        pytest.fail(hint, pytrace=False)  # CI has it: a skip there would hide a broken setup
    pytest.skip(hint)


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def query(prometheus: services.Service, promql: str) -> list[dict[str, Any]]:
    """An instant query through Prometheus' HTTP API; the result vector."""
    response = httpx.get(
        prometheus.url + "/api/v1/query", params={"query": promql}, timeout=10, trust_env=False
    )
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def _alerts(prometheus: services.Service, name: str) -> list[dict[str, Any]]:
    """The pending or firing alerts called ``name``."""
    response = httpx.get(prometheus.url + "/api/v1/alerts", timeout=10, trust_env=False)
    return [a for a in response.json()["data"]["alerts"] if a["labels"]["alertname"] == name]


def _send_traffic(api: services.Service, seconds: float) -> None:
    """The package's mixed load (good trips, 422s, 415s, batches), spread over several scrapes.

    Spread, because a counter that first appears already at its final value has a rate of 0:
    Prometheus needs to see it grow between two scrapes.
    """
    sent = send_traffic(api.url, seconds)
    assert set(sent) == {
        ("/predict", 200), ("/predict", 422), ("/predict", 415), ("/predict/batch", 200),
    }, sent  # fmt: skip


@pytest.fixture(scope="module")
def stack(
    mlflow_server: services.Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    _require_prometheus()
    result = train(simulate_days(range(3), n=300), simulate_days([3], n=200), kind="ridge")
    version = registry.register(result.model_uri, MODEL_NAME)
    registry.promote(version.version, MODEL_NAME)
    workdir = tmp_path_factory.mktemp("scrape")
    api = start_api(workdir=workdir, tracking_uri=mlflow_server.url, model_name=MODEL_NAME)
    with (
        api,
        services.start_prometheus(
            workdir=workdir, targets={"api": api.url}, scrape_interval="1s"
        ) as prometheus,
    ):
        _wait_for(lambda: query(prometheus, 'up{job="api"} == 1'), "the api target to be up")
        before = _wait_for(
            lambda: _alerts(prometheus, "ApiNoTraffic"),
            "ApiNoTraffic to go pending before any prediction",
        )
        _send_traffic(api, seconds=4.0)
        yield Stack(api, prometheus, before)


def test_prometheus_scrapes_the_api(stack: Stack) -> None:
    response = httpx.get(stack.prometheus.url + "/api/v1/targets", timeout=10, trust_env=False)
    targets = {t["labels"]["job"]: t for t in response.json()["data"]["activeTargets"]}
    assert set(targets) == {"prometheus", "api"}, "the rendered config scrapes itself and the API"
    assert targets["api"]["health"] == "up", targets["api"].get("lastError")
    assert targets["api"]["scrapeUrl"] == stack.api.url + "/metrics"


def test_the_course_alert_rules_are_loaded(stack: Stack) -> None:
    response = httpx.get(stack.prometheus.url + "/api/v1/rules", timeout=10, trust_env=False)
    rules = [rule for group in response.json()["data"]["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {rule["alert"] for rule in alert_rules()}
    assert rules, "Prometheus loaded no alert rules"
    assert all(rule["health"] in {"ok", "unknown"} for rule in rules), rules


def test_no_traffic_alert_pends_before_traffic_and_clears_after(stack: Stack) -> None:
    """ApiNoTraffic went pending while nobody called /predict, and traffic ends it."""
    (alert,) = stack.alerts_before_traffic
    assert alert["state"] == "pending"  # `for: 10m` keeps it from firing in a test
    assert alert["labels"]["job"] == "api"
    _wait_for(
        lambda: not _alerts(stack.prometheus, "ApiNoTraffic"),
        "ApiNoTraffic to clear once predictions arrive",
    )


def test_request_rates_and_latency_quantiles_are_queryable(stack: Stack) -> None:
    rates = _wait_for(
        lambda: query(
            stack.prometheus,
            'sum by (route, status) (rate(mlops_api_requests_total{route="/predict"}[30s])) > 0',
        ),
        "request rates of /predict",
    )
    statuses = {r["metric"]["status"] for r in rates}
    assert {"200", "422"} <= statuses, rates
    by_status = {r["metric"]["status"]: float(r["value"][1]) for r in rates}
    assert by_status["200"] > by_status["422"], "five good trips for each invalid one"

    p99 = query(
        stack.prometheus,
        "histogram_quantile(0.99, sum by (route, le) "
        '(rate(mlops_api_request_duration_seconds_bucket{route=~"/predict.*"}[30s])))',
    )
    latency = {r["metric"]["route"]: float(r["value"][1]) for r in p99}
    assert set(latency) == {"/predict", "/predict/batch"}, p99
    assert all(0 < value <= 2.5 for value in latency.values()), latency

    served = query(stack.prometheus, "mlops_api_model_info")
    assert [s["metric"]["name"] for s in served] == [MODEL_NAME]


def _exported_names(api: services.Service) -> set[str]:
    """Every series name the API's /metrics declares (labelled metrics count before first use)."""
    text = httpx.get(api.url + "/metrics", timeout=10, trust_env=False).text
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def test_every_metric_an_alert_or_a_dashboard_reads_is_exported(stack: Stack) -> None:
    referenced: dict[str, set[str]] = {}
    for where, expr in {**alert_expressions(), **dashboard_expressions()}.items():
        for name in metric_names(expr) - PROMETHEUS_OWN_SERIES:
            referenced.setdefault(name, set()).add(where)
    exported = _exported_names(stack.api)
    assert "mlops_api_requests_total" in exported and "mlops_api_model_info" in exported
    assert {"mlops_drift_detected", "mlops_api_model_created_timestamp_seconds"} <= set(referenced)
    missing = {name: sorted(where) for name, where in referenced.items() if name not in exported}
    assert not missing, f"read by alerts or dashboards, but not exported by the API: {missing}"
