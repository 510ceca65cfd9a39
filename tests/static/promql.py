"""PromQL helpers shared by the alert-rule, Grafana and scrape tests.

Where the alert rules and dashboards live, every PromQL expression they contain, the metric names
an expression reads, and `promtool`, which is the parser of record: an expression is valid when
Prometheus' own tool accepts it, whatever a regular expression here thinks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "src" / "mlops_course" / "monitoring" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERT_RULES = PROMETHEUS_DIR / "alerts.yml"
# Unit tests of the rules: minute-scale alerts in one file, day-scale ones (coarser steps) in one.
ALERT_TESTS = sorted(PROMETHEUS_DIR.glob("*_test.yml"))
GRAFANA_DIR = REPO_ROOT / "docker" / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"

# Series that Prometheus writes itself: they are not exported by the API, and need not be.
PROMETHEUS_OWN_SERIES = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE",
}  # fmt: skip
# Grafana replaces these before a query reaches Prometheus; promtool needs a real duration.
GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b")

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A name not glued to a number (1e3, 5m), not a function (followed by "("), not a variable ($x).
_NAME = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (``rate(a_total{x="y"}[5m]) / b`` → a_total, b)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    return {name for name in _NAME.findall(text) if name.lower() not in _KEYWORDS}


def alert_rules(path: Path = ALERT_RULES) -> list[dict]:
    """Every alerting rule of a rule file, across its groups."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_expressions(path: Path = ALERT_RULES) -> dict[str, str]:
    return {rule["alert"]: rule["expr"] for rule in alert_rules(path)}


def dashboards() -> dict[str, dict]:
    """Every provisioned dashboard, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    }


def panels(dashboard: dict) -> list[dict]:
    """The dashboard's panels, those folded into rows included."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_expressions() -> dict[str, str]:
    """Every query of every dashboard panel: ``"file / panel title / refId"`` → PromQL."""
    return {
        f"{name} / {panel.get('title')} / {target.get('refId')}": target["expr"]
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    }


def promtool(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run promtool; a missing binary fails the test with the install command."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(
            "promtool is not installed: sudo apt-get install prometheus (Debian/Ubuntu; CI "
            "installs it in .ci/run, and it also provides the embedded Prometheus server)",
            pytrace=False,
        )
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
    )


def check_expressions(expressions: dict[str, str], folder: Path) -> subprocess.CompletedProcess:
    """``promtool check rules`` on the expressions, each embedded as a recording rule.

    promtool has no "check this query" command, but it parses every rule's expression.
    """
    rules = [
        {"record": f"check:expr_{index}", "expr": GRAFANA_INTERVALS.sub("1m", expr)}
        for index, expr in enumerate(expressions.values())
    ]
    path = folder / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    return promtool("check", "rules", str(path))
