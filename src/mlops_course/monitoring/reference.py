"""The training reference that monitoring compares served data with, and where runs keep it.

Drift is always drift *from something*: the data the served model was trained on. Each training
run therefore stores a sample of its training inputs, with the model's predictions on them, as
the MLflow artifact ``reference/reference.parquet``, so the monitor of any registered version
loads exactly its own reference rather than whatever data happens to be on disk.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mlops_course.features import to_model_input
from mlops_course.schema import PREDICTION
from mlops_course.settings import get_settings

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

REFERENCE_ARTIFACT = "reference/reference.parquet"
REFERENCE_ROWS = 5_000


def with_predictions(model: Pipeline, frame: pd.DataFrame) -> pd.DataFrame:
    """The model inputs of ``frame`` plus the model's predictions as column ``prediction``.

    Parameters
    ----------
    model
        A fitted pipeline, or anything else with ``predict``.
    frame
        Trips holding at least the feature columns; the others are left out of the result.
    """
    inputs = to_model_input(frame)
    return inputs.assign(**{PREDICTION: model.predict(inputs)})


def build_reference(
    model: Pipeline, frame: pd.DataFrame, max_rows: int = REFERENCE_ROWS, seed: int | None = None
) -> pd.DataFrame:
    """A seeded random sample of at most ``max_rows`` training rows, with predictions.

    5,000 rows pin every monitored distribution down well (a decile then holds 500 rows) and
    stay a small artifact; sampling, not the first rows, keeps every day represented.
    """
    seed = get_settings().seed if seed is None else seed
    sample = frame.sample(n=min(max_rows, len(frame)), random_state=seed).sort_index()
    return with_predictions(model, sample).reset_index(drop=True)


def log_reference(reference: pd.DataFrame) -> None:
    """Log ``reference`` to the active MLflow run as ``reference/reference.parquet``."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


def load_reference(
    run_id: str | None = None,
    *,
    version: int | str | None = None,
    alias: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """The reference of a run, or of a registered model version given by number or alias.

    Give exactly one of ``run_id``, ``version`` or ``alias``; ``name`` is the registered model
    (default: the course's model name).
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    if sum(x is not None for x in (run_id, version, alias)) != 1:
        raise ValueError("give exactly one of run_id, version or alias to find the reference")
    name = name or get_settings().model_name
    client = MlflowClient()
    if version is not None:
        run_id = client.get_model_version(name, str(version)).run_id
    elif alias is not None:
        run_id = client.get_model_version_by_alias(name, alias).run_id
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=folder
            )
        except (MlflowException, OSError) as error:
            raise LookupError(
                f"run {run_id} has no {REFERENCE_ARTIFACT} artifact ({error}); runs logged by "
                "mlops_course.train.train() store one, so retrain the model with it"
            ) from None
        return pd.read_parquet(path)
