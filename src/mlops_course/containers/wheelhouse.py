"""The wheelhouse: every pinned wheel an image installs, downloaded once, before any build.

Image builds then run with ``--network=none`` and install from this folder, mounted read-only.
That is faster (a rebuild reads no index), reproducible (the wheels are the lock's, byte for
byte), and safe for the labs: a ``RUN`` step of a learner's Dockerfile reaches nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from mlops_course.containers.engine import ContainerError
from mlops_course.settings import user_cache

# The platform tag of a wheel built from source on this machine; the index publishes only
# portable ones (manylinux, musllinux, none-any).
COMPILED_HERE = re.compile(r"-linux_[a-z0-9_]+\.whl$")


def build_pins(repo: Path) -> list[str]:
    """The pins a build needs besides the requirements: pip (the Dockerfiles' own pin) and the
    build backend (pyproject.toml's), which build isolation would otherwise fetch.

    Parameters
    ----------
    repo
        The course repository (its ``pyproject.toml`` and ``docker/api.Dockerfile`` are read).
    """
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    dockerfile = (repo / "docker" / "api.Dockerfile").read_text(encoding="utf-8")
    pip = re.search(r"pip install --no-cache-dir (pip==[\w.]+)", dockerfile)
    if pip is None:
        raise ContainerError("docker/api.Dockerfile no longer pins pip: cannot fill the wheelhouse")
    return [pip.group(1), *pyproject["build-system"]["requires"]]


def fill(requirements: Path, repo: Path, folder: Path | None = None) -> Path:
    """Download the wheels of ``requirements`` (and `build_pins`) into the wheelhouse.

    pip skips what is already there, but still reads the index's metadata for every pin (about
    10 s for the API's 98). So a stamp records what a successful download was asked for and which
    files it left: while both are unchanged, nothing runs.

    ``pip wheel``, not ``pip download --only-binary``: a few pins exist only as a source
    distribution (``antlr4-python3-runtime==4.9.3``, which DVC's hydra-core needs, in the full
    lock), and the images install with ``--no-index``, so those are built into wheels here, on the
    host. Only pure-Python ones are accepted: a wheel compiled on this machine
    (``linux_x86_64``) could need a newer C library than the image has, and the images have no
    compiler to build it themselves.

    Parameters
    ----------
    requirements
        A pinned requirements file (``docker/api-requirements.txt``, ``requirements.txt``).
    repo
        The course repository, for `build_pins`.
    folder
        Where the wheels go; default ``~/.cache/mlops-course/wheelhouse``.
    """
    folder = folder or user_cache("wheelhouse")
    pins = build_pins(repo)
    asked = hashlib.sha256(json.dumps([requirements.read_text(), pins]).encode()).hexdigest()
    stamp = folder / f".filled-{requirements.name}.json"
    if stamp.is_file():
        last = json.loads(stamp.read_text())
        if last.get("asked") == asked and all((folder / f).is_file() for f in last["files"]):
            return folder
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    command += ["--prefer-binary", "--no-deps", "--wheel-dir", str(folder)]
    command += ["--requirement", str(requirements), *pins]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ContainerError(
            f"downloading the wheels of {requirements.name} failed: is the package index "
            f"reachable (pip config list)?\n{result.stderr.strip()[-2000:]}"
        )
    files = sorted(p.name for p in folder.glob("*.whl"))
    if compiled := [name for name in files if COMPILED_HERE.search(name)]:
        raise ContainerError(
            f"{requirements.name}: {', '.join(compiled)} had no wheel on the index and was "
            "compiled on this machine, which the images cannot use (no compiler, maybe an older "
            "C library): pin a release that publishes manylinux wheels"
        )
    partial = stamp.with_name(f"{stamp.name}.{os.getpid()}")
    partial.write_text(json.dumps({"asked": asked, "files": files}))
    partial.replace(stamp)  # atomic: two xdist workers may fill at once
    return folder
