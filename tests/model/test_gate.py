"""The quality gate: a better candidate passes, a worse one is blocked, with reasons.

The CLI is tested through its own Typer app, on skops files like those `dvc repro` writes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from mlops_course.gate import (
    MAE_MARGIN,
    PULL_REQUEST,
    RETRAINING,
    GateReport,
    decide,
    evaluate_gate,
)
from mlops_course.gate.cli import app


def test_decide_blocks_a_worse_candidate() -> None:
    passed, reasons = decide(3.0, 2.5, baseline_mae=8.0)
    assert not passed
    assert reasons[-1].startswith("BLOCK: candidate MAE 3.000 vs champion 2.500 (+20.0%)")


def test_decide_passes_a_better_candidate() -> None:
    passed, reasons = decide(2.4, 2.5, baseline_mae=8.0)
    assert passed and reasons and all(r.startswith("ok") for r in reasons), reasons


def test_decide_passes_a_candidate_worse_only_within_the_margin() -> None:
    assert decide(2.5 * (1 + MAE_MARGIN) - 1e-9, 2.5, baseline_mae=8.0)[0]
    assert not decide(2.5 * (1 + MAE_MARGIN) + 1e-3, 2.5, baseline_mae=8.0)[0]
    assert decide(2.6, 2.5, baseline_mae=8.0, margin=0.05)[0]


def test_decide_without_champion_passes_and_says_why() -> None:
    passed, reasons = decide(2.5, None, baseline_mae=8.0)
    assert passed and "no champion yet" in reasons[-1]


def test_decide_blocks_a_candidate_no_better_than_the_baseline() -> None:
    passed, reasons = decide(7.0, None, baseline_mae=8.0)
    assert not passed and reasons[0].startswith("BLOCK: candidate MAE 7.000 vs baseline")


def test_gate_passes_the_better_model_and_blocks_the_worse(
    good_model: Pipeline, weaker_model: Pipeline, eval_frame: pd.DataFrame, baseline_value: float
) -> None:
    better = evaluate_gate(good_model, weaker_model, eval_frame, baseline_value=baseline_value)
    assert better.passed, better.summary()
    worse = evaluate_gate(weaker_model, good_model, eval_frame, baseline_value=baseline_value)
    assert not worse.passed and worse.decision == "BLOCK"
    assert any(r.startswith("BLOCK: candidate MAE") for r in worse.reasons), worse.reasons
    assert list(worse.metrics.index) == ["candidate", "baseline", "champion"]


def test_gate_compares_both_models_on_the_same_rows(
    good_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    """The same model as candidate and champion scores exactly the same: same data, same MAE."""
    report = evaluate_gate(good_model, good_model, eval_frame)
    assert report.metrics.loc["candidate", "mae"] == report.metrics.loc["champion", "mae"]
    assert report.passed


def test_gate_blocks_a_model_failing_a_behavioural_check(
    temperature_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    report = evaluate_gate(temperature_model, None, eval_frame)
    assert not report.passed
    assert any("invariant to temperature" in r for r in report.reasons if r.startswith("BLOCK"))


def test_gate_without_champion(good_model: Pipeline, eval_frame: pd.DataFrame) -> None:
    report = evaluate_gate(good_model, None, eval_frame)
    assert report.passed and any("no champion yet" in r for r in report.reasons)
    assert "champion" not in report.metrics.index


def test_report_renders_as_text_html_and_json(
    good_model: Pipeline, weaker_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    report = evaluate_gate(weaker_model, good_model, eval_frame)
    text = str(report)
    assert text.startswith("quality gate: BLOCK (1000 evaluation trips)") and "mae" in text
    assert "BLOCK" in report._repr_html_() and "<table" in report._repr_html_()
    data = json.loads(report.to_json())
    assert data["decision"] == "BLOCK" and data["passed"] is False
    assert {row["model"] for row in data["metrics"]} == {"candidate", "champion", "baseline"}
    assert len(data["checks"]) == 4 and data["policy"] == "pull request"
    assert isinstance(report, GateReport)


def test_the_baseline_is_weighed_once(good_model: Pipeline, eval_frame: pd.DataFrame) -> None:
    """The baseline is a criterion of the gate and not also one of its checks (it was both, with
    different rounding, so a report could pass one and block the other on the same numbers)."""
    report = evaluate_gate(good_model, None, eval_frame)
    assert [c.name for c in report.criteria] == ["baseline", "champion", "behavioural checks"]
    assert "beats the baseline" not in [c.name for c in report.checks]
    assert sum("baseline" in reason for reason in report.reasons) == 1, report.reasons


def test_a_report_cannot_pass_while_a_criterion_blocks(
    weaker_model: Pipeline, good_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    report = evaluate_gate(weaker_model, good_model, eval_frame)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.passed = True  # type: ignore[misc]
    assert not report.passed and report.decision == "BLOCK"


@pytest.mark.parametrize(
    ("candidate", "passes_pull_request", "passes_retraining"),
    [(2.40, True, False), (2.37, True, True), (2.54, True, False), (2.56, False, False)],
)
def test_the_two_policies_are_one_rule_with_a_signed_margin(
    candidate: float, passes_pull_request: bool, passes_retraining: bool
) -> None:
    """Champion at 2.50: a pull request may be 2% worse (2.55), a retraining 5% better (2.375)."""
    for policy, expected in ((PULL_REQUEST, passes_pull_request), (RETRAINING, passes_retraining)):
        criteria = policy.decide(candidate, 2.5, baseline_mae=8.0)
        champion = [c for c in criteria if c.name == "champion"]
        assert len(champion) == 1 and champion[0].passed is expected, (policy.name, criteria)


def test_gate_refuses_an_empty_evaluation_set(good_model: Pipeline) -> None:
    with pytest.raises(ValueError, match="evaluation set is empty"):
        evaluate_gate(good_model, None, pd.DataFrame(columns=["duration_min"]))


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def files(
    tmp_path: Path,
    good_model: Pipeline,
    weaker_model: Pipeline,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.skops" for name in ("good", "weaker")}
    skops.io.dump(good_model, paths["good"])
    skops.io.dump(weaker_model, paths["weaker"])
    paths["train"], paths["eval"] = tmp_path / "train.parquet", tmp_path / "eval.parquet"
    train_frame.to_parquet(paths["train"])
    eval_frame.to_parquet(paths["eval"])
    paths["report"] = tmp_path / "reports" / "gate.json"
    return paths


def _gate(files: dict[str, Path], candidate: str, *extra: str):
    args = ["run", "--candidate", str(files[candidate]), "--eval-data", str(files["eval"])]
    args += ["--train-data", str(files["train"]), "--report", str(files["report"]), *extra]
    return CliRunner().invoke(app, args)


def test_cli_blocks_a_worse_candidate_with_exit_code_1(files: dict[str, Path]) -> None:
    result = _gate(files, "weaker", "--champion", str(files["good"]))
    assert result.exit_code == 1, result.output
    assert "quality gate: BLOCK" in result.output
    assert json.loads(files["report"].read_text())["decision"] == "BLOCK"


def test_cli_passes_a_better_candidate(files: dict[str, Path]) -> None:
    result = _gate(files, "good", "--champion", str(files["weaker"]))
    assert result.exit_code == 0, result.output
    assert "quality gate: PASS" in result.output


def test_cli_first_model_without_champion(files: dict[str, Path]) -> None:
    result = _gate(files, "good", "--no-champion")
    assert result.exit_code == 0, result.output
    assert "no champion yet" in result.output


def test_cli_without_registry_or_champion_explains_what_to_do(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLOPS_TRACKING_URI", raising=False)
    import mlflow

    monkeypatch.setattr(mlflow, "get_tracking_uri", lambda: "sqlite:///nowhere.db")
    result = _gate(files, "good")
    assert result.exit_code == 2, result.output
    assert "--no-champion" in result.output


def test_cli_missing_model_file_is_a_setup_error(files: dict[str, Path], tmp_path: Path) -> None:
    files["missing"] = tmp_path / "nope.skops"
    result = _gate(files, "missing", "--no-champion")
    assert result.exit_code == 2 and "dvc repro" in result.output


def test_cli_checks_command(files: dict[str, Path], tmp_path: Path, shuffled_model) -> None:
    ok = CliRunner().invoke(
        app, ["checks", "--model", str(files["good"]), "--eval-data", str(files["eval"])]
    )
    assert ok.exit_code == 0 and "all 5 model checks passed" in ok.output, ok.output
    broken = tmp_path / "shuffled.skops"
    skops.io.dump(shuffled_model, broken)
    bad = CliRunner().invoke(
        app, ["checks", "--model", str(broken), "--eval-data", str(files["eval"])]
    )
    assert bad.exit_code == 1 and "[FAIL] beats the baseline" in bad.output, bad.output
