"""How make test splits its work over pytest-xdist workers (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import _FileOrParameterScheduling

LABS = "tests/grading/test_course_labs.py"


def _scope(nodeid: str) -> str:
    # _split_scope reads nothing of the scheduler's state; a config is needed only to build one.
    return _FileOrParameterScheduling._split_scope(None, nodeid)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("notebooks/00_tour.ipynb::Cell 3", "notebooks/00_tour.ipynb"),
        ("tests/unit/test_cli.py::test_help_lists_commands", "tests/unit/test_cli.py"),
        ("tests/unit/test_cli.py::test_x[.csv]", "tests/unit/test_cli.py"),
        (f"{LABS}::test_solution_scores_100_percent[stage1/a.ipynb]", f"{LABS}[stage1/a.ipynb]"),
        (f"{LABS}::test_generated_lab_matches_its_solution", LABS),
    ],
)
def test_a_file_is_one_unit_except_the_labs_which_split_by_lab(nodeid: str, scope: str) -> None:
    assert _scope(nodeid) == scope


def test_the_tests_of_one_lab_share_a_unit_and_two_labs_do_not() -> None:
    """A lab's cached runs serve all of its tests only if they land in one worker."""
    one = {_scope(f"{LABS}::{test}[stage2/b.ipynb]") for test in ("test_a", "test_b", "test_c")}
    assert len(one) == 1
    assert one != {_scope(f"{LABS}::test_a[stage2/c.ipynb]")}


def test_the_container_tests_are_one_unit() -> None:
    """They share one image build under a lock: spread over workers, one would wait on the other."""
    scopes = {
        _scope("tests/containers/test_api_image.py::test_runs_as_the_image_user_not_root"),
        _scope("tests/containers/test_delivery.py::test_gate_staging_promote_production"),
        _scope("tests/containers/test_kubernetes.py::test_the_liveness_probe_passes_in_the_pod"),
    }
    assert scopes == {"tests/containers/"}
