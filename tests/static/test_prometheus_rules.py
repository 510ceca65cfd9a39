"""The alert rules: valid for Prometheus, unit-tested with promtool, and the tests can fail.

`promtool check rules` parses every expression and template; `promtool test rules` replays
hand-written series through the rules and compares the alerts that fire, with their labels and
rendered messages, to the expected ones. The mutation tests below prove the unit tests bite: an
alert that never fires, or always fires, must make them fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlops_course import services
from tests.static.promql import (
    ALERT_RULES,
    ALERT_TESTS,
    PROMETHEUS_CONFIG,
    alert_rules,
    metric_names,
    promtool,
)

# The issue asks for these five; ApiDown is the one a team adds first and is here too.
REQUIRED_ALERTS = {
    "ApiHighErrorRate",
    "ApiLatencyP99AboveSLO",
    "ApiNoTraffic",
    "ModelDriftDetected",
    "ModelStale",
}
SEVERITIES = {"page", "ticket"}


def _rule_tests() -> list[dict]:
    return [
        test
        for path in ALERT_TESTS
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    ]


def _alert_cases(*, firing: bool) -> set[str]:
    """Alert names with a test case expecting them to fire (or to stay silent)."""
    return {
        case["alertname"]
        for test in _rule_tests()
        for case in test.get("alert_rule_test", [])
        if bool(case.get("exp_alerts")) == firing
    }


def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_rule_unit_tests_pass() -> None:
    assert len(ALERT_TESTS) == 2, (
        f"expected alerts_test.yml and alerts_days_test.yml: {ALERT_TESTS}"
    )
    result = promtool("test", "rules", *map(str, ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(ALERT_TESTS), result.stdout


def test_the_required_alerts_exist_and_say_who_acts() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) >= REQUIRED_ALERTS, f"missing alerts: {REQUIRED_ALERTS - set(rules)}"
    for name, rule in rules.items():
        assert rule.get("labels", {}).get("severity") in SEVERITIES, (
            f"{name}: set labels.severity to one of {sorted(SEVERITIES)} so it is routed"
        )
        assert rule.get("for"), f"{name}: without `for`, one bad scrape pages someone"
        annotations = rule.get("annotations", {})
        assert {"summary", "description"} <= set(annotations), (
            f"{name}: a person needs a summary and a description"
        )


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    never_fired = names - _alert_cases(firing=True)
    never_silent = names - _alert_cases(firing=False)
    assert not never_fired, f"no test case makes these fire: {never_fired}"
    assert not never_silent, f"no test case expects these to stay silent: {never_silent}"


def test_the_rule_tests_load_the_rules_the_config_loads() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == [ALERT_RULES.name]
    for path in ALERT_TESTS:
        tests = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert tests["rule_files"] == [ALERT_RULES.name], path.name


def _mutated(tmp_path: Path, alert: str, expr: str) -> list[str]:
    """Copies of the rules and of the tests of ``alert``, which now has the expression ``expr``."""
    mutated = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))
    for group in mutated["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
    (tmp_path / ALERT_RULES.name).write_text(yaml.safe_dump(mutated))
    testing = [path for path in ALERT_TESTS if f"alertname: {alert}" in path.read_text()]
    for path in testing:
        shutil.copy(path, tmp_path / path.name)
    return [str(tmp_path / path.name) for path in testing]


@pytest.mark.parametrize("alert", sorted(REQUIRED_ALERTS | {"ApiDown"}))
@pytest.mark.parametrize(
    ("mutation", "expr"), [("never fires", "vector(1) == 0"), ("always fires", "vector(1)")]
)
def test_the_unit_tests_catch_a_broken_alert(
    alert: str, mutation: str, expr: str, tmp_path: Path
) -> None:
    """Proves the unit tests bite: each alert replaced by a constant fails them, naming it."""
    result = promtool("test", "rules", *_mutated(tmp_path, alert, expr))
    assert result.returncode != 0, f"the tests still pass when {alert} {mutation}"
    assert f"alertname: {alert}" in result.stdout + result.stderr


def test_promtool_rejects_an_invalid_expression(tmp_path: Path) -> None:
    """Proves the check is live: a typo in PromQL is an error, not a silent no-op."""
    _mutated(tmp_path, "ApiHighErrorRate", "sum(rate(mlops_api_requests_total[5m])")
    result = promtool("check", "rules", str(tmp_path / ALERT_RULES.name))
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_metric_names_are_read_from_promql() -> None:
    """The helper that finds the metrics an alert or a panel reads (see test_prometheus_scrape)."""
    expr = """
        histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{route=~"/p(x)"}[5m])))
          > 0.25 and on (job) (time() - b_timestamp_seconds offset 1m > 7 * 24 * 3600)
          unless ignoring (le) label_replace(c_total, "dst", "$1", "src", "(.*)") > 1e3
    """
    assert metric_names(expr) == {"a_seconds_bucket", "b_timestamp_seconds", "c_total"}
    assert metric_names('sum(rate(x_total{status!~"5.."}[$__rate_interval]))') == {"x_total"}
    alert_names = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    assert "mlops_api_requests_total" in alert_names
    assert "mlops_api_request_duration_seconds_bucket" in alert_names


# --- the embedded config, rendered from the compose config -------------------------------------


def test_the_rendered_config_scrapes_loopback_and_keeps_the_rules(tmp_path: Path) -> None:
    """What start_prometheus runs: same jobs and rules as compose, loopback targets, 1 s steps."""
    rendered = services.render_prometheus_config(
        PROMETHEUS_CONFIG,
        tmp_path / "prometheus.yml",
        {"prometheus": "127.0.0.1:9999", "api": "http://127.0.0.1:8123"},
        scrape_interval="1s",
    )
    config = yaml.safe_load(rendered.read_text())
    targets = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    assert targets == {
        "prometheus": [{"targets": ["127.0.0.1:9999"]}],
        "api": [{"targets": ["127.0.0.1:8123"]}],
    }
    assert all("scrape_interval" not in job for job in config["scrape_configs"])
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "1s"
    assert config["rule_files"] == [str(ALERT_RULES)]
    result = promtool("check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr


def test_jobs_without_a_target_are_left_out(tmp_path: Path) -> None:
    """Compose hostnames do not resolve outside the stack; an unmapped job would only fail."""
    rendered = services.render_prometheus_config(
        PROMETHEUS_CONFIG, tmp_path / "p.yml", {"prometheus": "127.0.0.1:9999"}
    )
    config = yaml.safe_load(rendered.read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == ["prometheus"]
    assert config["global"]["scrape_interval"] == "15s", "no override asked: keep the config's"


def test_a_target_for_an_unknown_job_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(services.ServiceError, match=r"no scrape job named apii.*prometheus, api"):
        services.render_prometheus_config(
            PROMETHEUS_CONFIG, tmp_path / "p.yml", {"apii": "127.0.0.1:1"}
        )
