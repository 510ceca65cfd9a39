"""The continuous-delivery path, run end to end on this machine, through the commands CI calls.

build the image -> quality gate (registers the challenger) -> deploy to staging -> smoke test ->
promote -> deploy to production -> smoke test. Staging and production are two pods of the same
manifests (``podman kube play``) that read the one registry the gate promotes in: so the test
can assert which model version each one serves after each step, and that each deploy started
exactly one new pod.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_course import registry, services
from mlops_course.containers import delivery, images
from mlops_course.containers.engine import Engine
from mlops_course.data.simulate import simulate_days
from mlops_course.services.process import free_port
from mlops_course.train import train

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "docker" / "kubernetes"
NAME = "delivery"


def _cli(*args: str, uri: str) -> subprocess.CompletedProcess[str]:
    """``mlops-course ...`` as a CI job runs it: its own process, the registry from its env."""
    env = {**os.environ, "MLOPS_TRACKING_URI": uri, "MLOPS_MODEL_NAME": NAME}
    command = [sys.executable, "-m", "mlops_course", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    yield {env: free_port() for env in delivery.ALIASES}


def test_gate_staging_promote_production(
    engine: Engine,
    api_image: images.BuiltImage,
    mlflow_server: services.Service,
    ports: dict[str, int],
    tmp_path: Path,
) -> None:
    if engine.name != "podman":
        pytest.skip("the local environments are podman pods")
    uri = mlflow_server.url

    def deploy(env: str) -> delivery.Deployed:
        before = delivery.pod_ids(engine, env)
        done = delivery.deploy(
            engine,
            env,
            image=api_image.tag,
            tracking_uri=uri,
            manifests=MANIFESTS,
            port=ports[env],
            model_name=NAME,
        )
        after = delivery.pod_ids(engine, env)
        assert len(after) == 1 and after[0] not in before, f"{env}: not exactly one new pod"
        assert delivery.smoke(done.url, done.model_version) == []
        return done

    # Production serves today's champion: a weak model trained on three days.
    weak = train(simulate_days(range(3), n=200), simulate_days([3], n=200), kind="ridge",
                 params={"alpha": 3000.0}, run_name="champion-v1")  # fmt: skip
    registry.promote(registry.register(weak.model_uri, NAME).version, NAME)
    try:
        assert deploy("production").model_version == "1"

        # The pipeline's candidate passes the gate, which registers it as the challenger.
        candidate = train(simulate_days(range(20), n=500), simulate_days([20], n=400),
                          kind="hgb", run_name="candidate")  # fmt: skip
        eval_data = tmp_path / "eval.parquet"
        simulate_days([21, 22], n=500).to_parquet(eval_data)
        gate = _cli("gate", "run", "--candidate", candidate.model_uri,
                    "--eval-data", str(eval_data), "--report", str(tmp_path / "gate.json"),
                    "--register", uri=uri)  # fmt: skip
        assert gate.returncode == 0, gate.stdout + gate.stderr
        challenger = registry.get_version(registry.CHALLENGER, NAME)
        assert challenger is not None
        version = str(challenger.version)

        # Staging serves the challenger; production still the champion.
        assert deploy("staging").model_version == version
        assert delivery.smoke(f"http://127.0.0.1:{ports['production']}", "1") == []

        # Promotion (a person's approval in CI), then production follows.
        promoted = _cli("gate", "promote", uri=uri)
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        assert deploy("production").model_version == version
        assert delivery.smoke(f"http://127.0.0.1:{ports['staging']}", version) == []
    finally:
        for env in delivery.ALIASES:
            delivery.undeploy(engine, env)


def test_a_smoke_test_fails_on_the_wrong_version_and_names_it(
    engine: Engine, api_image: images.BuiltImage, mlflow_server: services.Service
) -> None:
    """Planted fault: a deploy that serves another version than the pipeline expects."""
    if engine.name != "podman":
        pytest.skip("the local environments are podman pods")
    weak = train(simulate_days(range(3), n=200), simulate_days([3], n=200), kind="ridge")
    registry.promote(registry.register(weak.model_uri, "delivery-smoke").version, "delivery-smoke")
    port = free_port()
    try:
        done = delivery.deploy(engine, "production", image=api_image.tag,
                               tracking_uri=mlflow_server.url, manifests=MANIFESTS, port=port,
                               model_name="delivery-smoke")  # fmt: skip
        assert done.model_version == "1"
        assert delivery.smoke(done.url, "7") == ["serves version 1, expected 7"]
    finally:
        delivery.undeploy(engine, "production")
