"""Continuous delivery on one machine: staging and production as two pods that read one registry.

The stage 3 pipeline is: build the image, gate the model, deploy to staging, smoke-test staging,
promote, deploy to production, smoke-test production. Its GitHub, GitLab and Jenkins versions
call ``make`` targets; the hosted runners and a cluster cannot run here, so this module is what
those targets do locally: each environment is a ``podman kube play`` of the same manifests,
differing only in the alias it serves (staging the ``challenger`` the gate registered, production
the ``champion``) and its port. Both read the registry the gate promotes in, so what the gate
moved is what they serve. A deploy replaces the environment's pod: exactly one new pod, with no
rolling update (kube play has none; on a cluster the Deployment's strategy does it without a gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mlops_course import http_client
from mlops_course.containers import kubernetes, running
from mlops_course.containers.engine import ContainerError, Engine
from mlops_course.registry import CHALLENGER, CHAMPION
from mlops_course.schema import EXAMPLE_TRIP
from mlops_course.settings import user_cache

ALIASES = {"staging": CHALLENGER, "production": CHAMPION}
"""Which alias each environment serves."""
PORTS = {"staging": 8081, "production": 8082}
"""The loopback port each environment answers on (the Service of a real cluster)."""


@dataclass(frozen=True)
class Deployed:
    """An environment after a deploy: its pod, where it answers, what it serves."""

    env: str
    pod_id: str
    url: str
    model_version: str


def _manifest_path(env: str) -> Path:
    """Where an environment's rendered manifest is kept: `undeploy` needs it to tear it down."""
    return user_cache("deploy") / f"{env}.yaml"


def _pod_name(env: str) -> str:
    return f"mlops-api-{env}-pod-0"


def pod_ids(engine: Engine, env: str) -> list[str]:
    """The ids of the environment's pods (one after a deploy, none before the first)."""
    listing = engine.run("pod", "ps", "--filter", f"name=^{_pod_name(env)}$", "-q", "--no-trunc")
    return listing.stdout.split()


def deploy(
    engine: Engine,
    env: str,
    *,
    image: str,
    tracking_uri: str,
    manifests: Path,
    port: int | None = None,
    model_name: str | None = None,
    timeout: float = 120,
) -> Deployed:
    """Deploy ``image`` to ``env`` and wait until it serves its alias; its pod and model version.

    Parameters
    ----------
    engine
        Podman.
    env
        ``staging`` or ``production``.
    image
        The API image the pipeline built.
    tracking_uri
        The MLflow registry the gate promotes in, as the host sees it (loopback).
    manifests
        The published manifests (``docker/kubernetes``).
    port
        The loopback port to answer on (default: `PORTS`).
    model_name
        The registered model to serve (default: the ConfigMap's).
    timeout
        Seconds for the pod to become ready.
    """
    if env not in ALIASES:
        raise ContainerError(f"unknown environment {env!r}: choose from {', '.join(ALIASES)}")
    port = port or PORTS[env]
    network, uri = running.reach_host(engine, tracking_uri)
    config = {"MLOPS_TRACKING_URI": uri, "MLOPS_MODEL_ALIAS": ALIASES[env]}
    if model_name is not None:
        config["MLOPS_MODEL_NAME"] = model_name
    manifest = kubernetes.render_for_podman(
        manifests, image=image, host_port=port, config=config, name=f"mlops-api-{env}"
    )
    path = _manifest_path(env)
    path.write_text(manifest, encoding="utf-8")
    engine.run("kube", "play", "--replace", *network, str(path), what=f"deploying to {env}")
    container = running.Container(engine, f"{_pod_name(env)}-api", f"http://127.0.0.1:{port}")
    container.wait_ready(timeout=timeout)
    ready = http_client.client().get(container.url + "/ready", timeout=5).json()
    ids = pod_ids(engine, env)
    return Deployed(env, ids[0] if ids else "", container.url, str(ready["model"]["version"]))


def smoke(url: str, expected_version: str | None = None) -> list[str]:
    """What is wrong with the API at ``url``; an empty list when it passes.

    Ready, serving ``expected_version`` if given, and answering a real trip with a finite,
    positive duration from that same version: what a deploy must show before it counts.

    Parameters
    ----------
    url
        The environment's address.
    expected_version
        The model version it must serve (the gate's challenger, the promoted champion).
    """
    problems = []
    ready = http_client.client().get(url + "/ready", timeout=5)
    if ready.status_code != 200:
        return [f"/ready answered {ready.status_code}: {ready.text[:300]}"]
    served = str(ready.json()["model"]["version"])
    if expected_version is not None and served != expected_version:
        problems.append(f"serves version {served}, expected {expected_version}")
    answer = http_client.client().post(url + "/predict", json=EXAMPLE_TRIP, timeout=10)
    if answer.status_code != 200:
        return [*problems, f"/predict answered {answer.status_code}: {answer.text[:300]}"]
    duration = answer.json()["duration_min"]
    if not (isinstance(duration, int | float) and math.isfinite(duration) and duration > 0):
        problems.append(f"/predict returned {duration!r}, not a positive duration")
    if str(answer.json()["model"]["version"]) != served:
        problems.append("/predict answered from another version than /ready reports")
    return problems


def undeploy(engine: Engine, env: str) -> None:
    """Remove the environment's pod (what `deploy` started)."""
    path = _manifest_path(env)
    if path.exists():
        engine.run("kube", "down", str(path), check=False)
        path.unlink()
