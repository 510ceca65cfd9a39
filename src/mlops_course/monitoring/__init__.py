"""Model monitoring (stage 4): drift, data quality and performance against the training reference.

- :mod:`.drift`: per-column tests and the dataset decision (:func:`detect_drift`, :func:`psi`);
- :mod:`.trips`: the course's monitored columns and per-column settings (:func:`detect_trip_drift`);
- :mod:`.quality`: null shares, out-of-range shares, new categories;
- :mod:`.performance`: MAE/RMSE over a sliding window once labels arrive;
- :mod:`.reference`: the training reference each run logs to MLflow, and how to load it;
- :mod:`.online`: :class:`DriftMonitor`, the window of served rows inside the model API;
- :mod:`.gauges`: the Prometheus gauges alert rules read;
- :mod:`.report`: plots and self-contained HTML reports;
- :mod:`.backtest`: replay the simulator's days and grade the monitors against the truth.
"""

from mlops_course.monitoring.drift import DriftReport, FeatureDrift, detect_drift, psi
from mlops_course.monitoring.online import DriftMonitor
from mlops_course.monitoring.quality import check_quality
from mlops_course.monitoring.reference import build_reference, load_reference
from mlops_course.monitoring.trips import MONITORED, detect_trip_drift

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
