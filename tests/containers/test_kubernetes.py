"""The Kubernetes manifests, run: ``podman kube play`` of the ConfigMap and the Deployment.

What a pod can show without a cluster is checked here in a running pod: it serves the champion
once the model is loaded, its liveness command passes, the manifest's security context and memory
limit are in force, and a broken ConfigMap gives a pod that stays unready and says why. What only
a control plane does (Service, readiness gating, HPA, rolling updates) stays in
tests/static/test_kubernetes.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlops_course import registry, services
from mlops_course.containers import images, kubernetes, running
from mlops_course.containers.engine import ContainerError, Engine
from mlops_course.data.simulate import simulate_days
from mlops_course.schema import EXAMPLE_TRIP
from mlops_course.services.process import free_port
from mlops_course.train import train

MANIFESTS = Path(__file__).resolve().parents[2] / "docker" / "kubernetes"


@pytest.fixture(scope="module")
def champion(mlflow_server: services.Service) -> tuple[str, str]:
    """A registered model with a champion: (name, version)."""
    name = "kube-play"
    result = train(simulate_days(range(3), n=300), simulate_days([3], n=200), kind="ridge")
    version = registry.register(result.model_uri, name)
    registry.promote(version.version, name)
    return name, str(version.version)


@contextlib.contextmanager
def _play(
    engine: Engine, image: str, mlflow: services.Service, model: str, name: str
) -> Iterator[running.Container]:
    if engine.name != "podman":
        pytest.skip("kube play is podman's; with Docker, use a cluster (kind, minikube)")
    network, uri = running.reach_host(engine, mlflow.url)
    port = free_port()
    config = {"MLOPS_TRACKING_URI": uri, "MLOPS_MODEL_NAME": model}
    manifest = kubernetes.render_for_podman(
        MANIFESTS, image=image, host_port=port, config=config, name=name
    )
    with kubernetes.play(engine, manifest, host_port=port, network=network) as container:
        yield container


@pytest.fixture(scope="module")
def pod(
    engine: Engine,
    api_image: images.BuiltImage,
    mlflow_server: services.Service,
    champion: tuple[str, str],
) -> Iterator[running.Container]:
    with _play(engine, api_image.tag, mlflow_server, champion[0], "mlops-api-test") as container:
        yield container


def test_the_pod_serves_the_champion_once_the_model_is_loaded(
    pod: running.Container, champion: tuple[str, str]
) -> None:
    pod.wait_ready(timeout=90)
    ready = httpx.get(pod.url + "/ready", timeout=5, trust_env=False).json()
    assert ready["model"] == {"name": champion[0], "version": champion[1], "alias": "champion"}
    response = httpx.post(pod.url + "/predict", json=EXAMPLE_TRIP, timeout=10, trust_env=False)
    assert response.status_code == 200, response.text
    assert response.json()["duration_min"] > 0


def test_the_liveness_probe_passes_in_the_pod(pod: running.Container) -> None:
    pod.wait_ready(timeout=90)
    assert pod.healthcheck(), "the rendered liveness probe fails in a serving pod"


def test_the_manifests_security_context_and_memory_limit_are_in_force(
    pod: running.Container,
) -> None:
    assert pod.exec("id", "-u").strip() == "10001"
    config = pod.inspect()
    assert config["HostConfig"]["ReadonlyRootfs"] is True
    assert config["HostConfig"]["Memory"] == 1024**3  # limits.memory: 1Gi
    with pytest.raises(ContainerError, match="Read-only file system"):
        pod.exec("python", "-c", "open('/opt/venv/planted', 'w')")


def test_a_broken_config_gives_an_unready_pod_whose_answer_and_log_name_the_cause(
    engine: Engine, api_image: images.BuiltImage, mlflow_server: services.Service
) -> None:
    with _play(engine, api_image.tag, mlflow_server, "no-such-model", "mlops-api-broken") as broken:
        with pytest.raises(ContainerError, match="was not ready") as error:
            broken.wait_ready(timeout=15)
        answer, log = str(error.value).split("its last log lines", 1)
        assert "no-such-model" in answer, "the last answer does not name the model"
        assert "no-such-model" in log, "the log lines in the error do not name the model"
