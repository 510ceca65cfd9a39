"""The one place that saves, logs and loads models, and decides which types a model file may hold.

Loading a model file can run code. Pickle runs whatever the file says; skops, the format the
course uses, refuses every type that is not on an allow-list. That list is security-relevant, so
it is written once (:data:`SKOPS_TRUSTED_TYPES`) and every save, log and load goes through this
module: the DVC steps' ``.skops`` files, the runs that training and the gate log to MLflow, the
registry and the model API.

MLflow is imported inside the functions: the DVC steps save and load files without it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models.model import ModelInfo
    from sklearn.pipeline import Pipeline

# Each model kind lists exactly the extra types its fitted pipeline contains, and nothing more: a
# test compares these lists with what skops reports for a freshly trained model, so a list can
# neither grow silently nor miss a type.
SKOPS_TRUSTED_TYPES: dict[str, list[str]] = {
    "hgb": ["numpy.dtype", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"],
    "ridge": ["numpy.dtype"],
    "random_forest": ["numpy.dtype", "sklearn.tree._tree.Tree"],
}


def trusted_types(kind: str | None = None) -> list[str]:
    """The types a model of ``kind`` may contain; of any course model when ``kind`` is None.

    The union is for models whose kind is not known when they are loaded (a file handed to the
    gate); it is still only the types that the course's own model kinds need.

    Parameters
    ----------
    kind : str or None
        A key of :data:`SKOPS_TRUSTED_TYPES` (``"hgb"``, ``"ridge"``, ``"random_forest"``).
    """
    if kind is None:
        return sorted({t for types in SKOPS_TRUSTED_TYPES.values() for t in types})
    try:
        return list(SKOPS_TRUSTED_TYPES[kind])
    except KeyError:
        known = ", ".join(SKOPS_TRUSTED_TYPES)
        raise ValueError(f"unknown model kind {kind!r}; expected one of: {known}") from None


def model_requirements() -> list[str]:
    """The exact packages a served model needs, pinned to the versions that trained it.

    Stating them is faster than MLflow's inference (which imports the model in a subprocess for
    every logged model) and exact: the pins are the course's own, from ``requirements.txt``.
    """
    names = ["mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy"]
    return [f"{name}=={version(name)}" for name in names]


def save_file(model: Pipeline, path: Path) -> Path:
    """Write ``model`` to ``path`` in the skops format (what the DVC train step produces)."""
    import skops.io  # imported on use: it takes seconds, and most callers never save a file

    path.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, path)
    return path


def load_file(path: Path, kind: str | None = None) -> Pipeline:
    """Read a skops file, trusting only the types of ``kind`` (of any course model if None).

    Parameters
    ----------
    path : Path
        A file written by :func:`save_file`.
    kind : str or None
        The model kind, when known: the narrowest allow-list then applies.
    """
    import skops.io

    return skops.io.load(path, trusted=trusted_types(kind))


@contextmanager
def trusted_model_loading() -> Iterator[None]:
    """Allow MLflow to deserialize a model for the duration of the block.

    Loading a model file can execute code, even with skops: its allow-list of trusted types is
    stored inside the logged model, so a crafted model could trust dangerous types. A hardened
    deployment therefore sets ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false``, and MLflow then
    refuses every load. The course only loads models that its own training code logged to its own
    registry, so it opts in here, narrowly, and a stray load anywhere else stays refused.
    """
    key = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
    before = os.environ.get(key)
    os.environ[key] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def load_logged(uri: str) -> Pipeline:
    """Load a model that MLflow logged (``models:/``, ``runs:/`` or a downloaded folder).

    Parameters
    ----------
    uri : str
        Anything ``mlflow.sklearn.load_model`` accepts.
    """
    import mlflow.sklearn

    with trusted_model_loading():
        return mlflow.sklearn.load_model(uri)


def log_model(model: Pipeline, example: pd.DataFrame, kind: str | None = None) -> ModelInfo:
    """Log ``model`` to the active MLflow run: skops, trusted types, signature, example, pins.

    The signature and the input example are what the model API checks requests against and shows
    in its documentation; the pinned requirements are what its image installs.

    Parameters
    ----------
    model : Pipeline
        A fitted pipeline of :func:`mlops_course.train.build_model`.
    example : DataFrame
        A few rows of model input (``features.to_model_input``), stored with the model.
    kind : str or None
        The model kind, for the narrowest allow-list; None trusts the types of any course model.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow warns that integer columns cannot hold missing values; hour and weekday are
        # never missing (validation guarantees it), so the warning would only be noise.
        warnings.filterwarnings("ignore", message=".*integer column.*")
        return mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            serialization_format="skops",
            skops_trusted_types=trusted_types(kind),
            pip_requirements=model_requirements(),
        )
