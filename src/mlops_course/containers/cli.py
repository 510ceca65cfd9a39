"""``mlops-course containers build | clean``: the images, built the way the tests build them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mlops_course.containers import base, images, wheelhouse
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
