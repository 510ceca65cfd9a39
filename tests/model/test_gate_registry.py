"""The gate against a real MLflow registry: what the CI pipeline does, step by step.

First model (no champion yet) passes and becomes the challenger; a person promotes it; a worse
candidate is then blocked against that champion, read from the registry by its alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from mlops_course import registry, services
from mlops_course.gate.cli import app

NAME = "gate-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with services.start_mlflow(workdir=tmp_path_factory.mktemp("mlflow")) as running:
        yield running.url
    mlflow.set_tracking_uri(None)


def test_register_promote_then_block_a_worse_candidate(
    server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    good_model: Pipeline,
    weaker_model: Pipeline,
    eval_frame: pd.DataFrame,
) -> None:
    monkeypatch.setenv("MLOPS_WORKDIR", str(tmp_path / "work"))
    monkeypatch.chdir(tmp_path)
    skops.io.dump(good_model, tmp_path / "good.skops")
    skops.io.dump(weaker_model, tmp_path / "weaker.skops")
    eval_frame.to_parquet(tmp_path / "eval.parquet")
    common = ["--eval-data", "eval.parquet", "--tracking-uri", server, "--model-name", NAME]
    runner = CliRunner()

    first = runner.invoke(app, ["run", "--candidate", "good.skops", *common, "--register"])
    assert first.exit_code == 0, first.output
    assert "no champion yet" in first.output
    assert f"registered {NAME} version 1 as the challenger" in first.output

    promoted = runner.invoke(app, ["promote", "--tracking-uri", server, "--model-name", NAME])
    assert promoted.exit_code == 0, promoted.output
    assert registry.get_version(registry.CHAMPION, NAME).version == "1"

    worse = runner.invoke(app, ["run", "--candidate", "weaker.skops", *common, "--register"])
    assert worse.exit_code == 1, worse.output
    assert f"models:/{NAME}@champion (version 1)" in worse.output
    assert "BLOCK: candidate MAE" in worse.output
    assert registry.get_version(registry.CHALLENGER, NAME).version == "1", (
        "a blocked model was registered"
    )
