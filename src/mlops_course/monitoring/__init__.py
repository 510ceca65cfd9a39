"""Model monitoring (stage 4): drift, data quality and performance against the training reference.

- :mod:`.drift`: per-column tests and the dataset decision (:func:`detect_drift`, :func:`psi`);
- :mod:`.trips`: the course's monitored columns and per-column settings (:func:`detect_trip_drift`);
- :mod:`.quality`: null shares, out-of-range shares, new categories;
- :mod:`.performance`: MAE/RMSE over a sliding window once labels arrive;
- :mod:`.reference`: the training reference each run logs to MLflow, and how to load it;
- :mod:`.online`: :class:`DriftMonitor`, the window of served rows inside the model API;
- :mod:`.gauges`: the Prometheus gauges alert rules read;
- :mod:`.report`: plots and self-contained HTML reports;
- :mod:`.dashboards`: the Grafana dashboards' queries run against Prometheus, and their preview;
- :mod:`.backtest`: replay the simulator's days and grade the monitors against the truth.

The names below are imported on first use: importing one submodule (say, the drift statistics)
must not pay for MLflow and scikit-learn through this package.
"""

from __future__ import annotations

from mlops_course.lazy import lazy_exports

__all__ = [
    "MONITORED",
    "DriftMonitor",
    "DriftReport",
    "FeatureDrift",
    "build_reference",
    "check_quality",
    "detect_drift",
    "detect_trip_drift",
    "load_reference",
    "psi",
]
_WHERE = {
    "build_reference": "mlops_course.monitoring.reference",
    "check_quality": "mlops_course.monitoring.quality",
    "detect_drift": "mlops_course.monitoring.drift",
    "detect_trip_drift": "mlops_course.monitoring.trips",
    "DriftMonitor": "mlops_course.monitoring.online",
    "DriftReport": "mlops_course.monitoring.drift",
    "FeatureDrift": "mlops_course.monitoring.drift",
    "load_reference": "mlops_course.monitoring.reference",
    "MONITORED": "mlops_course.monitoring.trips",
    "psi": "mlops_course.monitoring.drift",
}


__getattr__ = lazy_exports(__name__, _WHERE)
