"""The continuous-training loop as a Prefect flow: the orchestration chapter's runnable example.

Prefect is not a dependency of the course; install it next to the course to run this file
(``pip install prefect==3.9.1``, then ``python -m mlops_course.ct.prefect_flow``). Without
a configured Prefect server the flow runs with a temporary local API, so it needs no network.
Each day is a task with retries: a day that fails midway changes nothing in the registry (see
:mod:`mlops_course.ct.retraining`), so running it again is safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from prefect import flow, task
except ImportError:  # pragma: no cover - depends on an optional install
    raise ImportError(
        "this example needs Prefect, which the course does not install: "
        "pip install prefect==3.9.1, then run python -m mlops_course.ct.prefect_flow"
    ) from None

from mlops_course import services
from mlops_course.ct.loop import ContinuousTraining, LoopConfig
from mlops_course.ct.timeline import write_timeline


@task
def first_champion(loop: ContinuousTraining) -> str:
    return loop.setup().version


@task(retries=2)
def run_day(loop: ContinuousTraining, day: int) -> dict[str, Any]:
    return loop.step(day)


@task
def publish(loop: ContinuousTraining, out: Path) -> dict[str, Path]:
    return write_timeline(loop.result(), out)


@flow(name="continuous-training", log_prints=True)
def continuous_training(
    scenario: str = "concept_drift", days: int = 34, out: str = "ct-prefect"
) -> dict[str, Path]:
    """Start MLflow, run the loop day by day as tasks, and write the timeline."""
    config = LoopConfig(scenario=scenario, days=days)
    with services.start_mlflow(workdir=Path(out) / "mlflow") as server:
        services.use_mlflow(server)
        loop = ContinuousTraining(config, data_dir=Path(out) / "data", name=f"prefect-{scenario}")
        print("first champion: version", first_champion(loop))
        for day in range(config.first_day, config.last_day + 1):
            record = run_day(loop, day)
            if record.get("retrain_version"):
                print(f"day {day}: retrained, version {record['retrain_version']} {record['gate']}")
        return publish(loop, Path(out))


if __name__ == "__main__":
    continuous_training()
