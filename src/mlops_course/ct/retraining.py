"""Retrain on a window of recent validated data, gate the challenger, and promote it last.

The order of the steps is the safety property. Everything that can take long or fail (reading the
window, fitting, logging the run, scoring challenger and champion) happens **before** anything
that changes what production sees; the registry is touched only at the very end, by single calls
(register, then move ``challenger``, then move ``champion``). A retraining killed at any point
before those calls leaves at most an unregistered MLflow run behind: the registry, and therefore
the served model, are exactly as they were.

The **data version** of a window is a content hash: the md5 of every batch file in it (the hash
DVC records for a file in ``.dvc``/``dvc.lock``), combined over the sorted file names. It needs no
``dvc add`` and no git commit per retraining (seconds each, and a scheduled job may not own the
repository), yet it names the exact bytes trained on: the same files give the same version, a
changed or added batch gives a new one, and DVC, which hashes files the same way, can find them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_course import registry
from mlops_course.ct.triggers import Trigger
from mlops_course.data.collect import batch_name, load_raw
from mlops_course.gate import MIN_IMPROVEMENT, RETRAINING, GateReport, Regressor, evaluate_gate
from mlops_course.settings import get_settings
from mlops_course.train import ModelKind, TrainResult, train

MODEL_KIND: ModelKind = "hgb"
MODEL_PARAMS: dict[str, Any] = {"max_iter": 100, "max_leaf_nodes": 15}
"""A smaller model than stage 1's (100 rounds of 15-leaf trees, not 200 of 31). A retraining sees
days, not weeks, of trips: on three to six days this model is as accurate as the larger one, fits
in half the time, and is smoother, so it passes the "longer distance, longer trip" check that the
larger one, fitted on so few trips, sometimes fails on a single trip."""

TRAIN_WINDOW_DAYS = 7
"""Train on at most the last week: recent enough to follow a change, long enough to cover every
weekday once."""

EVAL_DAYS = 1
"""The newest labelled day of the window is held out: challenger and champion are scored on it."""

MIN_TRAIN_DAYS = 3
"""After a change, wait for three labelled days of the new situation before retraining on it.

Fewer days give a clearly worse model; three stop most of the damage (the relative error drops
from about 30% to 13% under congestion) and a follow-up retraining, once a full window of the new
situation exists, brings it back to the level before the change (about 11%)."""


class RetrainError(RuntimeError):
    """A retraining cannot start; the message says what is missing."""


@dataclass
class RetrainResult:
    """What one retraining did: on which data, with which outcome, and why."""

    trigger: Trigger
    train_days: list[int]
    eval_days: list[int]
    data_version: str
    run_id: str
    version: str
    gate: GateReport
    promoted: bool
    model: Regressor = field(repr=False)
    champion_before: str | None = None

    @property
    def window(self) -> str:
        days = self.train_days + self.eval_days
        return f"{min(days)}-{max(days)}"

    def summary(self) -> str:
        outcome = "promoted to champion" if self.promoted else "rejected (champion unchanged)"
        return (
            f"{self.trigger.kind} trigger of day {self.trigger.day}: trained on days "
            f"{self.window} (data {self.data_version[:16]}) -> version {self.version}, {outcome}"
        )


def window_days(
    raw_dir: Path,
    last_day: int,
    window: int = TRAIN_WINDOW_DAYS,
    since_day: int | None = None,
) -> list[int]:
    """The validated days in the last ``window`` days up to ``last_day``, from ``since_day`` on.

    Only batches in the raw folder count: a quarantined day is simply not there, so it can never
    be trained on. ``since_day`` (the day a change began) keeps the old world out of the window.
    """
    first = last_day - window + 1
    if since_day is not None:
        first = max(first, since_day)
    return [
        d for d in range(first, last_day + 1) if (raw_dir / f"{batch_name(d)}.parquet").exists()
    ]


def data_version(raw_dir: Path, days: Sequence[int]) -> str:
    """``md5:<hash>`` over the window's files: md5 of each file, combined in name order."""
    lines = []
    for day in sorted(days):
        path = raw_dir / f"{batch_name(day)}.parquet"
        lines.append(f"{path.name} {hashlib.md5(path.read_bytes()).hexdigest()}")
    return "md5:" + hashlib.md5("\n".join(lines).encode()).hexdigest()


def gate_challenger(
    challenger: Regressor,
    champion: Regressor | None,
    eval_frame: pd.DataFrame,
    min_improvement: float = MIN_IMPROVEMENT,
) -> GateReport:
    """Stage 5's gate: :data:`~mlops_course.gate.RETRAINING`, a challenger clearly better or none.

    Stage 3's gate lets a candidate be slightly *worse* than the champion (a pull request must not
    be blocked by noise); a retraining must be at least ``min_improvement`` *better*, or the
    champion stays. The policy says which behavioural checks hold in any world.
    """
    return evaluate_gate(
        challenger, champion, eval_frame, policy=RETRAINING, margin=-min_improvement
    )


