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
    files it left: while both are unchanged, nothing runs. Binary wheels only:
    an sdist would need a compiler in the image, which the course's images do not have.

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
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--no-deps", "--dest", str(folder)]
    command += ["--requirement", str(requirements), *pins]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ContainerError(
            f"downloading the wheels of {requirements.name} failed: is the package index "
            f"reachable (pip config list)?\n{result.stderr.strip()[-2000:]}"
        )
    files = sorted(p.name for p in folder.glob("*.whl"))
    partial = stamp.with_name(f"{stamp.name}.{os.getpid()}")
    partial.write_text(json.dumps({"asked": asked, "files": files}))
    partial.replace(stamp)  # atomic: two xdist workers may fill at once
    return folder
