"""The course image (docker/jupyter.Dockerfile), built and run: JupyterLab as a learner opens it.

It is what ``docker compose`` starts for the ``jupyter`` service (and for ``mlflow``): JupyterLab
as uid 1000 behind a token, the course kernel with every pin of requirements.txt, a walkthrough
notebook that runs in it, and MLflow reached from inside the container. Beside each promise, a
planted fault shows the check failing: the healthcheck of a container whose JupyterLab is not
running, a notebook with a failing cell.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from mlflow.tracking import MlflowClient
from packaging.utils import canonicalize_name

from mlops_course import services
from mlops_course.containers import images, running, wheelhouse
from mlops_course.containers.engine import ContainerError, Engine
from mlops_course.services.process import free_port
from tests.pins import parse_pins, read_pins

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "stage1" / "01_data_collection.ipynb"
JUPYTER_TOKEN = "course-image-test-token"
HOME = "/home/mlops/course"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What compose mounts at the course folder: here one walkthrough notebook and a planted
    failing one. World-writable, since the container's uid 1000 is not this folder's owner."""
    folder = tmp_path_factory.mktemp("course")
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    broken = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("raise RuntimeError('planted failing cell')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(broken, folder / "broken.ipynb")
    folder.chmod(0o777)
    return folder


@pytest.fixture(scope="module")
def lab(
    engine: Engine,
    course_image: images.BuiltImage,
    mlflow_server: services.Service,
    workspace: Path,
) -> Iterator[running.Container]:
    """JupyterLab as compose's ``jupyter`` service runs it: the folder mounted, an init, a token."""
    network, uri = running.reach_host(engine, mlflow_server.url)
    options = (
        *network,
        "--init",
        "--volume",
        f"{workspace}:{HOME}:Z",
        "--env",
        f"MLOPS_TRACKING_URI={uri}",
        "--env",
        f"JUPYTER_TOKEN={JUPYTER_TOKEN}",
    )
    name = f"lab-{uuid.uuid4().hex[:8]}"
    with running.run(
        engine, course_image.tag, name=name, port=free_port(), container_port=8888, options=options
    ) as container:
        container.wait_ready("/api", timeout=120)
        yield container


def test_jupyterlab_answers_as_uid_1000_and_only_with_its_token(lab: running.Container) -> None:
    assert lab.exec("id", "-u").strip() == "1000"
    assert lab.inspect()["Config"]["User"] == "1000:1000"
    assert httpx.get(lab.url + "/api", timeout=10, trust_env=False).json()["version"]
    contents = lab.url + "/api/contents"
    assert httpx.get(contents, timeout=10, trust_env=False).status_code == 403
    auth = {"Authorization": f"token {JUPYTER_TOKEN}"}
    listed = httpx.get(contents, headers=auth, timeout=10, trust_env=False)
    assert listed.status_code == 200, listed.text
    assert NOTEBOOK.name in {item["name"] for item in listed.json()["content"]}
    kernels = httpx.get(lab.url + "/api/kernelspecs", headers=auth, timeout=10, trust_env=False)
    assert "python3" in kernels.json()["kernelspecs"]


def test_the_healthcheck_command_succeeds_and_fails_when_jupyterlab_is_down(
    engine: Engine, lab: running.Container, course_image: images.BuiltImage
) -> None:
    assert lab.healthcheck()
    name = f"idle-{uuid.uuid4().hex[:8]}"
    with running.run(
        engine, course_image.tag, name=name, port=free_port(), command=("sleep", "60")
    ) as idle:
        assert not idle.healthcheck()


def test_the_image_holds_exactly_the_pinned_packages(lab: running.Container) -> None:
    listed = json.loads(lab.exec("pip", "list", "--format=json").splitlines()[-1])
    frozen = {canonicalize_name(p["name"]): p["version"] for p in listed}
    expected = read_pins(REPO / "requirements.txt")
    # What make venv adds to the lock: pip and setuptools, at the pins the builds use.
    expected |= parse_pins("\n".join(wheelhouse.build_pins(REPO))) | {"mlops-course": "0.1.0"}
    assert frozen == expected


def test_a_walkthrough_notebook_runs_in_the_course_kernel_and_a_failing_one_says_so(
    lab: running.Container,
) -> None:
    execute = ("jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", "/tmp")
    lab.exec(*execute, f"{HOME}/{NOTEBOOK.name}")
    done = nbformat.reads(lab.exec("cat", f"/tmp/{NOTEBOOK.name}"), as_version=4)
    code = [cell for cell in done.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    # Planted fault: a notebook whose cell raises fails the run, naming the error.
    with pytest.raises(ContainerError, match="planted failing cell"):
        lab.exec(*execute, f"{HOME}/broken.ipynb")


def test_a_notebook_kernel_logs_to_the_mlflow_server_it_is_given(
    lab: running.Container, mlflow_server: services.Service
) -> None:
    experiment = f"from-the-course-image-{uuid.uuid4().hex[:8]}"
    script = (
        "import mlflow; from mlops_course.settings import get_settings\n"
        "mlflow.set_tracking_uri(get_settings().tracking_uri)\n"
        f"mlflow.set_experiment({experiment!r})\n"
        "with mlflow.start_run(): mlflow.log_metric('answer', 42)\n"
    )
    lab.exec("python", "-c", script)
    found = MlflowClient(mlflow_server.url).get_experiment_by_name(experiment)
    assert found is not None, "the run logged in the container did not reach the server"
    (run,) = MlflowClient(mlflow_server.url).search_runs([found.experiment_id])
    assert run.data.metrics == {"answer": 42.0}


def test_the_mlflow_service_of_compose_has_what_its_command_needs(lab: running.Container) -> None:
    """compose's ``mlflow`` runs from this image with a Postgres store and S3 artifacts."""
    script = "import psycopg2, boto3, mlflow.server, mlflow; print(mlflow.__version__)"
    pinned = read_pins(REPO / "requirements.txt")["mlflow"]
    assert lab.exec("python", "-c", script).strip() == pinned
