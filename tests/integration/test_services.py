"""Services as real processes: they start, answer, and leave nothing behind when stopped."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mlops_course import forkserver, services
from mlops_course.cli import app

REPO = Path(__file__).resolve().parents[2]


def _group_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_mlflow_server_answers_and_stops_with_its_helpers(tmp_path: Path) -> None:
    """The server and every helper process it spawned are gone after stop()."""
    with services.start_mlflow(workdir=tmp_path) as server:
        assert httpx.get(server.url + "/health", timeout=5, trust_env=False).text == "OK"
        experiments = httpx.get(
            server.url + "/api/2.0/mlflow/experiments/search",
            params={"max_results": 5},
            trust_env=False,
        )
        assert experiments.status_code == 200
        assert (tmp_path / "mlflow" / "mlflow.db").exists()
    assert _group_gone(server.pid)


def test_the_server_is_mlflows_own_command_in_one_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mlflow_main` runs ``mlflow server`` with uvicorn in-process: one import of MLflow, not two.

    If a new MLflow no longer spawns uvicorn the way `mlflow_main` expects, the servers still
    start (through the ``mlflow`` command), but this test fails and says where to look. The
    process is looked at as a learner runs it: not a fork of make test's fork server.
    """
    monkeypatch.delenv(forkserver.ENV, raising=False)
    from mlops_course.services import mlflow_main

    assert mlflow_main.in_process_available(), (
        "this MLflow no longer spawns uvicorn through mlflow.server._exec_cmd: update "
        "src/mlops_course/services/mlflow_main.py"
    )
    with services.start_mlflow(workdir=tmp_path) as server:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert b"mlops_course.services.mlflow_main" in cmdline and b"server" in cmdline
        assert children == [], f"the server spawned processes {children}"
        runs = httpx.post(
            server.url + "/api/2.0/mlflow/runs/search", json={"experiment_ids": ["0"]},
            trust_env=False,
        )  # fmt: skip
        assert runs.status_code == 200, runs.text


def test_a_new_server_starts_from_a_copy_of_the_migrated_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built once per MLflow version by MLflow itself, tables only; the server adds the rest.

    That a server starts from such a copy, and creates the Default experiment, every other
    integration test shows: their servers all start from the copy in the user's cache.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    services.mlflow_server._copy_empty_mlflow_database(first)
    (template,) = (tmp_path / "cache" / "mlops-course").glob("mlflow-*-empty.db")
    built = template.stat().st_mtime_ns
    services.mlflow_server._copy_empty_mlflow_database(second)
    assert template.stat().st_mtime_ns == built, "the template was built a second time"
    with sqlite3.connect(second) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"experiments", "runs", "registered_models", "alembic_version"} <= tables
        assert db.execute("SELECT count(*) FROM experiments").fetchone() == (0,)


def test_without_a_writable_cache_the_server_migrates_its_own_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the grading sandbox the cache is read-only: no copy, and nothing half-written left."""
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    database = tmp_path / "mlflow.db"
    services.mlflow_server._copy_empty_mlflow_database(database)
    assert not database.exists()


def test_a_crashing_owner_leaves_no_orphan(tmp_path: Path) -> None:
    """A notebook or test that dies without stopping its server still cleans up at exit."""
    script = textwrap.dedent(
        f"""
        import json
        from mlops_course import services
        server = services.start_mlflow(workdir={str(tmp_path)!r})
        print(json.dumps({{"pid": server.pid}}), flush=True)
        raise RuntimeError("the notebook failed halfway")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180
    )
    assert done.returncode != 0
    pid = json.loads(done.stdout.strip().splitlines()[-1])["pid"]
    assert _group_gone(pid), "the MLflow server outlived the process that started it"


def test_cli_services_up_status_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`services up` survives the CLI process; `down` stops it; `status` tells the truth."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    up = runner.invoke(app, ["services", "up"])
    assert up.exit_code == 0, up.output
    state = services.read_state()
    pid = state["mlflow"].pid
    try:
        assert state["mlflow"].is_healthy()
        status = runner.invoke(app, ["services", "status"])
        assert "mlflow" in status.output and "yes" in status.output
    finally:
        down = runner.invoke(app, ["services", "down"])
    assert down.exit_code == 0, down.output
    assert _group_gone(pid)
    assert services.read_state() == {}


def test_prometheus_starts_from_the_course_config(tmp_path: Path) -> None:
    """The Debian prometheus binary runs with the course's config (installed by .ci/run)."""
    config = REPO / "src" / "mlops_course" / "monitoring" / "prometheus" / "prometheus.yml"
    if not config.exists():
        pytest.fail(f"missing {config}: the Prometheus config lives in the package")
    try:
        server = services.start_prometheus(config, workdir=tmp_path)
    except services.ServiceError as error:
        pytest.fail(f"{error}")
    with server:
        ready = httpx.get(server.url + "/-/ready", timeout=5, trust_env=False)
        assert ready.status_code == 200
        targets = httpx.get(server.url + "/api/v1/targets", timeout=5, trust_env=False).json()
        assert targets["status"] == "success"
    assert _group_gone(server.pid)
