"""Benchmark: drift detection on 100,000 rows x 10 columns, side by side with Evidently.

``python benchmarks/drift.py`` generates a deterministic reference and current sample (100,000
rows each; 8 numerical and 2 categorical columns, some of them shifted by known amounts), times
:func:`mlops_course.monitoring.detect_drift` (best of a few runs), runs Evidently's
``DataDriftPreset`` on the same data in its own virtual environment (created on first use in
``benchmarks/.venvs/evidently``: Evidently pins pandas below 3), and writes
``benchmarks/results/drift.json``: both times, the share of columns on which both decide the
same, and each column's decisions as "ours / Evidently" (the statistics of both go to
``drift_features.json``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine

from mlops_course.monitoring import detect_drift

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "drift.json"
# Per-column statistics of both tools: too detailed for the book's results table, read by the
# stage 4 notebook.
DETAILS = HERE / "results" / "drift_features.json"
VENV = HERE / ".venvs" / "evidently"
# Evidently 0.7.23 imports pandas internals removed in pandas 3, hence its own pandas pin.
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas==2.3.3", "pyarrow==26.0.1"]
ROWS = 100_000
REPEATS = 5
SEED = 7

# column: (how the current sample differs from the reference, as a people-readable note)
SHIFTS = {
    "num_0": "mean +0.5 sd (drift)",
    "num_1": "sd x1.5 (drift)",
    "num_2": "mean +0.02 sd (negligible: not drift, though a KS p-value is tiny)",
    "num_3": "mean +0.2 sd (drift)",
    "num_4": "unchanged",
    "num_5": "unchanged (lognormal)",
    "num_6": "unchanged (integer counts)",
    "num_7": "10% of values multiplied by 1000 (unit error)",
    "cat_0": "new category 'new' in 15% of rows (drift)",
    "cat_1": "unchanged",
}
NUMERICAL = [f"num_{i}" for i in range(8)]
CATEGORICAL = ["cat_0", "cat_1"]


def make_data(rows: int = ROWS, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current sample with the shifts listed in ``SHIFTS``."""
    rng = np.random.default_rng(seed)

    def sample(current: bool) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "num_0": rng.normal(0.5 if current else 0.0, 1.0, rows),
                "num_1": rng.normal(10.0, 3.0 if current else 2.0, rows),
                "num_2": rng.normal(0.02 if current else 0.0, 1.0, rows),
                "num_3": rng.normal(100.0 + (2.0 if current else 0.0), 10.0, rows),
                "num_4": rng.uniform(0.0, 1.0, rows),
                "num_5": rng.lognormal(1.0, 0.5, rows),
                "num_6": rng.poisson(3.0, rows).astype("float64"),
                "num_7": rng.gamma(2.0, 2.0, rows),
                "cat_0": rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1]),
                "cat_1": rng.choice(["x", "y", "z"], rows, p=[0.5, 0.3, 0.2]),
            }
        )
        if current:
            broken = rng.random(rows) < 0.10
            frame.loc[broken, "num_7"] *= 1000.0
            frame.loc[rng.random(rows) < 0.15, "cat_0"] = "new"
        frame[CATEGORICAL] = frame[CATEGORICAL].astype(object)
        return frame

    return sample(current=False), sample(current=True)


def time_ours(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[float, dict[str, dict]]:
    """Best time of ``REPEATS`` runs of detect_drift, and its per-column results."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        report = detect_drift(reference, current)
        times.append(time.perf_counter() - start)
    frame = report.frame.set_index("feature")
    features = {
        name: {
            "method": row["method"],
            "statistic": float(row["statistic"]),
            "threshold": float(row["threshold"]),
            "drifted": bool(row["drifted"]),
        }
        for name, row in frame.iterrows()
    }
    return min(times), features


def evidently_python() -> Path:
    """The Evidently venv's interpreter, creating the venv (Python 3.11, from PyPI) if needed."""
    python = VENV / "bin" / "python"
    marker = VENV / "requirements.txt"
    if (
        python.exists()
        and marker.exists()
        and marker.read_text() == "\n".join(EVIDENTLY_REQUIREMENTS)
    ):
        return python
    print(f"creating {VENV} with {', '.join(EVIDENTLY_REQUIREMENTS)} (once, takes a minute)")
    subprocess.run(["python3.11", "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_REQUIREMENTS], check=True
    )
    marker.write_text("\n".join(EVIDENTLY_REQUIREMENTS))
    return python


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    """Run ``evidently_drift.py`` in Evidently's venv, exchanging parquet and JSON files."""
    python = evidently_python()
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as folder:
        path = Path(folder)
        reference.to_parquet(path / "reference.parquet", index=False)
        current.to_parquet(path / "current.parquet", index=False)
        columns = {"numerical": NUMERICAL, "categorical": CATEGORICAL, "repeats": 3}
        (path / "columns.json").write_text(json.dumps(columns))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "DO_NOT_TRACK": "1"}
        subprocess.run([str(python), str(HERE / "evidently_drift.py"), folder], check=True, env=env)
        return json.loads((path / "evidently.json").read_text())


def _word(feature: dict) -> str:
    return "drift" if feature["drifted"] else "no drift"


def main() -> None:
    reference, current = make_data()
    ours_seconds, ours = time_ours(reference, current)
    print(f"detect_drift: {ours_seconds:.3f} s for {ROWS:,} rows x {len(SHIFTS)} columns")
    evidently = run_evidently(reference, current)
    print(f"Evidently DataDriftPreset: {evidently['seconds']:.3f} s")
    decisions = {
        name: {
            "shift": SHIFTS[name],
            "ours": ours[name],
            "evidently": evidently["features"][name],
            "agree": ours[name]["drifted"] == evidently["features"][name]["drifted"],
        }
        for name in SHIFTS
    }
    agreement = sum(d["agree"] for d in decisions.values()) / len(decisions)
    result = {
        "seconds_100k": round(ours_seconds, 4),
        "seconds_evidently_100k": round(evidently["seconds"], 4),
        "speedup": round(evidently["seconds"] / ours_seconds, 1),
        "decision_agreement": agreement,
        "rows": ROWS,
        "columns": {"numerical": len(NUMERICAL), "categorical": len(CATEGORICAL)},
        "decisions": {
            name: f"{_word(d['ours'])} / {_word(d['evidently'])}" for name, d in decisions.items()
        },
        "machine": machine(),
        "versions": {
            "python": platform.python_version(),
            "mlops_course": version("mlops-course"),
            "numpy": version("numpy"),
            "scipy": version("scipy"),
            "pandas": version("pandas"),
            "evidently": evidently["evidently"],
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    DETAILS.write_text(json.dumps(decisions, indent=2) + "\n")
    for name, decision in decisions.items():
        mark = "agree" if decision["agree"] else "DIFFER"
        print(
            f"  {name}: ours {decision['ours']['drifted']!s:5} "
            f"evidently {decision['evidently']['drifted']!s:5} {mark}  ({decision['shift']})"
        )
    print(f"decision agreement {agreement:.0%}; wrote {RESULT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    sys.exit(main())
