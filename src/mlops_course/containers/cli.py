"""``mlops-course containers``: build the images, deploy and smoke-test local environments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from mlops_course.containers import base, delivery, images, wheelhouse
from mlops_course.containers.engine import ContainerError, find_engine, remove_everything
from mlops_course.exits import HELP, ExitCode, fail, yes_no

app = typer.Typer(
    help="Build the course's images (podman or Docker) and remove what the course started.",
    epilog=HELP,
    no_args_is_help=True,
)
console = Console()
IMAGES = {"api": images.API, "course": images.COURSE}


@app.command("build")
def build(
    image: Annotated[
        list[str] | None, typer.Argument(help="Which images: api, course (default: api).")
    ] = None,
    repo: Annotated[Path, typer.Option(help="The course checkout to build from.")] = Path("."),
    no_cache: Annotated[bool, typer.Option(help="Rebuild every layer.")] = False,
) -> None:
    """Build images from a course checkout: on a local base if no registry answers, offline."""
    wanted = image or ["api"]
    if unknown := sorted(set(wanted) - set(IMAGES)):
        fail(f"unknown image {', '.join(unknown)}: choose from {', '.join(IMAGES)}")
    repo = repo.resolve()
    if not (repo / "docker" / "api.Dockerfile").is_file():
        fail(f"{repo} is not a course checkout (no docker/api.Dockerfile); pass --repo")
    try:
        engine = find_engine()
    except ContainerError as error:
        fail(str(error), ExitCode.UNREACHABLE)
    table = Table("image", "seconds", "size MB", "from cache")
    try:
        with console.status("the base image"):
            base_image = base.ensure_base(engine)
        for name in wanted:
            spec = IMAGES[name]
            with console.status(f"building {spec.tag} with {engine.name}"):
                wheels = None
                if engine.name == "podman":
                    wheels = wheelhouse.fill(repo / spec.requirements, repo)
                built = images.build(engine, spec, repo, base_image, wheels, no_cache)
            size = f"{built.size_bytes / 1e6:.0f}"
            table.add_row(built.tag, f"{built.seconds:.0f}", size, yes_no(built.cached))
    except ContainerError as error:
        fail(str(error), ExitCode.NO)
    console.print(f"base image: {base_image}")
    console.print(table)


@app.command("clean")
def clean() -> None:
    """Remove every container, pod and volume the course started (and nothing else)."""
    try:
        removed = remove_everything(everything=True)
    except ContainerError as error:
        fail(str(error), ExitCode.UNREACHABLE)
    console.print("\n".join(removed) if removed else "nothing to remove")


_ENV = Annotated[str, typer.Argument(help="staging (serves the challenger) or production.")]


@app.command("deploy")
def deploy(
    env: _ENV,
    tracking_uri: Annotated[
        str, typer.Option(envvar="MLOPS_TRACKING_URI", help="The registry the gate promotes in.")
    ],
    image: Annotated[str, typer.Option(help="The API image to deploy.")] = images.API.tag,
    model_name: Annotated[
        str | None, typer.Option(envvar="MLOPS_MODEL_NAME", help="Registered model to serve.")
    ] = None,
    repo: Annotated[Path, typer.Option(help="The checkout with docker/kubernetes.")] = Path("."),
) -> None:
    """Deploy the API to a local environment (podman kube play) and wait until it serves."""
    manifests = repo.resolve() / "docker" / "kubernetes"
    if not (manifests / "api-deployment.yaml").is_file():
        fail(f"{manifests} has no api-deployment.yaml; pass --repo (a course checkout)")
    try:
        engine = find_engine()
        with console.status(f"deploying {image} to {env}"):
            done = delivery.deploy(
                engine,
                env,
                image=image,
                tracking_uri=tracking_uri,
                manifests=manifests,
                model_name=model_name,
            )
    except ContainerError as error:
        fail(str(error), ExitCode.NO)
    console.print(
        f"{env}: pod {done.pod_id[:12]} serves version {done.model_version} at {done.url}"
    )


@app.command("smoke")
def smoke(
    env: _ENV,
    expect_version: Annotated[
        str | None, typer.Option(help="The model version it must serve.")
    ] = None,
) -> None:
    """Smoke-test a local environment: ready, the expected version, a real prediction."""
    if env not in delivery.PORTS:
        fail(f"unknown environment {env!r}: choose from {', '.join(delivery.PORTS)}")
    url = f"http://127.0.0.1:{delivery.PORTS[env]}"
    try:
        problems = delivery.smoke(url, expect_version)
    except httpx.HTTPError as error:
        fail(f"{env} at {url} does not answer ({type(error).__name__}): deploy it first",
             ExitCode.UNREACHABLE)  # fmt: skip
    if problems:
        fail(f"{env} failed its smoke test: " + "; ".join(problems), ExitCode.NO)
    console.print(f"{env} passed its smoke test at {url}")


@app.command("undeploy")
def undeploy(env: _ENV) -> None:
    """Remove a local environment's pod."""
    try:
        delivery.undeploy(find_engine(), env)
    except ContainerError as error:
        fail(str(error), ExitCode.UNREACHABLE)
    console.print(f"{env} removed")
