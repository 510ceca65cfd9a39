"""The steps of the DVC pipeline in ``dvc.yaml``: ingest, validate, featurize, train, evaluate.

Each step reads ``params.yaml`` and fixed paths relative to the working directory, so DVC can track
exactly what it depends on and produces, and ``dvc repro`` reruns only what changed. The same
functions back ``mlops-course pipeline <step>``, the notebooks and the tests.

The validate step is the gate: if any batch fails, it is quarantined with its report and the step
fails, so DVC stops the pipeline before anything is trained on bad data. It keeps failing until a
person decides (fix the source, or list the day in ``data.skip_days``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_course.data.collect import batch_name, ingest_batch
from mlops_course.data.simulate import SCENARIOS, simulate_day
from mlops_course.model_io import load_file, save_file
from mlops_course.schema import TARGET
from mlops_course.settings import get_settings

# scikit-learn (features, train, evaluate) is imported inside the steps that use it: every step is
# its own process under `dvc repro`, and ingest and validate would pay a second and a half for it.

LANDING = Path("data/landing")
VALIDATED = Path("data/validated")
QUARANTINE = Path("data/quarantine")
FEATURES = Path("data/features")
MODEL = Path("models/model.skops")
VALIDATION_REPORT = Path("reports/validation.json")
METRICS = Path("metrics/eval.json")
PLOTS = Path("plots")


class PipelineError(RuntimeError):
    """The pipeline cannot run as configured; the message says what to change."""


class PipelineStopped(RuntimeError):
    """A gate stopped the pipeline on purpose (bad data); the message is the report."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataParams(_Strict):
    """The ``data:`` section; what it leaves out is the running example's (the course settings)."""

    seed: int = Field(default_factory=lambda: get_settings().seed)
    first_day: int = Field(0, ge=0)
    days: int = Field(14, ge=2)
    trips_per_day: int = Field(default_factory=lambda: get_settings().trips_per_day, ge=10)
    scenario: str = "none"
    drift_start_day: int = Field(default_factory=lambda: get_settings().drift_start_day, ge=0)
    skip_days: list[int] = []

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str) -> str:
        if value not in SCENARIOS:
            raise ValueError(f"unknown scenario {value!r}; expected one of {list(SCENARIOS)}")
        return value


class SplitParams(_Strict):
    eval_days: int = Field(2, ge=1)


class TrainParams(_Strict):
    kind: Literal["hgb", "ridge", "random_forest"] = "hgb"
    hgb: dict[str, Any] = {}
    ridge: dict[str, Any] = {}
    random_forest: dict[str, Any] = {}

    def model_params(self) -> dict[str, Any]:
        return dict(getattr(self, self.kind))


class Params(_Strict):
    data: DataParams = Field(default_factory=DataParams)
    split: SplitParams = Field(default_factory=SplitParams)
    train: TrainParams = Field(default_factory=TrainParams)


def load_params(path: Path = Path("params.yaml")) -> Params:
    """Read and check ``params.yaml``; a typo names the parameter instead of failing later."""
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"no {path} in {Path.cwd()}: run the pipeline from the project root")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return Params.model_validate(raw)
    except yaml.YAMLError as error:
        raise PipelineError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise PipelineError(f"{path} has invalid parameters: {problems}") from None


