"""The quality gate: a model is deployed only if it meets the thresholds and beats the baseline.

CI runs this after `dvc repro` (`python -m src.pipelines.gate`); a non-zero exit stops the
deployment, and the message says which rule failed.
"""

import json
import sys
from pathlib import Path

from src.models.metrics import HIGHER_IS_BETTER, PRIMARY_METRIC
from src.utils.config import REPORTS, load_params


def gate_failures(metrics: dict[str, float], threshold: float) -> list[str]:
    """Every rule the metrics break; an empty list means the model may ship."""
    value = metrics[PRIMARY_METRIC]
    baseline = metrics[f"baseline_{PRIMARY_METRIC}"]
    no_better = f"{PRIMARY_METRIC} {value:.4f} does not beat the baseline {baseline:.4f}"
    failures = []
    if HIGHER_IS_BETTER:
        if value < threshold:
            failures.append(f"{PRIMARY_METRIC} {value:.4f} is below the threshold {threshold}")
        if value <= baseline:
            failures.append(no_better)
    else:
        if value > threshold:
            failures.append(f"{PRIMARY_METRIC} {value:.4f} is above the threshold {threshold}")
        if value >= baseline:
            failures.append(no_better)
    return failures


def main(metrics_path: Path = REPORTS / "metrics.json") -> None:
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    threshold = load_params()["gate"]["threshold"]
    failures = gate_failures(metrics, threshold)
    if failures:
        sys.exit("quality gate failed: " + "; ".join(failures) + " (thresholds: params.yaml, gate)")
    print(f"quality gate passed: {PRIMARY_METRIC} = {metrics[PRIMARY_METRIC]:.4f}")


if __name__ == "__main__":
    main()
