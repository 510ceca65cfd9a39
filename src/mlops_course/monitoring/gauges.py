"""Monitoring results as Prometheus gauges, so alert rules and dashboards can read them.

A report in a notebook helps the person who opens it; an alert needs a number that Prometheus
scrapes. The metric names below are a contract with the alert rules beside them (``prometheus/``
of this package) and the Grafana dashboards: rename one and an alert silently stops firing,
which is why they are spelled out once, here.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge

from mlops_course.monitoring.drift import DriftReport

DRIFT_SHARE_METRIC = "mlops_drift_share"
DRIFT_DETECTED_METRIC = "mlops_drift_detected"
FEATURE_DRIFT_SCORE_METRIC = "mlops_feature_drift_score"
FEATURE_DRIFTED_METRIC = "mlops_feature_drifted"
DRIFT_WINDOW_ROWS_METRIC = "mlops_drift_window_rows"
DATA_NULL_SHARE_METRIC = "mlops_data_null_share"


class DriftGauges:
    """The monitoring gauges, registered once in ``registry`` and updated with each report."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.share = Gauge(
            DRIFT_SHARE_METRIC, "Share of monitored columns that drifted.", registry=registry
        )
        self.detected = Gauge(
            DRIFT_DETECTED_METRIC,
            "1 when the dataset-level drift decision is positive.",
            registry=registry,
        )
        self.score = Gauge(
            FEATURE_DRIFT_SCORE_METRIC,
            "Drift statistic of a column (its method: see mlops_course.monitoring.drift).",
            ["feature"],
            registry=registry,
        )
        self.drifted = Gauge(
            FEATURE_DRIFTED_METRIC, "1 when the column drifted.", ["feature"], registry=registry
        )
        self.window_rows = Gauge(
            DRIFT_WINDOW_ROWS_METRIC,
            "Rows in the window the last drift check used.",
            registry=registry,
        )
        self.null_share = Gauge(
            DATA_NULL_SHARE_METRIC,
            "Share of missing values of a column in the window.",
            ["feature"],
            registry=registry,
        )

    def update(
        self,
        report: DriftReport,
        *,
        window_rows: int,
        null_shares: Mapping[str, float] | None = None,
    ) -> None:
        """Set every gauge from ``report`` and the window's null shares."""
        self.share.set(report.share_drifted)
        self.detected.set(int(report.drifted))
        for feature in report.features:
            self.score.labels(feature=feature.feature).set(feature.statistic)
            self.drifted.labels(feature=feature.feature).set(int(feature.drifted))
        self.window_rows.set(window_rows)
        for name, share in (null_shares or {}).items():
            self.null_share.labels(feature=name).set(share)
