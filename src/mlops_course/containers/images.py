"""The course's images and how each one is built, the same way on podman and on Docker.

With podman the build runs with no network: the pinned wheels come from the wheelhouse, mounted
read-only at ``/wheels``, and pip is told to use only that folder (build arguments, which never
reach the image). Docker cannot mount a folder into a build, so there the build reads the index
as the published Dockerfiles expect.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from mlops_course.containers.engine import ContainerError, Engine
from mlops_course.settings import user_cache


@dataclass(frozen=True)
class ImageSpec:
    """One image of the course: its tag, its Dockerfile and the pins it installs."""

    tag: str
    dockerfile: str
    requirements: str
    """The requirements file the image installs, relative to the repository."""


API = ImageSpec(
    "localhost/mlops-course-api:local", "docker/api.Dockerfile", "docker/api-requirements.txt"
)
"""The model API: ``mlops-course serve`` and only what serving needs."""
COURSE = ImageSpec("localhost/mlops-course:local", "docker/jupyter.Dockerfile", "requirements.txt")
"""JupyterLab with every pin; the compose stack's MLflow server runs from it too."""


@dataclass(frozen=True)
class BuiltImage:
    """What a build produced and what it cost."""

    tag: str
    image_id: str
    seconds: float
    size_bytes: int
    cached: bool
    """True when nothing changed and every layer came from the engine's cache."""


def image_id(engine: Engine, tag: str) -> str | None:
    """The image's id, or None when the engine has no image of that name."""
    result = engine.run("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _size(engine: Engine, tag: str) -> int:
    """The image's size in bytes, as the engine reports it."""
    return int(engine.run("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def build_command(
    engine: Engine,
    spec: ImageSpec,
    repo: Path,
    base: str,
    wheelhouse: Path | None,
    no_cache: bool = False,
) -> list[str]:
    """The engine's arguments that build ``spec`` from ``repo`` on ``base``.

    Parameters
    ----------
    engine
        The engine that builds.
    spec
        The image to build.
    repo
        The build context: the course repository.
    base
        The base image (`base.ensure_base`), passed as ``BASE_IMAGE``.
    wheelhouse
        With podman, the folder of wheels to install from with no network; None reads the index.
    no_cache
        Rebuild every layer: what a first build costs (``make containers`` measures it).
    """
    dockerfile = repo / spec.dockerfile
    args = [
        "build",
        "--file",
        str(dockerfile),
        "--tag",
        spec.tag,
        "--build-arg",
        f"BASE_IMAGE={base}",
    ]
    if engine.name == "podman":
        # docker format: the OCI image format has no HEALTHCHECK, and podman would drop it.
        args += ["--format", "docker", "--pull=never"]
        args += ["--ignorefile", str(dockerfile.with_name(dockerfile.name + ".dockerignore"))]
        if wheelhouse is not None:
            args += ["--network=none", "--volume", f"{wheelhouse}:/wheels:ro"]
            args += ["--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/wheels"]
    if no_cache:
        args.append("--no-cache")
    return [*args, str(repo)]


def context_files(dockerfile: Path, repo: Path) -> list[Path] | None:
    """The files a build of ``dockerfile`` receives, from its allowlist ignore file.

    The course's ignore files are allowlists: ``*``, then ``!path`` for what the build copies,
    then ``**/name`` patterns cut out of those. None when a file has another shape: then nobody
    can say what the build sees, and the build always runs.

    Parameters
    ----------
    dockerfile
        The Dockerfile; its ignore file is ``<name>.dockerignore`` beside it.
    repo
        The build context.
    """
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    lines = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    if not patterns or patterns[0] != "*":
        return None
    allowed = [p[1:].rstrip("/") for p in patterns[1:] if p.startswith("!")]
    cut = [p.removeprefix("**/") for p in patterns[1:] if not p.startswith("!")]
    if any("/" in pattern for pattern in cut):
        return None
    files = []
    for entry in allowed:
        path = repo / entry
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            parts = file.relative_to(repo).parts
            if file.is_file() and not any(fnmatch.fnmatch(p, c) for p in parts for c in cut):
                files.append(file)
    return files


def inputs_hash(engine: Engine, spec: ImageSpec, repo: Path, command: list[str]) -> str | None:
    """A hash of everything a build depends on, or None when that cannot be known.

    The Dockerfile, its ignore file, every file of the context, the build command (base image,
    build arguments, offline or not) and the base image's id: when all are equal, the image the
    last build produced is what a new build would produce.

    Parameters
    ----------
    engine
        The engine that builds (it knows the base image's id).
    spec
        The image.
    repo
        The build context.
    command
        The build's arguments (`build_command`).
    """
    dockerfile = repo / spec.dockerfile
    files = context_files(dockerfile, repo)
    if files is None:
        return None
    base = next(arg.split("=", 1)[1] for arg in command if arg.startswith("BASE_IMAGE="))
    # The command names the checkout's own paths: the same tree in another clone (benchmarks/ci.py
    # builds in a fresh one, then in this one) builds the same image and must not rebuild it.
    where = str(repo)
    relative = [arg.replace(where, "<context>") for arg in command]
    digest = hashlib.sha256(json.dumps([relative, image_id(engine, base)]).encode())
    for file in [dockerfile, dockerfile.with_name(dockerfile.name + ".dockerignore"), *files]:
        digest.update(file.relative_to(repo).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def build_record(spec: ImageSpec) -> Path:
    """Where the inputs' hash and the image id of the last build of ``spec`` are kept."""
    return user_cache("images") / (spec.tag.replace("/", "_").replace(":", "_") + ".json")


def build(
    engine: Engine,
    spec: ImageSpec,
    repo: Path,
    base: str,
    wheelhouse: Path | None = None,
    no_cache: bool = False,
) -> BuiltImage:
    """Build ``spec`` and measure it; a failed build raises `ContainerError` with its last lines.

    Parameters
    ----------
    engine
        The engine that builds.
    spec
        The image to build.
    repo
        The course repository (the build context).
    base
        The base image to build on.
    wheelhouse
        With podman, install from these wheels with no network (`wheelhouse.fill`).
    no_cache
        Rebuild every layer instead of reusing the engine's cache.
    """
    before = image_id(engine, spec.tag)
    start = time.perf_counter()
    command = build_command(engine, spec, repo, base, wheelhouse, no_cache)
    # What the last build of this tag was made from (the user cache, not an image label: a label
    # that changes with every edit would also change the cache keys of every layer).
    record = build_record(spec)
    inputs = inputs_hash(engine, spec, repo, command)
    last = json.loads(record.read_text()) if record.is_file() else {}
    if inputs and not no_cache and before and last == {"image_id": before, "inputs": inputs}:
        return BuiltImage(
            spec.tag, before, time.perf_counter() - start, _size(engine, spec.tag), True
        )
    engine.run(
        *command,
        what=f"building {spec.tag} from {spec.dockerfile} (its last lines say which step failed)",
    )
    seconds = time.perf_counter() - start
    after = image_id(engine, spec.tag)
    if after is None:
        raise ContainerError(f"{spec.tag}: the build succeeded but the engine has no such image")
    if inputs:
        record.write_text(json.dumps({"image_id": after, "inputs": inputs}))
    return BuiltImage(spec.tag, after, seconds, _size(engine, spec.tag), cached=before == after)
