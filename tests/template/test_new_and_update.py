"""`mlops-course new` and `mlops-course update`: bad answers write nothing, and a project made
from an older template takes a newer one with `copier update`, keeping the learner's edits."""

import shutil
import subprocess
from pathlib import Path

import pytest
import typer
import yaml
from copier import run_copy
from typer.testing import CliRunner

from mlops_course import template
from mlops_course.template import CHECKOUT_TEMPLATE, TemplateError, new_project, update_project

from .conftest import project_env, run

# The wiring of src/mlops_course/cli.py, rebuilt here so these tests do not depend on it.
cli = typer.Typer()
cli.command("new")(template.new_command)
cli.command("update")(template.update_command)
BAD_PACKAGE_NAMES = ["My-Package", "1project", "import", "json", "src", ""]


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def template_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A template repository of this test's own (never the user's cache)."""
    repo = tmp_path / "template-repo"
    monkeypatch.setenv("MLOPS_TEMPLATE_REPO", str(repo))
    return repo


def test_new_with_defaults_records_the_template_version(
    tmp_path: Path, template_repo: Path
) -> None:
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "proj"), "--defaults"])
    assert result.exit_code == 0, result.output
    version = (CHECKOUT_TEMPLATE / "VERSION").read_text().strip()
    answers = yaml.safe_load((tmp_path / "proj" / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{version}"
    assert Path(answers["_src_path"]) == template_repo
    assert answers["package_name"] == "my_mlops_project"
    assert (tmp_path / "proj" / "src" / "train.py").is_file()


def test_a_non_empty_target_is_refused_and_left_as_it_was(
    tmp_path: Path, template_repo: Path
) -> None:
    target = tmp_path / "existing"
    (target / "notes").mkdir(parents=True)
    (target / "notes" / "todo.txt").write_text("mine\n")
    before = listing(target)
    result = CliRunner().invoke(cli, ["new", str(target), "--defaults"])
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output
    assert listing(target) == before
    assert (target / "notes" / "todo.txt").read_text() == "mine\n"


@pytest.mark.parametrize("name", BAD_PACKAGE_NAMES)
def test_an_invalid_package_name_is_refused_and_nothing_is_written(
    name: str, tmp_path: Path, template_repo: Path
) -> None:
    target = tmp_path / "proj"
    result = CliRunner().invoke(cli, ["new", str(target), "--defaults", "--package-name", name])
    assert result.exit_code == 2
    # Each name has its own reason; the whole sentence must reach the user (rich may wrap it).
    problem = template.package_name_problem(name)
    assert problem is not None, f"{name!r} is accepted by package_name_problem"
    assert problem in " ".join(result.output.split()), result.output
    assert not target.exists()


@pytest.mark.parametrize("name", BAD_PACKAGE_NAMES)
def test_the_copier_validator_refuses_the_same_names(name: str, tmp_path: Path) -> None:
    """Plain `copier copy` (and interactive answers) apply the template's own validator."""
    with pytest.raises(ValueError, match="package_name"):
        run_copy(
            str(CHECKOUT_TEMPLATE),
            tmp_path / "proj",
            data={"package_name": name},
            defaults=True,
            quiet=True,
        )
    assert not (tmp_path / "proj").exists()


def test_the_template_repository_never_overwrites_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious\n")
    with pytest.raises(TemplateError, match="not a template repository"):
        template.sync_template_repo(CHECKOUT_TEMPLATE, foreign)
    assert (foreign / "thesis.tex").read_text() == "precious\n"


