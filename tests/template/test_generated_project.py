"""The generated project works at once: its `make test` passes, `dvc repro` trains and logs to
MLflow, the quality gate passes, and its API serves predictions.

Everything runs with the course's virtual environment, which has every package the project pins
at the same version (test_template_files checks that), so no new environment is installed.
"""

import json
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pins import read_pins

from .conftest import VENV_BIN, generate, project_env, run

TRIP = {"distance_km": 4.2, "hour": 8, "weekday": 1, "passengers": 1, "zone": "center"}


@pytest.fixture(scope="module")
def trained_project(default_project: Path) -> Path:
    """The default project after its first `dvc repro`."""
    run([str(VENV_BIN / "dvc"), "repro"], default_project, project_env(default_project.parent))
    return default_project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def api(trained_project: Path) -> Iterator[str]:
    """The project's API under uvicorn on a free loopback port, as `make serve` starts it."""
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "uvicorn"), "src.api.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=trained_project,
        env=project_env(trained_project.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the API exited:\n{process.stdout.read()}"
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API was not ready within 60 s"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            # Kubernetes and Grafana add no code or tests; retraining does.
            {
                "problem_type": "classification",
                "include_kubernetes": False,
                "include_grafana": False,
            },
            id="classification",
        ),
    ],
)
def test_make_test_passes(answers: dict, tmp_path: Path) -> None:
    """`make test` (ruff, then pytest) of the project, with the course venv as the project's .venv.

    `-o` tells make the venv is up to date, so it does not install requirements.txt into it.
    """
    project = generate(tmp_path / "project", answers)
    venv = VENV_BIN.parent
    output = run(
        [
            "make",
            "test",
            f"VENV={venv}",
            "-o",
            f"{venv}/.installed",
            "PYTEST_ADDOPTS=-p no:cacheprovider",
        ],
        project,
        project_env(tmp_path),
    )
    assert " passed" in output and " failed" not in output


def test_dvc_repro_trains_logs_to_mlflow_and_passes_the_gate(trained_project: Path) -> None:
    metrics = json.loads((trained_project / "reports" / "metrics.json").read_text())
    assert metrics["mae"] < metrics["baseline_mae"]
    assert (trained_project / "models" / "model.skops").is_file()
    assert (trained_project / "dvc.lock").is_file()
    with sqlite3.connect(trained_project / "mlflow.db") as db:
        runs = db.execute("SELECT run_uuid FROM runs WHERE status = 'FINISHED'").fetchall()
        logged = {row[0] for row in db.execute("SELECT key FROM metrics")}
        versions = db.execute("SELECT name, version FROM model_versions").fetchall()
    assert len(runs) == 1
    assert {"mae", "rmse", "r2", "baseline_mae"} <= logged
    assert versions == [("my_mlops_project", 1)]
    # The logged model states its packages at the project's pins (MLflow did not infer them).
    (logged_requirements,) = trained_project.glob("mlruns/**/artifacts/requirements.txt")
    pins = read_pins(trained_project / "requirements.txt")
    stated = read_pins(logged_requirements, strict=True)
    assert sorted(stated) == ["mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops"]
    assert {name: pins[name] for name in stated if name in pins} == {
        name: version for name, version in stated.items() if name in pins
    }
    env = project_env(trained_project.parent)
    gate = run([str(VENV_BIN / "python"), "-m", "src.pipelines.gate"], trained_project, env)
    assert "quality gate passed" in gate


def test_api_serves_predictions_and_metrics(api: str) -> None:
    assert httpx.get(f"{api}/health").json() == {"status": "ok"}
    response = httpx.post(f"{api}/predict", json={"trips": [TRIP, {**TRIP, "distance_km": 15}]})
    assert response.status_code == 200, response.text
    short, long = response.json()["predictions"]
    assert 1 < short < long < 120  # minutes
    bad = httpx.post(f"{api}/predict", json={"trips": [{**TRIP, "zone": "moon"}]})
    assert bad.status_code == 422
    metrics = httpx.get(f"{api}/metrics").text
    assert "api_predictions_total 2.0" in metrics
    assert 'api_requests_total{endpoint="/predict",status="422"} 1.0' in metrics


def test_retraining_challenges_the_champion_and_logs_the_challenger(trained_project: Path) -> None:
    """One pass of dags/retrain.py after `dvc repro`: a champion exists, so it is compared."""
    env = project_env(trained_project.parent)
    run([str(VENV_BIN / "python"), "-m", "dags.retrain", "--day", "1"], trained_project, env)
    decision = json.loads((trained_project / "reports" / "retrain.json").read_text())
    challenger, champion = decision["challenger"], decision["champion"]
    assert champion is not None
    expected = not decision["gate_failures"] and challenger["mae"] <= champion["mae"]
    assert decision["promoted"] == expected
    with sqlite3.connect(trained_project / "mlflow.db") as db:
        runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        aliases = db.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
    assert runs == 2
    assert aliases == ([("champion", 2)] if expected else [])
