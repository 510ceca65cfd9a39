"""Evaluate the saved model on the held-out rows: the numbers the quality gate decides on.

It reloads the model from disk (what the API will serve) rather than trusting the training step's
in-memory object, so a saving or loading bug shows up here and not in production.
"""

import json

import pandas as pd

from src.data.split import split
from src.models.metrics import baseline_score, score
from src.models.model import load_model
from src.utils.config import CLEAN_DATA, MODEL_PATH, REPORTS, load_params


def main() -> None:
    params = load_params()
    train, test = split(pd.read_csv(CLEAN_DATA), params["split"]["test_size"], params["seed"])
    metrics = score(load_model(MODEL_PATH), test)
    metrics.update({f"baseline_{k}": v for k, v in baseline_score(train, test).items()})
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"held-out metrics: {metrics}")


if __name__ == "__main__":
    main()
