"""Shared fixtures: a small generated data set and a model trained on it, made once per session."""

from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from src.data.generate import generate
from src.models.model import save_model
from src.train import fit
from src.utils.config import load_params


@pytest.fixture(scope="session")
def params() -> dict:
    return load_params()


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return generate(n_rows=600, seed=0)


@pytest.fixture(scope="session")
def trained(frame: pd.DataFrame, params: dict) -> tuple[Pipeline, dict[str, float]]:
    return fit(frame, params)


@pytest.fixture(scope="session")
def model_path(trained: tuple[Pipeline, dict[str, float]], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "model.skops"
    save_model(trained[0], path)
    return path
