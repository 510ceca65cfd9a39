"""The container tools without an engine: build commands, the rendered manifest, the pins."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlops_course.containers import engine as engine_module
from mlops_course.containers import images, kubernetes, wheelhouse
from mlops_course.containers.engine import ContainerError, Engine, find_engine

REPO = Path(__file__).resolve().parents[2]
PODMAN = Engine("podman", "/usr/bin/podman")
DOCKER = Engine("docker", "/usr/bin/docker")


def test_podman_builds_offline_from_the_wheelhouse_and_docker_from_the_index() -> None:
    wheels = Path("/wheels-here")
    podman = images.build_command(PODMAN, images.API, REPO, "base:1", wheels)
    assert "--network=none" in podman and f"{wheels}:/wheels:ro" in podman
    assert "PIP_NO_INDEX=1" in podman and "BASE_IMAGE=base:1" in podman
    assert podman[podman.index("--format") + 1] == "docker", "podman would drop the HEALTHCHECK"
    docker = images.build_command(DOCKER, images.API, REPO, "base:1", wheels)
    assert "--network=none" not in docker and "--format" not in docker
    assert docker[-1] == str(REPO) and "BASE_IMAGE=base:1" in docker
    assert "--no-cache" in images.build_command(DOCKER, images.API, REPO, "b", None, True)


def test_the_wheelhouse_gets_the_pins_of_pip_and_of_the_build_backend() -> None:
    pins = wheelhouse.build_pins(REPO)
    dockerfile = (REPO / "docker" / "api.Dockerfile").read_text()
    assert any(pin.startswith("pip==") and pin in dockerfile for pin in pins)
    assert any(pin.startswith("setuptools==") for pin in pins)


def test_the_wheelhouse_downloads_again_only_when_the_pins_or_its_files_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip reads the index for every pin even when every wheel is there: a stamp skips that."""
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        (tmp_path / "wheels" / "pkg-1.0-py3-none-any.whl").write_bytes(b"wheel")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(wheelhouse.subprocess, "run", fake_pip)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pkg==1.0\n")
    folder = tmp_path / "wheels"
    folder.mkdir()
    for _ in range(2):
        assert wheelhouse.fill(requirements, REPO, folder) == folder
    assert len(calls) == 1, "an unchanged wheelhouse was downloaded again"
    requirements.write_text("pkg==1.0\nother==2.0\n")
    wheelhouse.fill(requirements, REPO, folder)
    assert len(calls) == 2, "new pins were not downloaded"
    (folder / "pkg-1.0-py3-none-any.whl").unlink()
    wheelhouse.fill(requirements, REPO, folder)
    assert len(calls) == 3, "a deleted wheel was not downloaded again"


def test_a_wheel_compiled_on_this_machine_is_refused_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pure-Python sdist becomes a wheel the image can use; a compiled one must not slip in."""

    def fake_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert command[3] == "wheel" and "--no-deps" in command
        (folder / "pure-1.0-py3-none-any.whl").write_bytes(b"wheel")
        (folder / "native-2.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"wheel")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(wheelhouse.subprocess, "run", fake_pip)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pure==1.0\nnative==2.0\n")
    folder = tmp_path / "wheels"
    folder.mkdir()
    with pytest.raises(ContainerError, match=r"native-2\.0-cp311-cp311-linux_x86_64\.whl") as error:
        wheelhouse.fill(requirements, REPO, folder)
    assert "pure-1.0" not in str(error.value)
    assert not list(folder.glob(".filled-*")), "a refused wheelhouse must not be stamped as filled"
    assert wheelhouse.COMPILED_HERE.search("x-1-cp311-cp311-manylinux_2_17_x86_64.whl") is None


def test_the_same_tree_in_another_checkout_has_the_same_build_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone must not make the next build in this checkout rebuild, nor the reverse."""
    monkeypatch.setattr(images, "image_id", lambda engine, tag: "sha256:base")

    def checkout(name: str) -> Path:
        repo = tmp_path / name
        (repo / "docker").mkdir(parents=True)
        (repo / "docker" / "x.Dockerfile").write_text("FROM ${BASE_IMAGE}\nCOPY src /src\n")
        (repo / "docker" / "x.Dockerfile.dockerignore").write_text("*\n!src\n")
        (repo / "src").mkdir()
        (repo / "src" / "a.py").write_text("print('a')\n")
        return repo

    spec = images.ImageSpec("localhost/x:test", "docker/x.Dockerfile", "")

    def inputs(repo: Path) -> str | None:
        command = images.build_command(PODMAN, spec, repo, "base:1", Path("/wheels"))
        assert str(repo) in " ".join(command)  # the command does name the checkout
        return images.inputs_hash(PODMAN, spec, repo, command)

    one, other = checkout("one"), checkout("other")
    assert inputs(one) is not None and inputs(one) == inputs(other)
    (other / "src" / "a.py").write_text("print('b')\n")
    assert inputs(one) != inputs(other), "an edited file must change the inputs"


