"""``make containers``: build the course's images, time them, run them, and write the figures.

Writes ``benchmarks/results/containers.json``: per image the seconds of a build from scratch
(``--no-cache``), of a rebuild with nothing changed through the engine's layer cache, of the same
rebuild skipped because its inputs' hash is unchanged (what ``make test`` pays on a warm
machine), and of a rebuild after a one-line edit of ``src/`` (what a fresh clone of a new commit
pays with a warm image store), its size, and for the API image the seconds from ``run`` to
``/health`` and to ``/ready`` (a champion loaded from the MLflow registry), median of several
starts. Then it runs the container tests (``tests/containers``), the same ones ``make test``
runs, and exits with their code. Whatever it started is removed at the end, also when it fails.

Run from the repository root: ``python benchmarks/containers.py`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from machine import machine
from rich.console import Console

from mlops_course import registry, services
from mlops_course.containers import base, images, kubernetes, running, wheelhouse
from mlops_course.containers.engine import Engine, find_engine, remove_everything
from mlops_course.containers.recording import Recorder
from mlops_course.data.simulate import simulate_days
from mlops_course.services.process import free_port
from mlops_course.train import train

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "containers.json"
console = Console()


def _wait_200(url: str, timeout: float = 120) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not answer 200 within {timeout} s")


def start_times(
    engine: Engine, tag: str, options: tuple[str, ...], starts: int
) -> dict[str, float]:
    """Median seconds from ``run`` to /health and to /ready, with a champion in the registry."""
    health, ready = [], []
    for index in range(starts):
        port = free_port()
        start = time.monotonic()
        with running.run(engine, tag, name=f"bench-{index}", port=port, options=options) as c:
            _wait_200(c.url + "/health")
            health.append(time.monotonic() - start)
            _wait_200(c.url + "/ready")
            ready.append(time.monotonic() - start)
    return {
        "seconds_run_to_health_median": round(statistics.median(health), 2),
        "seconds_run_to_ready_median": round(statistics.median(ready), 2),
        "starts": starts,
    }


def _curl(url: str) -> tuple[str, str]:
    """``curl -s URL`` and what it would print: the body (the API ends it with no newline)."""
    return f"curl -s {url}", httpx.get(url, timeout=10, trust_env=False).text


def record_container(
    engine: Engine, recorder: Recorder, tag: str, options: tuple[str, ...]
) -> None:
    """The image's configuration, and a container that is not ready, then is, and who it runs as."""
    config = engine.run("image", "inspect", "--format", "{{json .Config}}", tag).stdout
    recorder.add(
        "api-image-config",
        f"podman image inspect --format '{{{{json .Config}}}}' {tag} | python -m json.tool",
        json.dumps(json.loads(config), indent=4),
    )
    port = free_port()
    # The same container, asked for a model that has no champion yet: the last option is the name.
    unready = (*options[:-1], "MLOPS_MODEL_NAME=no-champion-yet")
    with running.run(engine, tag, name="api-demo", port=port, options=unready) as c:
        _wait_200(c.url + "/health")
        recorder.add("api-not-ready", *_curl(c.url + "/ready"))
    port = free_port()
    with running.run(engine, tag, name="api-demo", port=port, options=options) as c:
        _wait_200(c.url + "/ready")
        recorder.add("api-ready", *_curl(c.url + "/ready"))
        recorder.add("api-user", "podman exec api-demo id", c.exec("id"))


def record_pod(
    engine: Engine, recorder: Recorder, tag: str, uri: str, network: tuple[str, ...]
) -> None:
    """``podman kube play`` of the manifests, the pod it made, and the pod answering."""
    port = free_port()
    config = {"MLOPS_TRACKING_URI": uri, "MLOPS_MODEL_NAME": "bench-containers"}
    manifest = kubernetes.render_for_podman(
        REPO / "docker" / "kubernetes", image=tag, host_port=port, config=config
    )
    with kubernetes.play(engine, manifest, host_port=port, network=network) as pod:
        pod.wait_ready(timeout=120)
        pods = engine.run(
            "pod", "ps", "--format", "{{.Name}}  {{.Status}}  {{.NumberOfContainers}} containers"
        )
        recorder.add("pod-ps", "podman pod ps", pods.stdout)
        recorder.add("pod-ready", *_curl(pod.url + "/ready"))
        healthy = engine.run("healthcheck", "run", pod.name, check=False)
        recorder.add(
            "pod-liveness",
            f"podman healthcheck run {pod.name}; echo $?",
            f"{healthy.stdout}{healthy.returncode}",
        )


