"""Evidently's DataDriftPreset on the benchmark data; run by ``drift.py`` inside Evidently's venv.

Evidently pins pandas below 3, which the course uses, so it runs in its own virtual environment
and talks to the benchmark through files only: ``python evidently_drift.py DIR`` reads
``DIR/reference.parquet``, ``DIR/current.parquet`` and ``DIR/columns.json`` and writes
``DIR/evidently.json`` (best time of ``repeats`` runs and each column's decision).
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main(folder: Path) -> None:
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    columns = json.loads((folder / "columns.json").read_text())
    definition = DataDefinition(
        numerical_columns=columns["numerical"], categorical_columns=columns["categorical"]
    )
    times, snapshot = [], None
    for _ in range(columns["repeats"]):
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        times.append(time.perf_counter() - start)
    features = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method, threshold, value = config["method"], config["threshold"], metric["value"]
        # Evidently's p-value tests drift at or below the threshold, distances at or above it.
        drifted = value <= threshold if "p_value" in method else value >= threshold
        features[config["column"]] = {
            "method": method,
            "statistic": value,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    result = {"seconds": min(times), "evidently": version("evidently"), "features": features}
    (folder / "evidently.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