def test_an_engine_that_is_not_installed_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLOPS_CONTAINER_ENGINE", "no-such-engine")
    find_engine.cache_clear()
    try:
        with pytest.raises(ContainerError, match="no container engine found"):
            find_engine()
    finally:
        find_engine.cache_clear()


def test_every_started_thing_carries_the_course_and_the_session_label() -> None:
    assert engine_module.LABELS == (
        "--label",
        engine_module.LABEL,
        "--label",
        engine_module.SESSION_LABEL,
    )
    assert re.fullmatch(r"io\.mlops-course\.session=[0-9a-f]{12}", engine_module.SESSION_LABEL)


def _published() -> tuple[dict, dict]:
    manifests = REPO / "docker" / "kubernetes"
    return (
        yaml.safe_load((manifests / "api-configmap.yaml").read_text()),
        yaml.safe_load((manifests / "api-deployment.yaml").read_text()),
    )


def test_the_rendered_manifest_changes_only_what_a_machine_without_a_cluster_needs() -> None:
    rendered = kubernetes.render_for_podman(
        REPO / "docker" / "kubernetes",
        image="localhost/x:1",
        host_port=18000,
        config={"MLOPS_TRACKING_URI": "http://10.0.2.2:5000"},
        name="mlops-api-test",
    )
    configmap, deployment = yaml.safe_load_all(rendered)
    published_configmap, published = _published()
    expected_configmap = copy.deepcopy(published_configmap)
    expected_configmap["data"]["MLOPS_TRACKING_URI"] = "http://10.0.2.2:5000"
    assert configmap == expected_configmap

    expected = copy.deepcopy(published)
    expected["metadata"]["name"] = "mlops-api-test"
    expected["spec"]["replicas"] = 1
    template = expected["spec"]["template"]
    template["metadata"]["labels"].update(
        dict(label.split("=") for label in (engine_module.LABEL, engine_module.SESSION_LABEL))
    )
    container = template["spec"]["containers"][0]
    container["image"] = "localhost/x:1"
    container["ports"][0].update(hostPort=18000, hostIP="127.0.0.1")
    del container["livenessProbe"]["httpGet"]
    container["livenessProbe"]["exec"] = {"command": kubernetes.HEALTH_COMMAND}
    assert deployment == expected  # security context, resources, readiness, volumes: unchanged


def test_the_rendered_liveness_probe_is_the_images_own_healthcheck() -> None:
    dockerfile = (REPO / "docker" / "api.Dockerfile").read_text().replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert found, "api.Dockerfile has no exec-form HEALTHCHECK"
    assert json.loads(found[1]) == kubernetes.HEALTH_COMMAND