def run_and_record(engine: Engine, tag: str, starts: int, recorder: Recorder) -> dict[str, float]:
    """Against a real MLflow registry with a champion: the start figures and the recordings."""
    with tempfile.TemporaryDirectory() as scratch, services.start_mlflow(workdir=scratch) as mlflow:
        services.use_mlflow(mlflow)
        result = train(simulate_days(range(3), n=300), simulate_days([3], n=200), kind="ridge")
        version = registry.register(result.model_uri, "bench-containers")
        registry.promote(version.version, "bench-containers")
        network, uri = running.reach_host(engine, mlflow.url)
        options = (*network, "--read-only", "--env", f"MLOPS_TRACKING_URI={uri}")
        options += ("--env", "MLOPS_MODEL_NAME=bench-containers")
        figures = start_times(engine, tag, options, starts)
        record_container(engine, recorder, tag, options)
        record_pod(engine, recorder, tag, uri, network)
    return figures


def rebuild_after_source_edit(
    engine: Engine, spec: images.ImageSpec, base_image: str, wheels: Path | None
) -> float:
    """Seconds to rebuild ``spec`` after a one-line edit of ``src/``, the layer cache warm.

    The build runs from a copy of its context (the files its ignore file lets through), the copy
    edited, so the checkout stays as it is; the tag is then rebuilt from the checkout (cached).
    """
    dockerfile = REPO / spec.dockerfile
    files = images.context_files(dockerfile, REPO) or []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch)
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
        for file in [dockerfile, ignore, *files]:
            target = copy / file.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
        init = copy / "src" / "mlops_course" / "__init__.py"
        init.write_text(init.read_text() + "\n# an edit, as a commit would make\n")
        edited = images.build(engine, spec, copy, base_image, wheels)
    images.build(engine, spec, REPO, base_image, wheels)
    return edited.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="container starts to time")
    parser.add_argument("--no-tests", action="store_true", help="only build and time")
    args = parser.parse_args()
    engine = find_engine()
    results: dict[str, object] = {"engine": engine.name}
    recorder = Recorder(REPO, engine.name)
    try:
        with console.status("base image"):
            start = time.perf_counter()
            results["base_image"] = base.ensure_base(engine)
            results["seconds_base_image"] = round(time.perf_counter() - start, 1)
        for spec in (images.API, images.COURSE):
            with console.status(f"wheelhouse for {spec.tag}"):
                start = time.perf_counter()
                wheels = wheelhouse.fill(REPO / spec.requirements, REPO)
            name = spec.tag.split("/")[-1].split(":")[0].replace("-", "_")
            results[f"{name}_seconds_wheelhouse"] = round(time.perf_counter() - start, 1)
            with console.status(f"building {spec.tag} from scratch"):
                cold = images.build(engine, spec, REPO, str(results["base_image"]), wheels, True)
            with console.status(f"rebuilding {spec.tag}, nothing changed"):
                # Without the record of the last build's inputs: the engine's layer cache alone.
                images.build_record(spec).unlink(missing_ok=True)
                warm = images.build(engine, spec, REPO, str(results["base_image"]), wheels)
                skipped = images.build(engine, spec, REPO, str(results["base_image"]), wheels)
            with console.status(f"rebuilding {spec.tag} after an edit of src/"):
                edit = rebuild_after_source_edit(engine, spec, str(results["base_image"]), wheels)
            short = {"mlops_course_api": "api", "mlops_course": "course"}[name]
            recorder.add(
                f"{short}-build",
                f"mlops-course containers build {short} --no-cache",
                f"{spec.tag}: built in {cold.seconds:.0f} s, {cold.size_bytes / 1e6:.0f} MB "
                f"(on {results['base_image']})",
            )
            results[f"{name}_seconds_build_no_cache"] = round(cold.seconds, 1)
            results[f"{name}_seconds_rebuild_unchanged"] = round(warm.seconds, 1)
            results[f"{name}_seconds_rebuild_skipped"] = round(skipped.seconds, 1)
            results[f"{name}_seconds_rebuild_after_source_edit"] = round(edit, 1)
            results[f"{name}_size_mb"] = round(warm.size_bytes / 1e6)
            console.print(
                f"{spec.tag}: {cold.seconds:.0f} s from scratch, {warm.seconds:.0f} s again, "
                f"{skipped.seconds:.1f} s skipped, {edit:.0f} s after an edit of src/"
            )
        with console.status(f"timing {args.starts} starts of the API container, recording"):
            starts = run_and_record(engine, images.API.tag, args.starts, recorder)
            results |= {f"mlops_course_api_{key}": value for key, value in starts.items()}
        console.print(f"wrote {recorder.write().relative_to(REPO)}")
        results["machine"] = machine()
        results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        console.print(f"wrote {RESULTS.relative_to(REPO)}")
    finally:
        remove_everything(engine)
    if args.no_tests:
        return 0
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/containers"], cwd=REPO
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
