"""``mlops-course new`` and ``mlops-course update``: a learner's project from the course template.

The template (``template/`` of the course repository) is a copier template. It ships in the wheel
as ``mlops_course/project_template/`` (setup.py copies it there at build time), so an installed
package needs no checkout; in a checkout the package reads ``template/`` itself (`find_template`).
Copier can only *update* a project from a template that is the root of a git repository with
version tags: it regenerates the old version, diffs it against the new one and applies the
difference, keeping the learner's own edits. The template is a folder, not a repository root, so
both commands first mirror it into a small git repository of its own (the *template repository*,
under the user cache folder), committed and tagged ``v<template/VERSION>``. Projects record that
repository as their source in ``.copier-answers.yml``; after the learner pulls a newer course (or
installs a newer wheel), ``mlops-course update PROJECT`` mirrors the newer template (a new tag)
and lets copier apply it. Plain ``copier update`` works too, once the mirror has the new tag.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mlops_course.exits import fail
from mlops_course.settings import user_cache

# Where the template is: in an installed wheel, package data (a real folder: copier and copytree
# need a path, and pip always unpacks wheels); in a checkout, the repository's template/ folder.
PACKAGED_TEMPLATE = Path(__file__).resolve().parent / "project_template"
CHECKOUT_TEMPLATE = Path(__file__).resolve().parents[2] / "template"
# Written into the template repository's .git folder: proof that a folder is ours to overwrite.
MARKER = "mlops-course-template"
PROBLEM_TYPES = ("regression", "classification")
PYTHON_VERSIONS = ("3.11", "3.12")
# The project's own top-level Python packages: a distribution of the same name would shadow them.
PROJECT_PACKAGES = {"src", "dags", "tests", "test"}
GIT_IDENTITY = [
    "-c",
    "user.name=mlops-course",
    "-c",
    "user.email=mlops-course@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
]


class TemplateError(Exception):
    """A mistake a person can fix: the message says what was wrong and what to do."""


@dataclass(frozen=True)
class TemplateVersion:
    """A template repository and the tag of the template it now holds."""

    repo: Path
    tag: str


def find_template() -> Path:
    """The template folder: the one in the installed package, else the checkout's template/.

    The packaged copy comes first because it is the template of the code that runs: an installed
    wheel must not pick up some unrelated folder that happens to sit where a checkout's would.
    A checkout (editable install, or src/ on the path) has no packaged copy, so it reads
    template/ directly and its edits take effect without a rebuild.
    """
    for candidate in (PACKAGED_TEMPLATE, CHECKOUT_TEMPLATE):
        if (candidate / "copier.yml").is_file():
            return candidate
    raise TemplateError(
        f"the project template is missing: neither {PACKAGED_TEMPLATE} (an installed wheel) nor "
        f"{CHECKOUT_TEMPLATE} (a course checkout) has a copier.yml; reinstall mlops-course from "
        "a wheel built with setup.py, or run the command from a course checkout"
    )


def default_template_repo() -> Path:
    """Where the template repository lives: the user cache, so it outlives any one checkout.

    ``MLOPS_TEMPLATE_REPO`` overrides it (the tests use a temporary folder).
    """
    if override := os.environ.get("MLOPS_TEMPLATE_REPO"):
        return Path(override).expanduser().resolve()
    return user_cache() / "template"


def package_name_problem(name: str) -> str | None:
    """Why `name` cannot be the project's package name, or None when it can.

    The same rule as the validator in template/copier.yml, which copier applies to interactive
    answers; checking it here too means a bad `--package-name` fails before anything is written.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return (
            f'"{name}" is not a valid package name: use lowercase letters, digits and underscores, '
            'starting with a letter (for example "trip_duration")'
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in sys.stdlib_module_names:
        return (
            f'"{name}" is a Python keyword or a standard-library module: pick another name '
            f'(for example "{name}_project")'
        )
    if name in PROJECT_PACKAGES:
        return f'"{name}" is a folder of the project itself: pick another name'
    return None


def check_answers(answers: dict[str, Any]) -> None:
    """Reject answers the template would reject, with the reason, before copier starts."""
    if "package_name" in answers and (problem := package_name_problem(answers["package_name"])):
        raise TemplateError(problem)
    if "problem_type" in answers and answers["problem_type"] not in PROBLEM_TYPES:
        raise TemplateError(
            f"unknown problem type {answers['problem_type']!r}; expected one of {PROBLEM_TYPES}"
        )
    if "python_version" in answers and answers["python_version"] not in PYTHON_VERSIONS:
        raise TemplateError(
            f"unsupported Python version {answers['python_version']!r}; "
            f"expected one of {PYTHON_VERSIONS}"
        )


def check_target(dst: Path) -> None:
    """The target must be a new or empty folder: the template never overwrites someone's files."""
    if dst.exists() and not dst.is_dir():
        raise TemplateError(f"{dst} is a file; give the path of a new folder for the project")
    if dst.is_dir() and any(dst.iterdir()):
        raise TemplateError(
            f"{dst} already exists and is not empty; choose a new folder, "
            "or run `mlops-course update` there to update a project made from the template"
        )


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise TemplateError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def _has_commit(repo: Path) -> bool:
    head = ["git", "rev-parse", "--verify", "--quiet", "HEAD"]
    return subprocess.run(head, cwd=repo, capture_output=True, check=False).returncode == 0


def _next_tag(version: str, existing: set[str]) -> str:
    """`v<version>`, or its next `.postN` when the template changed without a version bump."""
    tag = f"v{version}"
    post = 0
    while tag in existing:
        post += 1
        tag = f"v{version}.post{post}"
    return tag


def sync_template_repo(
    template_dir: Path | None = None, repo: Path | None = None
) -> TemplateVersion:
    """Mirror `template_dir` (default: `find_template`) into the template repository; commit and
    tag it when it changed."""
    if shutil.which("git") is None:
        raise TemplateError("git is not installed; the project template needs it (install git)")
    template_dir = template_dir or find_template()
    if not (template_dir / "copier.yml").is_file():
        raise TemplateError(f"no copier template at {template_dir} (it has no copier.yml)")
    repo = repo or default_template_repo()
    marker = repo / ".git" / MARKER
    if repo.exists() and any(repo.iterdir()) and not marker.is_file():
        raise TemplateError(
            f"{repo} exists and is not a template repository made by mlops-course; "
            "remove it or set MLOPS_TEMPLATE_REPO to another folder"
        )
    repo.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        _git(repo, "init", "--quiet", "--initial-branch", "main")
        marker.write_text("made by `mlops-course new`; safe to delete\n", encoding="utf-8")
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(
        template_dir,
        repo,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache"),
    )
    _git(repo, "add", "--all")
    if _has_commit(repo) and not _git(repo, "status", "--porcelain"):
        return TemplateVersion(repo, _git(repo, "describe", "--tags", "--abbrev=0"))
    version = (template_dir / "VERSION").read_text(encoding="utf-8").strip()
    tag = _next_tag(version, set(_git(repo, "tag", "--list").split()))
    _git(repo, "commit", "--quiet", "--message", f"mlops-course project template {tag}")
    _git(repo, "tag", tag)
    return TemplateVersion(repo, tag)


def new_project(
    dst: Path,
    answers: dict[str, Any] | None = None,
    *,
    defaults: bool = False,
    template_dir: Path | None = None,
    repo: Path | None = None,
    quiet: bool = True,
) -> TemplateVersion:
    """Generate a project into `dst` (a new or empty folder) and return the template version.

    Questions not in `answers` are asked interactively, or take their defaults with `defaults`.
    On any error nothing is left behind: a folder this call created is removed again.
    """
    from copier import run_copy

    answers = dict(answers or {})
    dst = dst.expanduser().resolve()
    check_target(dst)
    check_answers(answers)
    version = sync_template_repo(template_dir, repo)
    created = not dst.exists()
    try:
        run_copy(
            str(version.repo),
            dst,
            data=answers,
            vcs_ref=version.tag,
            defaults=defaults,
            unsafe=False,
            quiet=quiet,
        )
    except BaseException:
        if created:
            shutil.rmtree(dst, ignore_errors=True)
        elif dst.is_dir():
            for child in dst.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return version


def update_project(
    project: Path,
    *,
    template_dir: Path | None = None,
    repo: Path | None = None,
    quiet: bool = True,
) -> tuple[TemplateVersion, list[Path]]:
    """Apply the current template to a project made from an older one.

    Returns the template version and the files with conflicts to resolve by hand (copier marks
    them inline, like a git merge). The project must be a git repository with everything
    committed: the update is then one reviewable diff, and `git checkout .` undoes it.
    """
    from copier import run_update

    project = project.expanduser().resolve()
    if not (project / ".copier-answers.yml").is_file():
        raise TemplateError(
            f"{project} has no .copier-answers.yml, so it was not made by `mlops-course new`; "
            "give the folder of a project made from the template"
        )
    if not (project / ".git").exists():
        raise TemplateError(
            f"{project} is not a git repository; `git init`, commit the project, then update"
        )
    if _git(project, "status", "--porcelain"):
        raise TemplateError(f"{project} has uncommitted changes; commit them, then update")
    version = sync_template_repo(template_dir, repo)
    run_update(
        project,
        vcs_ref=version.tag,
        defaults=True,
        overwrite=True,
        skip_answered=True,
        unsafe=False,
        quiet=quiet,
    )
    changed = _git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    conflicts = [
        project / line[3:]
        for line in changed
        if line[3:].endswith(".rej")
        or (
            (project / line[3:]).is_file()
            and "<<<<<<< before updating" in (project / line[3:]).read_text(errors="replace")
        )
    ]
    return version, conflicts


def new_command(
    path: Annotated[Path, typer.Argument(help="A new (or empty) folder for the project.")],
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Take the default of every question not given.")
    ] = False,
    project_name: Annotated[str | None, typer.Option(help="The project's name.")] = None,
    package_name: Annotated[
        str | None, typer.Option(help="Lowercase Python name (default: from the project name).")
    ] = None,
    problem_type: Annotated[str | None, typer.Option(help="regression or classification.")] = None,
    python_version: Annotated[str | None, typer.Option(help="3.11 or 3.12.")] = None,
    kubernetes: Annotated[
        bool | None, typer.Option("--kubernetes/--no-kubernetes", help="Kubernetes manifests.")
    ] = None,
    grafana: Annotated[
        bool | None, typer.Option("--grafana/--no-grafana", help="Grafana dashboards.")
    ] = None,
    retraining: Annotated[
        bool | None,
        typer.Option("--retraining/--no-retraining", help="Scheduled retraining (dags/)."),
    ] = None,
) -> None:
    """Create a new MLOps project from the course template (asks the questions not given)."""
    from copier.errors import CopierError, InteractiveSessionError

    given = {
        "project_name": project_name,
        "package_name": package_name,
        "problem_type": problem_type,
        "python_version": python_version,
        "include_kubernetes": kubernetes,
        "include_grafana": grafana,
        "include_retraining": retraining,
    }
    try:
        version = new_project(
            path, {k: v for k, v in given.items() if v is not None}, defaults=defaults, quiet=False
        )
    except InteractiveSessionError:
        fail(
            "there is no terminal to ask the questions in; add --defaults, or give the answers "
            "as options (see `mlops-course new --help`)"
        )
    except (TemplateError, ValueError, CopierError) as error:
        fail(str(error))
    Console().print(f"template {version.tag}; update later with: mlops-course update {path}")


def update_command(
    path: Annotated[Path, typer.Argument(help="The project to update.")] = Path("."),
) -> None:
    """Apply the course's current template to a project made with `mlops-course new`."""
    from copier.errors import CopierError

    try:
        version, conflicts = update_project(path, quiet=False)
    except (TemplateError, ValueError, CopierError) as error:
        fail(str(error))
    console = Console()  # made on use: it reads the terminal then (see exits.fail)
    console.print(f"{path} is now at template {version.tag}; review with `git diff`")
    for conflict in conflicts:
        console.print(f"[yellow]conflict to resolve:[/] {conflict}")