def _fresh(folder: Path) -> Path:
    """An empty folder: a stage owns its outputs and must not leave stale files in them."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def ingest(params: Params) -> list[Path]:
    """Pull the configured days from the simulator into the landing folder, unvalidated."""
    data = params.data
    landing = _fresh(LANDING)
    written = []
    for day in range(data.first_day, data.first_day + data.days):
        if day in data.skip_days:
            continue
        frame = simulate_day(
            day,
            seed=data.seed,
            scenario=data.scenario,
            n=data.trips_per_day,
            start_day=data.drift_start_day,
        )
        path = landing / f"{batch_name(day)}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
    return written


def validate_batches() -> dict[str, Any]:
    """Pass valid batches on, quarantine the others with their report; stop if any failed.

    The same ``ingest_batch`` as collection, so a quarantined batch and its report look alike
    whether a notebook or the pipeline put them there.
    """
    batches = sorted(LANDING.glob("*.parquet"))
    if not batches:
        raise PipelineError(f"no batches in {LANDING}: run the ingest stage first")
    validated, quarantine = _fresh(VALIDATED), _fresh(QUARANTINE)
    (quarantine / ".keep").write_text("")
    summary: dict[str, Any] = {"batches": len(batches), "passed": 0, "quarantined": 0}
    failures = {}
    for path in batches:
        result = ingest_batch(pd.read_parquet(path), path.stem, validated, quarantine)
        if result.quarantined:
            summary["quarantined"] += 1
            failures[path.stem] = result.report.summary()
        else:
            summary["passed"] += 1
    VALIDATION_REPORT.parent.mkdir(parents=True, exist_ok=True)
    VALIDATION_REPORT.write_text(
        json.dumps({**summary, "failed_batches": sorted(failures)}, indent=2) + "\n"
    )
    if failures:
        reports = "\n".join(failures.values())
        raise PipelineStopped(
            f"{len(failures)} of {len(batches)} batches failed validation and were quarantined "
            f"in {QUARANTINE}; nothing downstream runs until this is resolved (fix the source, "
            f"or add the days to data.skip_days in params.yaml).\n{reports}"
        )
    return summary


def featurize(params: Params) -> dict[str, int]:
    """Split the validated days into a training and a most-recent evaluation set."""
    from mlops_course.features import split_xy

    paths = sorted(VALIDATED.glob("*.parquet"))
    if not paths:
        raise PipelineError(f"no validated batches in {VALIDATED}: run the validate stage first")
    trips = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    days = sorted(trips["day"].unique())
    if len(days) <= params.split.eval_days:
        raise PipelineError(
            f"{len(days)} validated days cannot be split with split.eval_days="
            f"{params.split.eval_days}: ingest more days or hold out fewer"
        )
    eval_from = days[-params.split.eval_days]
    features = _fresh(FEATURES)
    sizes = {}
    for name, part in {
        "train": trips[trips["day"] < eval_from],
        "eval": trips[trips["day"] >= eval_from],
    }.items():
        x, y = split_xy(part)
        x.assign(day=part["day"].to_numpy(), **{TARGET: y.to_numpy()}).to_parquet(
            features / f"{name}.parquet", index=False
        )
        sizes[name] = len(part)
    return sizes


def _xy(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_parquet(path)
    return frame.drop(columns=["day", TARGET]), frame[TARGET]


def train_model(params: Params) -> Path:
    """Fit the configured model on the training set and save it with skops."""
    from mlops_course.train import build_model

    x, y = _xy(FEATURES / "train.parquet")
    model = build_model(params.train.kind, seed=params.data.seed, **params.train.model_params())
    model.fit(x, y)
    return save_file(model, MODEL)


def evaluate_model(params: Params) -> dict[str, float]:
    """Score the saved model on the evaluation set; write metrics and plot data for DVC."""
    from mlops_course.evaluate import baseline_metrics, regression_metrics

    model = load_file(MODEL, params.train.kind)
    _, y_train = _xy(FEATURES / "train.parquet")
    x, y = _xy(FEATURES / "eval.parquet")
    predicted = model.predict(x)
    metrics = regression_metrics(y, predicted)
    metrics |= {f"baseline_{k}": v for k, v in baseline_metrics(y_train, y).items()}
    metrics["n_eval"] = len(y)
    METRICS.parent.mkdir(parents=True, exist_ok=True)
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n")
    PLOTS.mkdir(parents=True, exist_ok=True)
    rows = pd.DataFrame(
        {
            "pickup_hour": x["pickup_hour"].to_numpy(),
            "actual_min": y.round(2).to_numpy(),
            "predicted_min": predicted.round(2),
        }
    )
    rows.head(500).to_csv(PLOTS / "predictions.csv", index=False)
    by_hour = (
        rows.assign(mae=(rows["predicted_min"] - rows["actual_min"]).abs())
        .groupby("pickup_hour", as_index=False)["mae"]
        .mean()
        .round(3)
    )
    by_hour.to_csv(PLOTS / "error_by_hour.csv", index=False)
    return metrics
