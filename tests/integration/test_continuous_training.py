"""Stage 5's claims, against a real MLflow server (and, where it matters, a real model API).

- concept drift and covariate shift: the error returns to within 10% of its pre-drift level within
  7 days of the start day, while the never-retrained model stays degraded; in the concept drift
  run a real model API follows every promotion without one failed request;
- no drift: no retraining in 60 days; a data-quality incident: quarantined, never trained on;
- a worse challenger is never promoted; rollback restores the previous champion, and the API
  serves it;
- a retraining killed midway leaves the registry and the served model unchanged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from mlops_course import registry
from mlops_course.ct import ContinuousTraining, LoopConfig, Trigger, retrain
from mlops_course.ct.cli import app as ct_app
from mlops_course.ct.loop import ApiClient
from mlops_course.ct.timeline import RECOVERY_DAYS, recovery, write_timeline
from mlops_course.data.collect import batch_name, ingest_batch
from mlops_course.data.simulate import simulate_day
from mlops_course.services import start_api
from mlops_course.settings import get_settings

pytestmark = pytest.mark.usefixtures("mlflow_server")
TOKEN = "ct-test-token"


def simulate(scenario: str, days: int, data_dir: Path, name: str):
    loop = ContinuousTraining(
        LoopConfig(scenario=scenario, days=days), data_dir=data_dir, name=name
    )
    return loop.run(progress=False)


def assert_recovered(result, out: Path) -> None:
    """The stage's claim about a drift that starts on day 30, and the traces it leaves."""
    outcome = recovery(result)
    print(outcome.summary())
    assert outcome.first_trigger_day is not None and 30 <= outcome.first_trigger_day <= 32
    assert outcome.recovered, outcome.summary()
    assert outcome.recovered_day <= 30 + RECOVERY_DAYS
    assert outcome.error_after <= outcome.limit
    # The never-retrained model is far outside the same limit (more than twice the error).
    assert outcome.baseline_degraded and outcome.baseline_error_after > 2 * outcome.pre_error
    # Every retraining is traceable: trigger, reason, window and data version on its run.
    last = result.retrains[-1]
    tags = MlflowClient().get_run(last.run_id).data.tags
    assert tags["ct.trigger"] == last.trigger.kind and tags["ct.reason"] == last.trigger.reason
    assert tags["ct.window"] == last.window and tags["ct.data_version"] == last.data_version
    assert min(last.train_days) >= 30, "retrained on data from before the change"
    paths = write_timeline(result, out)
    assert paths["plot"].stat().st_size > 10_000
    assert len(paths["timeline"].read_text().splitlines()) == result.config.days + 1


def test_covariate_shift_is_recovered_while_never_retraining_stays_degraded(
    tmp_path: Path, model_name: str
) -> None:
    assert_recovered(
        simulate("covariate_shift", 40, tmp_path / "data", model_name), tmp_path / "out"
    )


def test_concept_drift_is_recovered_and_the_live_api_follows_every_promotion(
    tmp_path: Path, model_name: str, mlflow_server
) -> None:
    """One 40-day run proves both claims: the loop recovers from the drift, and the real API it
    reloads on every promotion serves each new champion without one failed request."""
    with start_api(tracking_uri=mlflow_server.url, model_name=model_name, token=TOKEN) as api:
        client = ApiClient(api.url, TOKEN)
        config = LoopConfig(scenario="concept_drift", days=40)
        loop = ContinuousTraining(config, data_dir=tmp_path / "data", name=model_name, api=client)
        result = loop.run(progress=False)
        served = client.model_version()
        client.close()
    assert_recovered(result, tmp_path / "out")
    promoted = [r.version for r in result.retrains if r.promoted]
    assert len(promoted) >= 2, "the first champion and at least one retraining"
    assert result.api_failed == 0 and result.api_requests >= config.days + len(promoted)
    assert served == promoted[-1]


def test_no_drift_means_no_retraining_in_60_days(tmp_path: Path, model_name: str) -> None:
    result = simulate("none", 60, tmp_path / "data", model_name)
    assert result.triggers == [], result.trigger_log
    assert len(result.retrains) == 1  # the first champion only
    assert registry.get_version(registry.CHAMPION, model_name).version == "1"
    assert result.timeline["error"].notna().sum() == 60


def test_quarantined_batches_are_never_trained_on(tmp_path: Path, model_name: str) -> None:
    result = simulate("data_quality", 30, tmp_path / "data", model_name)
    quarantined = set(result.timeline.loc[result.timeline["quarantined"], "day"])
    assert quarantined == {30, 31, 32}
    assert sorted(p.name for p in (tmp_path / "data" / "quarantine").glob("*.parquet")) == [
        f"{batch_name(d)}.parquet" for d in (30, 31, 32)
    ]
    assert result.retrains, "the first champion is a retrain: an empty list would check nothing"
    for result_ in result.retrains:
        assert not quarantined & set(result_.train_days + result_.eval_days)
    assert result.triggers == [], "a data-quality incident is not a reason to retrain"


@pytest.fixture
def raw_days(tmp_path: Path) -> Path:
    """Validated days 0-6 (no drift) and 30-36 (congestion) in a raw folder."""
    raw = tmp_path / "data" / "raw"
    for day in [*range(7), *range(30, 37)]:
        ingest_batch(simulate_day(day, scenario="concept_drift"), batch_name(day), raw)
    return raw