def test_the_packaged_template_comes_first_and_a_missing_one_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed wheel reads its own copy; a checkout (no copy) reads template/; with neither,
    the learner is told what is missing instead of getting a copier traceback."""
    assert template.find_template() == CHECKOUT_TEMPLATE  # this checkout has no packaged copy
    packaged = tmp_path / "project_template"
    shutil.copytree(CHECKOUT_TEMPLATE, packaged)
    monkeypatch.setattr(template, "PACKAGED_TEMPLATE", packaged)
    assert template.find_template() == packaged
    monkeypatch.setattr(template, "PACKAGED_TEMPLATE", tmp_path / "nowhere")
    monkeypatch.setattr(template, "CHECKOUT_TEMPLATE", tmp_path / "nowhere-either")
    with pytest.raises(TemplateError, match="the project template is missing"):
        new_project(tmp_path / "proj", defaults=True, repo=tmp_path / "repo")
    assert not (tmp_path / "proj").exists()


def test_an_unchanged_template_keeps_its_tag_and_a_changed_one_gets_a_post_release(
    tmp_path: Path,
) -> None:
    source = tmp_path / "template"
    shutil.copytree(CHECKOUT_TEMPLATE, source)
    repo = tmp_path / "repo"
    first = template.sync_template_repo(source, repo)
    assert template.sync_template_repo(source, repo) == first
    (source / "project" / "NOTES.md").write_text("changed without a version bump\n")
    assert template.sync_template_repo(source, repo).tag == f"{first.tag}.post1"


def start_project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(a copy of the template at 0.1.0, its template repository, a committed project from it)."""
    source = tmp_path / "template"
    shutil.copytree(CHECKOUT_TEMPLATE, source)
    (source / "VERSION").write_text("0.1.0\n")
    repo = tmp_path / "repo"
    project = tmp_path / "project"
    env = project_env(tmp_path)
    assert new_project(project, defaults=True, template_dir=source, repo=repo).tag == "v0.1.0"
    run(["git", "init", "--quiet"], project, env)
    run(["git", "add", "--all"], project, env)
    run(["git", "commit", "--quiet", "-m", "start"], project, env)
    return source, repo, project


def commit_all(project: Path, message: str) -> None:
    env = project_env(project.parent)
    run(["git", "add", "--all"], project, env)
    run(["git", "commit", "--quiet", "-m", message], project, env)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))


def test_copier_update_applies_a_newer_template_and_keeps_the_learners_edits(
    tmp_path: Path,
) -> None:
    source, repo, project = start_project(tmp_path)
    # The learner changes a parameter and adds a file; the template later changes the README,
    # another line of the same params.yaml, and adds a file.
    replace_in(project / "params.yaml", "n_rows: 2000", "n_rows: 5000")
    (project / "notes.md").write_text("my notes\n")
    commit_all(project, "my changes")
    readme = source / "project" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\n## Added in template 0.2.0\n")
    replace_in(source / "project" / "params.yaml.jinja", "seed: 42", "seed: 7")
    (source / "project" / "CHANGELOG.md").write_text("# Changes\n")
    (source / "VERSION").write_text("0.2.0\n")

    version, conflicts = update_project(project, template_dir=source, repo=repo)

    assert version.tag == "v0.2.0"
    assert conflicts == []
    assert not list(project.rglob("*.rej"))
    assert "## Added in template 0.2.0" in (project / "README.md").read_text()
    assert (project / "CHANGELOG.md").is_file()
    params = (project / "params.yaml").read_text()
    assert "seed: 7" in params and "n_rows: 5000" in params
    assert (project / "notes.md").read_text() == "my notes\n"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"


def test_update_reports_a_line_both_sides_changed_as_a_conflict(tmp_path: Path) -> None:
    source, repo, project = start_project(tmp_path)
    replace_in(project / "params.yaml", "seed: 42", "seed: 1")
    commit_all(project, "my seed")
    replace_in(source / "project" / "params.yaml.jinja", "seed: 42", "seed: 7")
    (source / "VERSION").write_text("0.2.0\n")

    _, conflicts = update_project(project, template_dir=source, repo=repo)

    assert conflicts == [project / "params.yaml"]
    params = (project / "params.yaml").read_text()
    assert "<<<<<<< before updating" in params and "seed: 1" in params and "seed: 7" in params


def test_update_refuses_a_project_with_uncommitted_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    env = project_env(tmp_path)
    new_project(project, defaults=True, repo=tmp_path / "repo")
    run(["git", "init", "--quiet"], project, env)
    run(["git", "add", "--all"], project, env)
    run(["git", "commit", "--quiet", "-m", "start"], project, env)
    (project / "README.md").write_text("edited\n")
    with pytest.raises(TemplateError, match="uncommitted changes"):
        update_project(project, repo=tmp_path / "repo")
    assert (project / "README.md").read_text() == "edited\n"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True)
    assert status.stdout.decode().strip() == "M README.md"


def test_without_a_terminal_or_defaults_the_error_says_what_to_do(
    tmp_path: Path, template_repo: Path
) -> None:
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "proj")])
    assert result.exit_code == 2
    assert "add --defaults" in result.output
    assert not (tmp_path / "proj").exists()
