"""`mlops-course doctor` on described machines: each problem fails with its fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops_course import doctor
from mlops_course.cli import app
from mlops_course.doctor import GIB, TOOLS, Machine, Status, Tool, exit_code, run_checks


def _meminfo(available: int) -> str:
    return f"MemTotal: {16 * GIB // 1024} kB\nMemAvailable: {available // 1024} kB\n"


SOUND = Machine(
    which=lambda name: f"/usr/bin/{name}",
    python_version=(3, 11),
    meminfo=lambda: _meminfo(8 * GIB),
    free_disk=lambda folder: 50 * GIB,
    can_bind=lambda port: True,
    folder=Path("/course"),
)


def _by_check(machine: Machine) -> dict[str, doctor.Result]:
    return {result.check: result for result in run_checks(machine)}


def test_a_sound_machine_passes_every_check() -> None:
    results = run_checks(SOUND)
    assert len(results) == len(doctor.CHECKS) == 4 + len(TOOLS)
    assert [r for r in results if r.status is not Status.OK] == []
    assert exit_code(results) == 0


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.executable)
def test_each_missing_tool_names_its_package(tool: Tool) -> None:
    machine = replace(SOUND, which=lambda name: None if name == tool.executable else "/usr/bin/x")
    result = _by_check(machine)[tool.executable]
    assert result.status is (Status.FAIL if tool.required else Status.WARN)
    assert result.fix == f"sudo apt-get install {tool.package}"
    assert exit_code(run_checks(machine)) == (1 if tool.required else 0)


def test_podman_is_optional_for_now() -> None:
    """Only the container sections need it: a warning, not a failure."""
    optional = {tool.executable for tool in TOOLS if not tool.required}
    assert optional == {"podman", "runc"}
    assert {"prometheus", "promtool", "bwrap", "chromium", "git", "make"} <= {
        tool.executable for tool in TOOLS if tool.required
    }


def test_low_memory_fails() -> None:
    machine = replace(SOUND, meminfo=lambda: _meminfo(2 * GIB))
    result = _by_check(machine)["memory"]
    assert result.status is Status.FAIL and "2.0 GiB available" in result.detail
    assert result.fix
    assert exit_code(run_checks(machine)) == 1


def test_no_meminfo_is_skipped_with_a_warning() -> None:
    """macOS and Windows have no /proc/meminfo: say so, do not fail."""
    machine = replace(SOUND, meminfo=lambda: None)
    assert _by_check(machine)["memory"].status is Status.WARN
    assert exit_code(run_checks(machine)) == 0


def test_low_disk_fails_and_names_the_folder() -> None:
    machine = replace(SOUND, free_disk=lambda folder: 1 * GIB)
    result = _by_check(machine)["disk"]
    assert result.status is Status.FAIL and "/course" in result.detail
    assert exit_code(run_checks(machine)) == 1


def test_another_python_fails_with_the_command_to_get_3_11() -> None:
    result = _by_check(replace(SOUND, python_version=(3, 12)))["python"]
    assert result.status is Status.FAIL
    assert "python3.11" in result.fix and "make venv" in result.fix


def test_no_loopback_fails_and_taken_usual_ports_are_information() -> None:
    assert _by_check(replace(SOUND, can_bind=lambda port: False))["loopback ports"].status is (
        Status.FAIL
    )
    taken = _by_check(replace(SOUND, can_bind=lambda port: port != 9090))["loopback ports"]
    assert taken.status is Status.OK and "9090 (Prometheus)" in taken.detail


def test_the_command_exits_1_and_prints_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = replace(SOUND, which=lambda name: None if name == "promtool" else "/usr/bin/x")
    monkeypatch.setattr(doctor, "default_machine", lambda: missing)
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "sudo apt-get install prometheus" in result.output


def test_the_command_exits_0_on_a_sound_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "default_machine", lambda: SOUND)
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Ready for the course" in result.output


def test_help_documents_the_exit_codes() -> None:
    result = CliRunner().invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Exit codes: 0 when every required check passes" in " ".join(result.output.split())
