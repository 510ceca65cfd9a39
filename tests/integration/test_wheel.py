"""The course package as a wheel: the artefact the API image installs and a release would publish.

The wheel is built the way docker/api.Dockerfile builds it (`pip wheel --no-deps`), from a copy of
the files the image's build context lets through plus the two the project template needs
(setup.py, which copies template/ into the package, and template/ itself), then inspected
(modules, package data, metadata, entry point, RECORD hashes) and imported from its unpacked
contents, with the course venv's dependencies on the path. Installing it into a fresh venv would
only re-test pip.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "src" / "mlops_course"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NAME = PYPROJECT["project"]["name"]
VERSION = PYPROJECT["project"]["version"]
TEMPLATE = REPO_ROOT / "template"
# Where setup.py puts template/ in the wheel (mlops_course.template.PACKAGED_TEMPLATE).
PACKAGED_TEMPLATE = "mlops_course/project_template/"
# Leftovers of running things that are not part of the template; setup.py skips the same.
CACHES = {"__pycache__", ".ruff_cache", ".pytest_cache"}


def template_files() -> dict[str, bytes]:
    """Every file of the repository's template/, by path inside it, with its bytes."""
    return {
        path.relative_to(TEMPLATE).as_posix(): path.read_bytes()
        for path in sorted(TEMPLATE.rglob("*"))
        if path.is_file() and not CACHES & set(path.parts) and path.suffix != ".pyc"
    }


