"""Grafana provisioning: the datasource, the dashboard provider and the dashboards themselves.

There is no Grafana process in CI, so these checks catch offline what would otherwise show only
in a learner's browser after `make up`: a dashboard that asks which datasource to use, a panel
without a query, a query Prometheus cannot parse, or files mounted where Grafana does not look.
Whether every metric a panel reads is one the API exports is checked against a running API in
tests/integration/test_prometheus_scrape.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.static.promql import (
    GRAFANA_DIR,
    check_expressions,
    dashboard_expressions,
    dashboards,
    metric_names,
    panels,
)

DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources"
PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards"
COMPOSE_FILE = GRAFANA_DIR.parent / "docker-compose.yml"
# Where the compose stack mounts the two folders (and where the provider file says to look).
PROVISIONING_MOUNT = "/etc/grafana/provisioning"
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"


def _yaml_files(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
    assert files, f"no provisioning file in {folder}"
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in files]


def _datasource() -> dict:
    (config,) = _yaml_files(DATASOURCES)
    (datasource,) = config["datasources"]
    return datasource


def test_the_datasource_is_the_stack_prometheus() -> None:
    (config,) = _yaml_files(DATASOURCES)
    assert config["apiVersion"] == 1
    datasource = _datasource()
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090", "the compose service is `prometheus`"
    assert datasource["access"] == "proxy", "the browser cannot resolve `prometheus`; Grafana can"
    assert datasource.get("isDefault") is True
    assert datasource.get("uid"), "dashboards refer to the datasource by a fixed uid"


def test_the_provider_loads_the_mounted_dashboards() -> None:
    (config,) = _yaml_files(PROVIDERS)
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARDS_MOUNT


def test_compose_mounts_the_provisioning_where_grafana_reads_it() -> None:
    grafana = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"].get("grafana")
    assert grafana is not None, "docker-compose.yml has no grafana service"
    mounts = {}
    for volume in grafana.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[target] = (COMPOSE_FILE.parent / source).resolve()
    assert mounts.get(PROVISIONING_MOUNT) == (GRAFANA_DIR / "provisioning").resolve()
    assert mounts.get(DASHBOARDS_MOUNT) == (GRAFANA_DIR / "dashboards").resolve()


def test_there_are_a_service_and_a_model_dashboard() -> None:
    found = dashboards()
    titles = {dashboard["title"] for dashboard in found.values()}
    # The alert descriptions send people to "Model quality" by name.
    assert {"Model API", "Model quality"} <= titles, titles
    uids = [dashboard["uid"] for dashboard in found.values()]
    assert len(uids) == len(set(uids)), f"dashboard uids must be unique: {uids}"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_panel_queries_the_provisioned_datasource(name: str) -> None:
    dashboard = dashboards()[name]
    uid = _datasource()["uid"]
    assert "${DS_" not in str(dashboard), "an exported-for-sharing placeholder would prompt users"
    assert isinstance(dashboard.get("schemaVersion"), int)
    ids = []
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        title = panel.get("title") or f"panel {panel.get('id')}"
        ids.append(panel["id"])
        assert {"x", "y", "w", "h"} <= set(panel.get("gridPos", {})), f"{title}: no gridPos"
        assert panel.get("datasource") == {"type": "prometheus", "uid": uid}, title
        assert panel.get("targets"), f"{title}: a panel without a query shows nothing"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{title}: a target without expr"
            assert target.get("refId"), f"{title}: every target needs a refId"
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], title
    assert ids, f"{name}: no panels, so no panel was checked"
    assert len(ids) == len(set(ids)), f"{name}: panel ids must be unique: {ids}"


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    expressions = dashboard_expressions()
    assert len(expressions) >= 15, sorted(expressions)
    result = check_expressions(expressions, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in result.stdout


def test_the_query_check_rejects_a_broken_query(tmp_path: Path) -> None:
    """Proves the parse check is live: one unbalanced parenthesis fails it."""
    expressions = {**dashboard_expressions(), "broken": "sum(rate(mlops_api_requests_total[5m])"}
    result = check_expressions(expressions, tmp_path)
    assert result.returncode != 0


def test_the_dashboards_show_what_the_chapter_promises() -> None:
    """Service: traffic, errors, latency, in-flight, version. Model: predictions and drift."""
    read = {name: set() for name in dashboards()}
    for key, expr in dashboard_expressions().items():
        read[key.split(" / ")[0]] |= metric_names(expr)
    assert {
        "mlops_api_requests_total",
        "mlops_api_request_duration_seconds_bucket",
        "mlops_api_requests_in_flight",
        "mlops_api_model_info",
    } <= read["api.json"]
    assert {
        "mlops_api_predicted_duration_minutes_bucket",
        "mlops_drift_share",
        "mlops_feature_drift_score",
    } <= read["model.json"]