def test_worse_challenger_is_rejected_and_rollback_restores_the_served_model(
    raw_days: Path, model_name: str, mlflow_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def manual(days: range, **kwargs):
        return retrain(
            Trigger("manual", "test", max(days)),
            days,
            raw_dir=raw_days,
            name=model_name,
            log=lambda _: None,
            **kwargs,
        )

    first = manual(range(7))
    assert first.promoted and first.version == "1"
    with start_api(tracking_uri=mlflow_server.url, model_name=model_name, token=TOKEN) as api:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def served() -> str:
            httpx.post(api.url + "/admin/reload", headers=auth, trust_env=False).raise_for_status()
            return httpx.get(api.url + "/model", trust_env=False).json()["version"]

        assert served() == "1"
        worse = manual(range(30, 37), params={"max_iter": 2, "max_leaf_nodes": 2})
        assert not worse.promoted and worse.gate.decision == "BLOCK"
        assert any(r.startswith("BLOCK") for r in worse.gate.reasons)
        assert registry.get_version(registry.CHALLENGER, model_name).version == worse.version
        assert registry.get_version(registry.CHAMPION, model_name).version == "1"
        assert served() == "1"

        better = manual(range(30, 37))
        assert better.promoted, better.gate.summary()
        assert served() == better.version
        assert registry.get_version(registry.PREVIOUS, model_name).version == "1"

        monkeypatch.setenv("MLOPS_TRACKING_URI", mlflow_server.url)
        monkeypatch.setenv("MLOPS_API_TOKEN", TOKEN)
        get_settings.cache_clear()
        outcome = CliRunner().invoke(
            ct_app, ["rollback", "--model-name", model_name, "--api-url", api.url]
        )
        assert outcome.exit_code == 0, outcome.output
        assert "the API now serves version 1" in outcome.output
        assert registry.get_version(registry.CHAMPION, model_name).version == "1"
        assert httpx.get(api.url + "/model", trust_env=False).json()["version"] == "1"


def test_a_retraining_killed_midway_changes_nothing(
    raw_days: Path, model_name: str, mlflow_server, tmp_path: Path
) -> None:
    first = retrain(
        Trigger("manual", "test", 6), range(7), raw_dir=raw_days, name=model_name, log=print
    )
    assert first.promoted
    # Make the newest days congested, so an uninterrupted retraining *would* be promoted.
    with start_api(tracking_uri=mlflow_server.url, model_name=model_name, token=TOKEN) as api:
        httpx.post(
            api.url + "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False
        ).raise_for_status()
        env = {
            **os.environ,
            "MLOPS_TRACKING_URI": mlflow_server.url,
            "MLOPS_DATA_DIR": str(raw_days.parent),
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
        command = [sys.executable, "-c", "from mlops_course.ct.cli import app; app()"]
        process = subprocess.Popen(
            [*command, "retrain", "--model-name", model_name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("retrain: fitting on days"):
                os.killpg(process.pid, signal.SIGKILL)  # mid-fit: before anything is registered
                break
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL, "".join(seen)
        assert "fitting on days 30-35" in seen[-1]
        versions = MlflowClient().search_model_versions(f"name='{model_name}'")
        assert [v.version for v in versions] == ["1"], "the killed retraining registered a model"
        assert registry.get_version(registry.CHAMPION, model_name).version == "1"
        assert registry.get_version(registry.CHALLENGER, model_name).version == "1"
        assert httpx.get(api.url + "/model", trust_env=False).json()["version"] == "1"


def test_ct_commands_simulate_and_report_status(
    tmp_path: Path, model_name: str, mlflow_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_TRACKING_URI", mlflow_server.url)
    get_settings.cache_clear()
    out = tmp_path / "run"
    args = ["simulate", "--days", "5", "--scenario", "none", "--no-api", "--out", str(out)]
    outcome = CliRunner().invoke(ct_app, [*args, "--model-name", model_name])
    assert outcome.exit_code == 0, outcome.output
    assert {p.name for p in out.iterdir()} >= {"timeline.csv", "timeline.png", "summary.json"}
    assert len((out / "timeline.csv").read_text().splitlines()) == 6
    again = CliRunner().invoke(ct_app, [*args, "--model-name", model_name])
    assert again.exit_code == 2 and "not empty" in again.output
    args[-1] = str(tmp_path / "second")
    again = CliRunner().invoke(ct_app, [*args, "--model-name", model_name])
    assert again.exit_code == 2 and "already has a champion" in again.output

    status = CliRunner().invoke(ct_app, ["status", "--model-name", model_name])
    assert status.exit_code == 0, status.output
    assert "champion" in status.output and "initial" in status.output


def test_ct_retrain_exits_1_when_the_gate_blocks(
    raw_days: Path, model_name: str, mlflow_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLOPS_DATA_DIR", str(raw_days.parent))
    get_settings.cache_clear()
    first = CliRunner().invoke(ct_app, ["retrain", "--model-name", model_name])
    assert first.exit_code == 0, first.output  # the first model: nothing to beat
    second = CliRunner().invoke(ct_app, ["retrain", "--model-name", model_name])
    assert second.exit_code == 1, second.output  # the same data again: not 5% better
    assert "a retraining must lower it by at least 5%" in second.output
    assert registry.get_version(registry.CHAMPION, model_name).version == "1"