def backend_pin() -> tuple[str, str]:
    """The build backend pyproject.toml asks for, e.g. ('setuptools', '80.9.0')."""
    (requirement,) = PYPROJECT["build-system"]["requires"]
    name, _, version = requirement.partition("==")
    return name, version


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once, offline: --no-build-isolation uses the venv's setuptools, which must
    be the pinned one (an isolated build would download it)."""
    name, pinned = backend_pin()
    found = subprocess.run(
        [sys.executable, "-c", f"import {name}; print({name}.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if found != pinned:
        pytest.fail(
            f"the venv has {name} {found or '(none)'}, but pyproject.toml builds with "
            f"{name}=={pinned}: run `.venv/bin/pip install {name}=={pinned}` (make venv does).",
            pytrace=False,
        )
    source = tmp_path_factory.mktemp("source")
    for name_ in ("pyproject.toml", "README.md", "setup.py", "MANIFEST.in"):
        shutil.copy(REPO_ROOT / name_, source)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    shutil.copytree(REPO_ROOT / "src", source / "src", ignore=ignore)
    shutil.copytree(TEMPLATE, source / "template", ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--quiet", "--wheel-dir", str(dist), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = dist.glob("*.whl")
    return built


def dist_info(wheel: Path, member: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(f"mlops_course-{VERSION}.dist-info/{member}").decode("utf-8")


def test_wheel_is_pure_python_and_named_for_the_version(wheel: Path) -> None:
    assert wheel.name == f"mlops_course-{VERSION}-py3-none-any.whl"


def test_wheel_holds_every_module_and_nothing_else(wheel: Path) -> None:
    """A module missing from the wheel is an ImportError in the image only; a test, a notebook or
    a cache file in it is weight and noise. The project template is package data too."""
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    expected = (
        {
            "mlops_course/" + path.relative_to(PACKAGE_DIR).as_posix()
            for path in PACKAGE_DIR.rglob("*.py")
            if "__pycache__" not in path.parts
        }
        | {
            package.replace(".", "/") + "/" + pattern
            for package, patterns in data.items()
            for pattern in patterns
        }
        | {PACKAGED_TEMPLATE + name for name in template_files()}
    )
    with zipfile.ZipFile(wheel) as archive:
        names = {name for name in archive.namelist() if not name.endswith("/")}
    packaged = {name for name in names if not name.startswith(f"mlops_course-{VERSION}.dist-info")}
    assert packaged == expected
    assert "mlops_course/serving/app.py" in packaged  # the comparison saw the real tree
    assert "mlops_course/monitoring/prometheus/alerts.yml" in packaged  # and the package data
    assert PACKAGED_TEMPLATE + "copier.yml" in packaged  # and the template


def test_metadata_declares_the_package(wheel: Path) -> None:
    metadata = Parser().parsestr(dist_info(wheel, "METADATA"))
    assert metadata["Name"] == NAME
    assert metadata["Version"] == VERSION
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(
        PYPROJECT["project"]["requires-python"]
    )
    extras = PYPROJECT["project"].get("optional-dependencies", {})
    expected = list(PYPROJECT["project"]["dependencies"]) + [
        f'{name}; extra == "{extra}"' for extra, names in extras.items() for name in names
    ]
    assert sorted(metadata.get_all("Requires-Dist") or []) == sorted(expected)
    assert sorted(metadata.get_all("Provides-Extra") or []) == sorted(extras)


def test_the_cli_entry_point_is_declared(wheel: Path) -> None:
    """pip writes the `mlops-course` executable from this line: the images' CMD runs it.

    The entry point is ``__main__.main``, not the Typer app itself: it must stay importable
    without the CLI's imports (see mlops_course.forkserver).
    """
    entry_points = dist_info(wheel, "entry_points.txt")
    section = re.search(r"\[console_scripts\]\n((?:.+\n?)+)", entry_points)
    assert section, entry_points
    scripts = dict(
        (part.strip() for part in line.split("=", 1)) for line in section.group(1).splitlines()
    )
    assert scripts == {"mlops-course": "mlops_course.__main__:main"}


def test_record_lists_every_file_with_its_hash(wheel: Path) -> None:
    """pip refuses a wheel whose RECORD disagrees with its contents."""
    record = dist_info(wheel, "RECORD")
    rows = {row[0]: row[1] for row in csv.reader(io.StringIO(record)) if row}
    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        assert set(rows) == set(names)
        for name in names:
            if name.endswith("/RECORD"):
                continue
            algorithm, _, expected = rows[name].partition("=")
            digest = hashlib.new(algorithm, archive.read(name)).digest()
            assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == expected, name


def _run_from_unpacked(
    wheel: Path, tmp_path: Path, code: str, env: dict[str, str] | None = None
) -> tuple[Path, list[str]]:
    """Run ``code`` with the package imported from the wheel's own files (not the editable
    checkout), in a folder outside any checkout, with ``env`` added to a minimal environment;
    the unpacked folder and the output lines."""
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=elsewhere,
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return unpacked, result.stdout.strip().splitlines()


def test_unpacked_wheel_imports_and_runs_the_cli(wheel: Path, tmp_path: Path) -> None:
    """Import the package from the wheel and call the entry point the way the generated
    `mlops-course` script does."""
    code = (
        "import sys, mlops_course\n"
        "from mlops_course.cli import app\n"
        "print(mlops_course.__file__)\n"
        "sys.argv = ['mlops-course', '--version']\n"
        "app()\n"
    )
    unpacked, lines = _run_from_unpacked(wheel, tmp_path, code)
    imported_from, version_line = lines[-2:]
    assert Path(imported_from).is_relative_to(unpacked), f"imported from {imported_from}"
    assert version_line == f"mlops-course {VERSION}"


def test_the_unpacked_wheel_carries_what_it_reads_at_run_time(wheel: Path, tmp_path: Path) -> None:
    """Outside any checkout, the installed package finds its Prometheus config and alert rules
    (the embedded Prometheus of stage 4), instead of reaching into a repository."""
    code = (
        "import yaml\n"
        "from mlops_course.services.prometheus import course_prometheus_config\n"
        "config = course_prometheus_config()\n"
        "rules = yaml.safe_load(config.read_text())['rule_files']\n"
        "print(config)\n"
        "print(all((config.parent / rule).exists() for rule in rules))\n"
    )
    unpacked, lines = _run_from_unpacked(wheel, tmp_path, code)
    config, rules_found = lines[-2:]
    assert Path(config).is_relative_to(unpacked), f"read the config from {config}"
    assert rules_found == "True"


def test_the_wheel_carries_the_project_template_as_it_is_in_the_repository(wheel: Path) -> None:
    """setup.py copies template/ at build time, so the copy must equal it file for file: a file
    missing, added, renamed or changed in the wheel means a learner gets a different project."""
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name.removeprefix(PACKAGED_TEMPLATE): archive.read(name)
            for name in archive.namelist()
            if name.startswith(PACKAGED_TEMPLATE) and not name.endswith("/")
        }
    expected = template_files()
    assert sorted(packaged) == sorted(expected)
    assert [name for name in expected if packaged[name] != expected[name]] == []
    assert "copier.yml" in expected and "project/pyproject.toml.jinja" in expected


def test_the_unpacked_wheel_makes_and_updates_a_project_outside_any_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    """`mlops-course new` and `update`, run from the wheel in a folder with no checkout above it,
    render the template the wheel carries."""
    project = tmp_path / "my-project"
    repo = tmp_path / "template-repo"
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import subprocess, sys\n"
        "from mlops_course import template\n"
        "from mlops_course.cli import app\n"
        "print('template at', template.find_template())\n"
        f"project = {str(project)!r}\n"
        "for argv in (['new', project, '--defaults'], ['update', project]):\n"
        "    if argv[0] == 'update':\n"
        "        for git in (['init', '-q'], ['add', '-A'], ['commit', '-qm', 'start']):\n"
        "            subprocess.run(['git', *git], cwd=project, check=True)\n"
        "    sys.argv = ['mlops-course', *argv]\n"
        "    try:\n"
        "        app()\n"
        "    except SystemExit as done:\n"
        "        assert not done.code, f'mlops-course {argv[0]} exited with {done.code}'\n"
    )
    identity = {"GIT_AUTHOR_NAME": "learner", "GIT_AUTHOR_EMAIL": "learner@localhost"}
    identity |= {"GIT_COMMITTER_NAME": "learner", "GIT_COMMITTER_EMAIL": "learner@localhost"}
    unpacked, lines = _run_from_unpacked(
        wheel,
        tmp_path,
        code,
        # COLUMNS: rich would wrap the long temporary paths of the messages at 80 columns.
        env={"HOME": str(home), "MLOPS_TEMPLATE_REPO": str(repo), "COLUMNS": "1000"} | identity,
    )
    (found,) = [
        line.removeprefix("template at ") for line in lines if line.startswith("template at")
    ]
    assert Path(found) == unpacked / PACKAGED_TEMPLATE, f"read the template from {found}"
    for name in ("pyproject.toml", "Makefile", "dvc.yaml", "src/__init__.py", "src/train.py"):
        assert (project / name).is_file(), f"the generated project has no {name}"
    assert 'name = "my-mlops-project"' in (project / "pyproject.toml").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v" + (TEMPLATE / "VERSION").read_text().strip()
    assert Path(answers["_src_path"]) == repo
    assert any(f"{project} is now at template" in line for line in lines), lines
