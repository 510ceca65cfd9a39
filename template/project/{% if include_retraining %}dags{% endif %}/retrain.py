"""The continuous-training flow: fresh data → validate → train a challenger → compare → promote.

The challenger replaces the serving model (the champion) only when it passes the quality gate and
is at least as good as the champion *on the same fresh held-out rows*: comparing each model on
its own test set would compare the data, not the models. Every challenger is logged to MLflow; a
promoted one also gets the registry alias `champion`.

Run it with `python -m dags.retrain --day N`; `.github/workflows/retrain.yml` runs it on a schedule.
Here the fresh data comes from the example generator (a different seed per day): replace
`fresh_data` with a query of the data collected since the last run.
"""

import argparse
import json
from typing import Any

import pandas as pd

from src.data.generate import generate
from src.data.schema import FEATURES
from src.data.split import split
from src.data.validate import validate
from src.models.metrics import is_better, score
from src.models.model import load_model, save_model
from src.pipelines.gate import gate_failures
from src.train import fit, log_run
from src.utils.config import MODEL_PATH, REPORTS, load_params, mlflow_config


def fresh_data(day: int, params: dict[str, Any]) -> pd.DataFrame:
    """The data of `day`: the example generator with a seed of its own."""
    return generate(params["data"]["n_rows"], params["seed"] + day)


def set_champion(run_id: str) -> None:
    """Point the registry alias `champion` at the model version that run `run_id` registered."""
    from mlflow import MlflowClient

    config = mlflow_config()
    client = MlflowClient(tracking_uri=config["tracking_uri"])
    name = config["registered_model_name"]
    (version,) = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    client.set_registered_model_alias(name, "champion", version.version)


def run(day: int) -> dict[str, Any]:
    """One pass of the flow; returns the decision and the numbers behind it."""
    params = load_params()
    clean, _ = validate(fresh_data(day, params), params["validate"]["max_invalid_fraction"])
    challenger, metrics = fit(clean, params)
    _, test = split(clean, params["split"]["test_size"], params["seed"])
    champion = score(load_model(MODEL_PATH), test) if MODEL_PATH.is_file() else None
    failures = gate_failures(metrics, params["gate"]["threshold"])
    promote = not failures and (champion is None or is_better(metrics, champion))
    run_id = log_run(challenger, params, metrics, clean[FEATURES].head(20))
    if promote:
        save_model(challenger, MODEL_PATH)
        set_champion(run_id)
    decision = {
        "day": day,
        "promoted": promote,
        "gate_failures": failures,
        "challenger": metrics,
        "champion": champion,
        "mlflow_run_id": run_id,
    }
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "retrain.json").write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    return decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=int, required=True, help="which day's data to train on")
    decision = run(parser.parse_args().day)
    verdict = "promoted" if decision["promoted"] else "kept the champion"
    print(f"day {decision['day']}: {verdict}; gate failures: {decision['gate_failures'] or 'none'}")


if __name__ == "__main__":
    main()
