"""The DVC pipeline of dvc.yaml and params.yaml, run for real by `dvc repro` in a scratch folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def _set_params(project: Path, **changes: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    for section, values in changes.items():
        params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git + DVC project with the course's pipeline, sized down to run in seconds.

    It has the repository's own .gitignore, so what `make pipeline` meets in a clone (DVC
    refuses to run when dvc.lock is git-ignored) is met here too.
    """
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(REPO / name, tmp_path / name)
    _set_params(tmp_path, data={"days": 5, "trips_per_day": 300}, split={"eval_days": 1})
    _run(["git", "init", "-q", "-b", "main"], tmp_path)
    _run(["dvc", "init", "-q"], tmp_path)
    _run(["dvc", "config", "core.analytics", "false"], tmp_path)
    return tmp_path


def test_repro_reruns_only_what_a_change_affects(project: Path) -> None:
    first = _run(["dvc", "repro"], project)
    for stage in ("ingest", "validate", "featurize", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first.stdout
    metrics = json.loads((project / "metrics" / "eval.json").read_text())
    assert metrics["mae"] < 0.6 * metrics["baseline_mae"]
    assert (project / "plots" / "predictions.csv").exists()
    _run(["git", "add", "-A"], project)
    _run(["git", "commit", "-qm", "v1"], project)

    again = _run(["dvc", "repro"], project)
    assert "Running stage" not in again.stdout
    assert "up to date" in again.stdout

    _set_params(
        project, train={"hgb": {"max_iter": 50, "learning_rate": 0.3, "max_leaf_nodes": 15}}
    )
    changed = _run(["dvc", "repro"], project)
    assert "Running stage 'train'" in changed.stdout
    assert "Running stage 'evaluate'" in changed.stdout
    for untouched in ("ingest", "validate", "featurize"):
        assert f"Running stage '{untouched}'" not in changed.stdout

    params_diff = _run(["dvc", "params", "diff"], project).stdout
    assert "train.hgb.learning_rate" in params_diff and "0.3" in params_diff
    metrics_diff = _run(["dvc", "metrics", "diff"], project).stdout
    assert "metrics/eval.json" in metrics_diff and "mae" in metrics_diff


def test_a_bad_batch_stops_the_pipeline_and_is_quarantined(project: Path) -> None:
    _set_params(project, data={"first_day": 27, "days": 5, "scenario": "data_quality"})
    stopped = _run(["dvc", "repro"], project, check=False)
    assert stopped.returncode != 0
    output = stopped.stdout + stopped.stderr
    assert "pipeline stopped" in output and "distance_km" in output and "passengers" in output
    quarantined = sorted(p.name for p in (project / "data" / "quarantine").glob("*.parquet"))
    assert quarantined == [f"trips_day_{d:03d}.parquet" for d in (30, 31)]
    assert (project / "data" / "quarantine" / "trips_day_030.report.json").exists()
    assert not (project / "models" / "model.skops").exists(), "trained on bad data"
    report = json.loads((project / "reports" / "validation.json").read_text())
    assert report["quarantined"] == 2

    _set_params(project, data={"skip_days": [30, 31]})
    resumed = _run(["dvc", "repro"], project)
    assert "Running stage 'train'" in resumed.stdout
    assert (project / "models" / "model.skops").exists()


def test_invalid_parameters_are_named(project: Path) -> None:
    _set_params(project, train={"kind": "xgboost"})
    done = _run(["mlops-course", "pipeline", "train"], project, check=False)
    assert done.returncode == 2
    assert "train.kind" in done.stderr and "Traceback" not in done.stderr