def test_the_healthcheck_command_passes_on_200_and_fails_on_errors_and_silence() -> None:
    import http.server
    import threading

    from mlops_course.serving import healthcheck

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert healthcheck.healthy(base + "/health")
        assert not healthcheck.healthy(base + "/broken")  # an error status
    finally:
        server.shutdown()
        server.server_close()
    assert not healthcheck.healthy(base + "/health", timeout=1)  # nothing listens any more
    assert all(" " not in word for word in kubernetes.HEALTH_COMMAND), "podman splits on spaces"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "nope"], "unknown image nope"),
        (["build", "--repo", "/"], "is not a course checkout"),
    ],
)
def test_containers_build_refuses_bad_input_with_exit_code_2(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from mlops_course.cli import app

    result = CliRunner().invoke(app, ["containers", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


class _RecordingEngine(Engine):
    """An engine that runs nothing: it records the commands and lists one leftover of each kind."""

    def run(self, *args: str, **_: object) -> subprocess.CompletedProcess[str]:  # type: ignore[override]
        self.calls.append(args)  # type: ignore[attr-defined]
        listing = "--filter" in args
        return subprocess.CompletedProcess(args, 0, stdout="abc123\n" if listing else "", stderr="")


@pytest.mark.parametrize("everything", [False, True])
def test_remove_everything_filters_by_the_session_or_by_the_course(everything: bool) -> None:
    fake = _RecordingEngine("podman", "/usr/bin/podman")
    object.__setattr__(fake, "calls", [])
    removed = engine_module.remove_everything(fake, everything=everything)
    label = engine_module.LABEL if everything else engine_module.SESSION_LABEL
    listings = [call for call in fake.calls if "--filter" in call]  # type: ignore[attr-defined]
    assert listings and all(call[-1] == f"label={label}" for call in listings)
    assert {item.split()[0] for item in removed} == {"pod", "container", "volume"}


def _context(tmp_path: Path) -> Path:
    """A build context with the API image's Dockerfile and ignore file, and a few files."""
    (tmp_path / "docker").mkdir()
    for name in ("api.Dockerfile", "api.Dockerfile.dockerignore"):
        shutil.copy(REPO / "docker" / name, tmp_path / "docker" / name)
    for name in ("src/pkg/a.py", "src/pkg/__pycache__/a.cpython-311.pyc", "README.md", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    return tmp_path


def test_the_build_context_is_what_the_allowlist_lets_through(tmp_path: Path) -> None:
    repo = _context(tmp_path)
    files = images.context_files(repo / "docker" / "api.Dockerfile", repo)
    assert files is not None
    assert {f.relative_to(repo).as_posix() for f in files} == {"src/pkg/a.py", "README.md"}
    (repo / "docker" / "api.Dockerfile.dockerignore").write_text("src/secret\n")  # a denylist
    assert images.context_files(repo / "docker" / "api.Dockerfile", repo) is None


def test_the_inputs_hash_changes_with_the_context_and_the_command_only(tmp_path: Path) -> None:
    repo = _context(tmp_path)
    fake = _RecordingEngine("podman", "/usr/bin/podman")
    object.__setattr__(fake, "calls", [])
    command = images.build_command(fake, images.API, repo, "base:1", None)
    first = images.inputs_hash(fake, images.API, repo, command)
    assert first is not None
    (repo / "notes.txt").write_text("not sent to the build")
    (repo / "src/pkg/__pycache__/a.cpython-311.pyc").write_text("ignored")
    # A linter's cache changes on every run: a warm make test after make lint rebuilt both images.
    for cache in (".ruff_cache/0.17.6/1", ".mypy_cache/3.11/a.json", ".pytest_cache/v/x"):
        (repo / "src" / "pkg" / cache).parent.mkdir(parents=True, exist_ok=True)
        (repo / "src" / "pkg" / cache).write_text("a cache")
    assert images.inputs_hash(fake, images.API, repo, command) == first
    (repo / "src/pkg/a.py").write_text("changed")
    changed = images.inputs_hash(fake, images.API, repo, command)
    assert changed != first
    other_base = images.build_command(fake, images.API, repo, "base:2", None)
    assert images.inputs_hash(fake, images.API, repo, other_base) not in {first, changed}