def retrain(
    trigger: Trigger,
    days: Sequence[int],
    *,
    raw_dir: Path | None = None,
    name: str | None = None,
    eval_days: int = EVAL_DAYS,
    kind: ModelKind = MODEL_KIND,
    params: dict[str, Any] | None = None,
    min_improvement: float = MIN_IMPROVEMENT,
    champion: Regressor | None = None,
    promote: bool = True,
    experiment: str | None = None,
    log: Callable[[str], None] = print,
) -> RetrainResult:
    """Fit a challenger on ``days``, gate it against the champion, then register and promote.

    Parameters
    ----------
    trigger
        Why this retraining runs: tagged on the MLflow run and the version, and names the run.
    days
        The validated days of the window (in ``raw_dir``, in any order); the newest
        ``eval_days`` are held out for the gate, so there must be more than that.
    raw_dir, name, experiment
        Batches folder, registered model and MLflow experiment; None: the course settings'.
    eval_days
        How many of the newest ``days`` score the challenger and the champion.
    kind, params
        The model kind (:func:`mlops_course.train.build_model`) and parameters over its
        defaults (:data:`MODEL_PARAMS` for the default kind).
    min_improvement
        The share by which the challenger's MAE must be below the champion's, or it stays.
    champion
        The served model, if the caller holds it; None: the registry's ``champion`` (none
        there: this is the first model, judged by the baseline and the checks only).
    promote
        False: a passing challenger is registered but left for a person to promote.
    log
        One line per step; after ``retrain: registering the challenger`` the registry changes.
    """
    raw_dir = get_settings().raw_dir if raw_dir is None else Path(raw_dir)
    name = name or get_settings().model_name
    train_days, held_out = _split_window(days, eval_days)
    version_tag = data_version(raw_dir, days)
    tags = {
        "ct.trigger": trigger.kind,
        "ct.reason": trigger.reason,
        "ct.trigger_day": str(trigger.day),
        "ct.data_version": version_tag,
        "ct.window": f"{train_days[0]}-{held_out[-1]}",
    }
    log(f"retrain: fitting on days {train_days[0]}-{train_days[-1]}, held out {held_out}")
    eval_frame = load_raw(raw_dir, held_out)
    result, run_id, model_uri = _fit(
        load_raw(raw_dir, train_days), eval_frame, trigger, kind, params, experiment, tags
    )
    current = registry.get_version(registry.CHAMPION, name)
    if champion is None and current is not None:
        champion = registry.load_model(registry.CHAMPION, name)
    log(f"retrain: gating run {result.run_id} against champion {_ref(current)}")
    report = gate_challenger(result.model, champion, eval_frame, min_improvement)
    version = _record_and_register(run_id, model_uri, report, name, tags, log)
    promoted = bool(report.passed and promote)
    if promoted:
        registry.promote(version, name)
    log(f"retrain: version {version} {'promoted' if promoted else 'not promoted'}")
    return RetrainResult(
        trigger=trigger,
        train_days=train_days,
        eval_days=held_out,
        data_version=version_tag,
        run_id=run_id,
        version=version,
        gate=report,
        promoted=promoted,
        model=result.model,
        champion_before=None if current is None else str(current.version),
    )


def _fit(
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
    trigger: Trigger,
    kind: ModelKind,
    params: dict[str, Any] | None,
    experiment: str | None,
    tags: dict[str, str],
) -> tuple[TrainResult, str, str]:
    """Train and log the challenger; its run id and model URI, which registering needs."""
    with contextlib.redirect_stdout(io.StringIO()):  # MLflow's "View run at <url>" line
        result = train(
            train_frame,
            eval_frame,
            kind=kind,
            params={**MODEL_PARAMS, **(params or {})} if kind == MODEL_KIND else params,
            experiment=experiment,
            run_name=f"ct-day{trigger.day:03d}-{trigger.kind}",
            tags=tags,
        )
    if result.run_id is None or result.model_uri is None:  # train() logs when asked to
        raise RetrainError("the challenger was not logged to MLflow, so it cannot be registered")
    return result, result.run_id, result.model_uri


def _split_window(days: Sequence[int], eval_days: int) -> tuple[list[int], list[int]]:
    """The window's days to train on and the newest ``eval_days`` held out for the gate."""
    ordered = sorted(days)
    if len(ordered) <= eval_days:
        raise RetrainError(
            f"a retraining needs more than {eval_days} validated day(s) (the newest are held out "
            f"for the gate), got {ordered}: collect more days, or wait for more labels"
        )
    return ordered[:-eval_days], ordered[-eval_days:]


def _record_and_register(
    run_id: str,
    model_uri: str,
    report: GateReport,
    name: str,
    tags: dict[str, str],
    log: Callable[[str], None],
) -> str:
    """Keep the gate's report with the run, register the challenger whatever the decision.

    A blocked challenger is registered too (tagged ``ct.gate=BLOCK``): the registry is the record
    of every retraining, and a person may still look at, or promote, a model the gate refused.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    client.log_text(run_id, report.to_json(), "gate/report.json")
    client.set_tag(run_id, "ct.gate", report.decision)
    log("retrain: registering the challenger")
    with contextlib.redirect_stdout(io.StringIO()):  # MLflow's "Created version" line
        version = registry.register(model_uri, name, tags={**tags, "ct.gate": report.decision})
    registry.set_alias(registry.CHALLENGER, version.version, name)
    return str(version.version)


def _ref(version: Any) -> str:
    return "(none yet)" if version is None else f"version {version.version}"
