from sklearn.pipeline import Pipeline

from src.models.metrics import PRIMARY_METRIC, is_better
from src.pipelines.gate import gate_failures


def test_model_beats_the_baseline_and_passes_the_gate(
    trained: tuple[Pipeline, dict[str, float]], params: dict
) -> None:
    _, metrics = trained
    assert is_better(metrics, {PRIMARY_METRIC: metrics[f"baseline_{PRIMARY_METRIC}"]})
    assert gate_failures(metrics, params["gate"]["threshold"]) == []


def test_gate_fails_a_model_no_better_than_the_baseline(
    trained: tuple[Pipeline, dict[str, float]], params: dict
) -> None:
    _, metrics = trained
    no_better = {**metrics, PRIMARY_METRIC: metrics[f"baseline_{PRIMARY_METRIC}"]}
    failures = gate_failures(no_better, params["gate"]["threshold"])
    assert any("baseline" in failure for failure in failures)
