"""The base image every course image starts from: the official one, or a stand-in built here.

The Dockerfiles start ``FROM ${BASE_IMAGE}``, default ``python:3.11.14-slim-bookworm``, which
Docker Hub serves. A machine that reaches no image registry (the course's CI; a laptop behind a
strict proxy) can still build every image: `ensure_base` then builds a stand-in from Debian's own
packages with mmdebstrap (Debian bookworm with its Python 3.11, the same release the official
image is built on) and imports it under a name of its own, never under the official one, so no
one mistakes it for the image the published Dockerfiles pin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mlops_course.containers.engine import ContainerError, Engine

OFFICIAL = "docker.io/library/python:3.11.14-slim-bookworm"
"""The base the published Dockerfiles pin (their ``BASE_IMAGE`` default), fully qualified:
podman refuses a short name it cannot resolve without asking."""
STAND_IN = "localhost/mlops-course-base:bookworm"
"""The base built from Debian packages when the official one cannot be had."""
# What the stand-in needs to do what the official image does for the course's Dockerfiles:
# python with venv and pip, TLS roots, and useradd (in passwd).
DEBIAN_PACKAGES: tuple[str, ...] = ("python3", "python3-venv", "python3-pip", "python-is-python3")
DEBIAN_PACKAGES += ("ca-certificates", "passwd")


def ensure_base(engine: Engine, *, timeout: float = 600) -> str:
    """The base image to build on, built first if needed; its name for ``--build-arg``.

    ``MLOPS_BASE_IMAGE`` wins when set; else the official image if the engine has it (or can
    pull it); else the stand-in, built once and then reused.

    Parameters
    ----------
    engine
        The engine that will build the images.
    timeout
        Seconds for building the stand-in (about 35 s here; a slow mirror takes longer).
    """
    if wanted := os.environ.get("MLOPS_BASE_IMAGE"):
        return wanted
    for image in (OFFICIAL, STAND_IN):
        if engine.run("image", "inspect", image, check=False).returncode == 0:
            return image
    if engine.run("pull", "--quiet", OFFICIAL, check=False, timeout=120).returncode == 0:
        return OFFICIAL
    build_stand_in(engine, timeout=timeout)
    return STAND_IN


def build_stand_in(engine: Engine, *, timeout: float = 600) -> float:
    """Build `STAND_IN` with mmdebstrap and import it; return the seconds it took.

    Parameters
    ----------
    engine
        The engine to import the image into.
    timeout
        Seconds mmdebstrap may take before it is stopped.
    """
    if shutil.which("mmdebstrap") is None:
        raise ContainerError(
            f"the base image {OFFICIAL} cannot be pulled and mmdebstrap is not installed to build "
            "a stand-in: apt-get install mmdebstrap, or set MLOPS_BASE_IMAGE to an image you have"
        )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlops-base-") as scratch:
        tarball = Path(scratch) / "base.tar"
        include = ",".join(DEBIAN_PACKAGES)
        command = ["mmdebstrap", "--variant=minbase", f"--include={include}", "bookworm"]
        # Unprivileged users need a user namespace; root builds directly.
        mode = [] if os.geteuid() == 0 else ["--mode=unshare"]
        result = subprocess.run(
            [*command[:1], *mode, *command[1:], str(tarball)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ContainerError(
                "building the base image with mmdebstrap failed; check that a Debian mirror "
                f"answers (apt-get update).\n{result.stderr.strip()[-2000:]}"
            )
        engine.run(
            "import",
            "--change",
            'CMD ["python3"]',
            str(tarball),
            STAND_IN,
            what=f"importing the base image {STAND_IN}",
        )
    return time.perf_counter() - start
