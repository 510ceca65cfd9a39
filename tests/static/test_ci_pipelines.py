"""Every command a CI pipeline runs is real: a Makefile target or a command of the course's CLI.

A pipeline runs only on a CI server, after a push; a step calling a renamed target or a removed
option would rot unseen until the day it matters. So these tests read every command of every
pipeline, the GitHub workflows, `ci/.gitlab-ci.yml` and `ci/Jenkinsfile`, and run each one here
in a harmless form: `make -n <target>` (prints the recipe, runs nothing) and
`mlops-course <command> --help`. The GitLab file is also validated against GitLab's schema vendored
in check-jsonschema, offline.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = REPO_ROOT / "ci" / ".gitlab-ci.yml"
JENKINS = REPO_ROOT / "ci" / "Jenkinsfile"
BIN = Path(sys.executable).parent

CheckJsonschema = Callable[..., subprocess.CompletedProcess[str]]

# Preparing the machine, which no Makefile target can do before `make` itself is there.
SETUP_COMMANDS = [
    re.compile(r"^(sudo )?apt-get update( -q+)?$"),
    re.compile(
        r"^(sudo )?apt-get install( --?[\w-]+)* [a-z0-9][a-z0-9.+-]*( [a-z0-9][a-z0-9.+-]*)*$"
    ),
    re.compile(r"^apk add( --no-cache)? [a-z0-9 -]+$"),
    re.compile(r"^sudo systemctl (disable --now|stop) [a-z0-9-]+$"),
    # A registry login reads the password from stdin, never from the command line (process list).
    re.compile(
        r'^echo "\$\w+" \| docker login [\w.]*( ?--username "\$\w+"| --password-stdin| "\$\w+")+$'
    ),
]


def github_commands(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        line.strip()
        for job in data["jobs"].values()
        for step in job.get("steps", [])
        for line in str(step.get("run", "")).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def gitlab_commands(path: Path = GITLAB) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    commands = []
    for name, job in data.items():
        if not isinstance(job, dict) or name in {"workflow", "variables", "default"}:
            continue
        for key in ("before_script", "script", "after_script"):
            commands += [str(line) for line in job.get(key, [])]
    return commands


def jenkins_commands(path: Path = JENKINS) -> list[str]:
    """The command of every `sh '...'` / `sh "..."` / `sh(script: '...')` step."""
    text = path.read_text(encoding="utf-8")
    return re.findall(r"""\bsh\s*\(?\s*(?:script:\s*)?(['"])(.+?)\1""", text)


def all_commands() -> list[tuple[str, str]]:
    found = [(p.name, c) for p in WORKFLOWS for c in github_commands(p)]
    found += [(GITLAB.name, c) for c in gitlab_commands()]
    found += [(JENKINS.name, c[1]) for c in jenkins_commands()]
    return found


@cache
def makefile_help() -> str:
    return subprocess.run(
        ["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout


@cache  # the same command (e.g. a target's CLI call) is met from several pipelines
def problem_with(command: str) -> str | None:
    """Why ``command`` is not a real make target, CLI command or setup step (None: it is)."""
    words = shlex.split(command)
    if words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w]
        if not targets:
            return f"`{command}` names no target"
        unlisted = [t for t in targets if f"make {t} " not in makefile_help()]
        if unlisted:
            return f"`{command}`: {unlisted} not listed by `make help`"
        dry = subprocess.run(
            ["make", "-n", *words[1:]], cwd=REPO_ROOT, capture_output=True, text=True
        )
        if dry.returncode != 0:
            return f"`make -n` failed: {dry.stderr.strip()}"
        # The recipe's own calls of the course's CLI (and DVC) must be real too.
        for line in dry.stdout.splitlines():
            call = re.search(r"(?:^|/)((?:mlops-course|dvc) [^;&|]*)$", line.strip())
            if call and (problem := problem_with(call.group(1))):
                return f"`{command}` runs {problem}"
        return None
    program = Path(words[0]).name  # `mlops-course` or, after `make venv`, `.venv/bin/mlops-course`
    if program in {"mlops-course", "dvc"} and words[0] in {program, f".venv/bin/{program}"}:
        subcommand = [w for w in words[1:] if not w.startswith("-")][:2]
        args = [str(BIN / program), *subcommand, "--help"]
        done = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True)
        return None if done.returncode == 0 else f"`{' '.join(args)}` failed: {done.stderr}"
    if any(pattern.match(command) for pattern in SETUP_COMMANDS):
        return None
    return f"`{command}` is neither a make target, an mlops-course/dvc command nor machine setup"


# --- tests ---------------------------------------------------------------------------------------


def test_every_pipeline_has_commands() -> None:
    """The parsers find the pipelines' steps: an empty list would make the next test vacuous."""
    assert {"make pipeline", "make model-tests", "make promote"} <= set(
        github_commands(REPO_ROOT / ".github" / "workflows" / "ml-pipeline.yml")
    )
    assert {"make pipeline", "make model-tests", "make gate"} <= set(gitlab_commands())
    assert {"make pipeline", "make model-tests", "make gate"} <= {c for _, c in jenkins_commands()}


@pytest.mark.parametrize(
    ("source", "command"), sorted(set(all_commands())), ids=lambda value: str(value)
)
def test_every_command_is_real(source: str, command: str) -> None:
    problem = problem_with(command)
    assert problem is None, f"{source}: {problem}"


@pytest.mark.parametrize(
    "command",
    [
        "make deploy-everything",
        "make",
        "mlops-course gate launch",
        "dvc reproduce",
        "/usr/local/bin/mlops-course validate x.parquet",  # not the course's own installation
        "curl -sSL https://example.com/install.sh | bash",
        'echo "$TOKEN" | docker login -p hunter2 ghcr.io',
    ],
)
def test_a_made_up_command_is_caught(command: str) -> None:
    assert problem_with(command) is not None


def test_the_three_pipelines_run_the_same_steps() -> None:
    """GitHub, GitLab and Jenkins: the same make targets, so the comparison in the book is fair."""

    def targets(commands: list[str]) -> set[str]:
        return {c.split()[1] for c in commands if c.startswith("make ")} - {"venv"}

    github = targets(github_commands(REPO_ROOT / ".github" / "workflows" / "ml-pipeline.yml"))
    assert github == {"pipeline", "model-tests", "gate", "deploy", "promote"}
    # GitHub builds the image with docker/build-push-action, the others with `make image-push`.
    assert targets(gitlab_commands()) == github | {"image-push"}
    assert targets([c for _, c in jenkins_commands()]) == github | {"image-push"}


def test_gitlab_pipeline_matches_the_gitlab_schema(check_jsonschema: CheckJsonschema) -> None:
    result = check_jsonschema("vendor.gitlab-ci", GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_schema_check_rejects_a_broken_pipeline(
    tmp_path: Path, check_jsonschema: CheckJsonschema
) -> None:
    """A job named `image` collides with the global keyword: GitLab rejects it, and so must we."""
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    data["image"] = data.pop("build-image")
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = check_jsonschema("vendor.gitlab-ci", broken)
    assert result.returncode != 0, "check-jsonschema accepted a job named after a keyword"


def test_gitlab_production_needs_a_person() -> None:
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert data["promote"]["rules"][0]["when"] == "manual"
    assert data["promote"]["environment"]["name"] == "production"
    assert data["production"]["needs"] == ["promote"]


def test_jenkinsfile_is_a_declarative_pipeline_with_an_approval() -> None:
    """No Jenkins runs here, so its structure is checked by hand: balanced blocks, the sections a
    declarative pipeline needs, and the `input` step that is Jenkins' manual approval."""
    text = JENKINS.read_text(encoding="utf-8")
    code = re.sub(r"//.*$", "", text, flags=re.MULTILINE)
    code = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "''", code)
    depth = 0
    for char in code:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a `}` closes more blocks than were opened"
    assert depth == 0, f"{depth} block(s) left open"
    for section in ("pipeline {", "agent {", "stages {", "input {", "timeout("):
        assert section in code, f"the Jenkinsfile lacks `{section}`"


def test_make_help_lists_the_stage_3_targets() -> None:
    for target in ("model-tests", "model-checks", "gate", "promote", "image-push", "deploy"):
        assert f"make {target} " in makefile_help()
