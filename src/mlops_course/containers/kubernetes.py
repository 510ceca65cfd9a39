"""The course's Kubernetes manifests, run with ``podman kube play``: a pod, not a cluster.

``podman kube play`` (podman 4.3) creates pods from a Deployment and its ConfigMap, with the
manifest's security context, resources, volumes and liveness probe. It does not do what a
control plane does: no Service, no readiness gating, no HorizontalPodAutoscaler, no rolling
update, one pod whatever ``replicas`` says. So the manifests are checked in two ways: what runs
here runs (`play`), and the rest stays validated statically (tests/static/test_kubernetes.py).

`render_for_podman` adapts the published manifests to a machine without a cluster, and only in
the ways a cluster would differ: where MLflow is, which local image to run, a host port instead of
a Service, one replica, the course's labels, and one probe. Podman runs an ``httpGet`` probe as
``curl`` inside the container; the API image has no curl (fewer tools for an attacker), so the
rendered probe runs the image's own healthcheck instead, the command of its ``HEALTHCHECK``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from mlops_course.containers.engine import LABEL, SESSION_LABEL, Engine
from mlops_course.containers.running import Container

# The API image's HEALTHCHECK command (docker/api.Dockerfile), as an exec probe.
HEALTH_COMMAND = ["python", "-m", "mlops_course.serving.healthcheck"]


def _labels() -> dict[str, str]:
    """The course's labels as Kubernetes labels: podman puts them on the pod it creates."""
    return dict(label.split("=", 1) for label in (LABEL, SESSION_LABEL))


def render_for_podman(
    manifests: Path,
    *,
    image: str,
    host_port: int,
    config: dict[str, str],
    name: str | None = None,
) -> str:
    """The ConfigMap and Deployment of ``manifests``, ready for ``podman kube play``.

    Parameters
    ----------
    manifests
        The folder of the published manifests (``docker/kubernetes``).
    image
        The local image to run instead of the registry tag.
    host_port
        The loopback port that stands in for the Service.
    config
        ConfigMap values to override, e.g. ``MLOPS_TRACKING_URI`` (MLflow on the host).
    name
        Another name for the Deployment (and so its pod), so two runs never clash.
    """
    configmap = yaml.safe_load((manifests / "api-configmap.yaml").read_text(encoding="utf-8"))
    configmap["data"].update(config)
    deployment = yaml.safe_load((manifests / "api-deployment.yaml").read_text(encoding="utf-8"))
    deployment["metadata"]["name"] = name or deployment["metadata"]["name"]
    # One pod: podman 4.3 would start each replica with the same host port, and the second fails.
    deployment["spec"]["replicas"] = 1
    template: dict[str, Any] = deployment["spec"]["template"]
    template["metadata"]["labels"].update(_labels())
    container = template["spec"]["containers"][0]
    container["image"] = image
    container["ports"][0].update(hostPort=host_port, hostIP="127.0.0.1")
    container["livenessProbe"].pop("httpGet")
    container["livenessProbe"]["exec"] = {"command": HEALTH_COMMAND}
    return yaml.safe_dump_all([configmap, deployment], sort_keys=False)


@contextlib.contextmanager
def play(
    engine: Engine, manifest: str, *, host_port: int, network: tuple[str, ...] = ()
) -> Iterator[Container]:
    """``podman kube play`` the rendered ``manifest``; yield its API container; tear it down after.

    Parameters
    ----------
    engine
        Podman (``kube play`` is podman's).
    manifest
        What `render_for_podman` returned.
    host_port
        The port the manifest publishes on loopback.
    network
        ``run`` network options (`running.reach_host`), e.g. to reach MLflow on the host.
    """
    with tempfile.TemporaryDirectory(prefix="mlops-kube-") as scratch:
        path = Path(scratch) / "play.yaml"
        path.write_text(manifest, encoding="utf-8")
        deployment = list(yaml.safe_load_all(manifest))[1]
        pod = deployment["metadata"]["name"] + "-pod-0"
        name = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
        try:  # a play that fails half-way leaves a pod behind: down runs in any case
            engine.run(
                "kube", "play", *network, str(path),
                what=f"podman kube play of {deployment['metadata']['name']}",
            )  # fmt: skip
            yield Container(engine, f"{pod}-{name}", f"http://127.0.0.1:{host_port}")
        finally:
            engine.run("kube", "down", str(path), check=False)
