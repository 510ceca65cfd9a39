"""The continuous-training loop, one simulated day at a time.

Each day does what a production system does between two nights:

1. **ingest** the day's batch: validated into ``raw/``, or quarantined with its report;
2. **serve** it: the champion predicts every trip (through the model API when one is given),
   and so does the first champion, never retrained, as the baseline to compare with;
3. **labels arrive** for earlier days (``label_delay_days`` later) and the served error is known;
4. **monitor**: drift of today's inputs and predictions against the champion's training
   reference, and the champion's recent error against its training-time error;
5. **decide**: the :class:`TriggerPolicy` fires a trigger, or not;
6. **retrain** once enough labelled data of the new situation exists, **gate** the challenger
   against the champion on the same held-out day, **promote** it by moving the ``champion``
   alias, and tell the API to **reload**. A retraining on the first few days after a change
   stops most of the damage; a **follow-up** retraining, once a full window of days since the
   change exists, finishes the job.

A quarantined day is neither scored nor monitored nor trained on: its inputs are known to be
broken, so what a model does with them says nothing about the model.

The error that the timeline reports and the recovery is judged on is the *relative* error,
MAE divided by the mean true duration. Trip durations carry multiplicative noise, so when
congestion makes every trip 40% longer even a perfect model's error in minutes grows 40%; the
relative error stays comparable across such changes, so "back to the pre-drift level" means
something.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import mlops_course.ct.retraining as rt
from mlops_course import registry
from mlops_course.ct.triggers import Signals, Trigger, TriggerPolicy
from mlops_course.data.collect import batch_name, ingest_batch, load_raw
from mlops_course.data.simulate import get_scenario, simulate_day
from mlops_course.evaluate import mae, relative_error
from mlops_course.features import to_model_input
from mlops_course.gate import Regressor
from mlops_course.monitoring.performance import ERROR_WINDOW_DAYS, LABEL_DELAY_DAYS
from mlops_course.monitoring.reference import build_reference
from mlops_course.monitoring.trips import detect_trip_drift
from mlops_course.schema import FEATURE_COLUMNS, PREDICTION, TARGET
from mlops_course.settings import get_settings


@dataclass(frozen=True)
class LoopConfig:
    """What to simulate and how the loop decides; every default is explained where it is set."""

    scenario: str = "none"
    days: int = 60
    first_day: int = rt.TRAIN_WINDOW_DAYS
    seed: int | None = None
    n: int | None = None
    start_day: int | None = None
    policy: TriggerPolicy = field(default_factory=TriggerPolicy)
    window_days: int = rt.TRAIN_WINDOW_DAYS
    eval_days: int = rt.EVAL_DAYS
    min_train_days: int = rt.MIN_TRAIN_DAYS
    min_improvement: float = rt.MIN_IMPROVEMENT
    label_delay_days: int = LABEL_DELAY_DAYS
    monitor_days: int = ERROR_WINDOW_DAYS
    manual_days: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        get_scenario(self.scenario)  # a readable error for an unknown name
        if self.first_day <= self.eval_days:
            raise ValueError(
                f"first_day must be above eval_days ({self.eval_days}): the first champion is "
                f"trained on the days before first_day, got first_day={self.first_day}"
            )
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")

    @property
    def last_day(self) -> int:
        return self.first_day + self.days - 1

    @property
    def drift_start(self) -> int:
        return get_settings().drift_start_day if self.start_day is None else self.start_day


class ApiClient:
    """The running model API as the loop uses it: predict a day's trips, reload after promotion.

    Every request is counted, and every failed one too: zero failures across promotions is what
    "the service picks up the new model" has to mean.
    """

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            trust_env=False,
            headers={"Authorization": f"Bearer {token}"},
        )
        self.requests = 0
        self.failed = 0

    def predict(self, frame: pd.DataFrame, max_batch: int = 1_000) -> np.ndarray:
        values: list[float] = []
        for start in range(0, len(frame), max_batch):
            chunk = frame.iloc[start : start + max_batch][FEATURE_COLUMNS]
            body = {"trips": json.loads(chunk.to_json(orient="records"))}
            response = self._request("POST", "/predict/batch", json=body)
            values += response.json()["duration_min"]
        return np.asarray(values, dtype=float)

    def reload(self) -> dict[str, Any]:
        return self._request("POST", "/admin/reload").json()

    def model_version(self) -> str:
        return str(self._request("GET", "/model").json()["version"])

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.requests += 1
        response = self._client.request(method, path, **kwargs)
        if response.status_code != 200:
            self.failed += 1
            raise RuntimeError(
                f"the model API answered {method} {path} with HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response

    def close(self) -> None:
        self._client.close()


@dataclass
class Champion:
    """The served model with what monitoring compares it against."""

    model: Regressor
    version: str
    reference: pd.DataFrame
    error: float
    trained_day: int


@dataclass
class LoopResult:
    """Everything a simulation produced: the day table, the triggers and the retrainings."""

    config: LoopConfig
    timeline: pd.DataFrame
    triggers: list[Trigger]
    retrains: list[rt.RetrainResult]
    retrain_days: list[int]
    name: str
    api_requests: int = 0
    api_failed: int = 0

    @property
    def trigger_log(self) -> pd.DataFrame:
        return pd.DataFrame(
            [t.to_dict() for t in self.triggers], columns=["day", "kind", "reason"]
        )[["day", "kind", "reason"]]

    @property
    def retrain_log(self) -> pd.DataFrame:
        rows = [
            {
                "day": day,
                "trigger": r.trigger.kind,
                "trigger_day": r.trigger.day,
                "window": r.window,
                "data_version": r.data_version[:16],
                "version": r.version,
                "gate": r.gate.decision,
                "promoted": r.promoted,
            }
            for day, r in zip(self.retrain_days, self.retrains, strict=True)
        ]
        columns = [
            "day",
            "trigger",
            "trigger_day",
            "window",
            "data_version",
            "version",
            "gate",
            "promoted",
        ]
        return pd.DataFrame(rows, columns=columns)


class ContinuousTraining:
    """Runs :class:`LoopConfig` against a registry (and optionally an API), day by day."""

    def __init__(
        self,
        config: LoopConfig,
        *,
        data_dir: Path,
        name: str,
        api: ApiClient | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.raw_dir = Path(data_dir) / "raw"
        self.quarantine_dir = Path(data_dir) / "quarantine"
        self.name = name
        self.api = api
        self.log = log or (lambda message: None)
        self.records: dict[int, dict[str, Any]] = {}
        self.served: dict[int, pd.DataFrame] = {}
        self.triggers: list[Trigger] = []
        self.retrains: list[rt.RetrainResult] = []
        self.retrain_days: list[int] = []
        self.drift_streak = 0
        self.last_trigger_day: int | None = None
        self.pending: tuple[Trigger, int | None] | None = None
        self.follow_up: int | None = None
        self.champion: Champion | None = None
        self.baseline: Regressor | None = None

    # --- the days ------------------------------------------------------------------------------

    def _batch(self, day: int) -> pd.DataFrame:
        c = self.config
        return simulate_day(day, seed=c.seed, scenario=c.scenario, n=c.n, start_day=c.start_day)

    def setup(self) -> rt.RetrainResult:
        """Collect the days before ``first_day`` and make a model trained on them the champion.

        A simulation starts from an empty registered model: against an existing champion its
        first model would be gated against a model from another history.
        """
        existing = champion_version(self.name)
        if existing is not None:
            raise ValueError(
                f"model {self.name!r} already has a champion (version {existing}); a simulation "
                "needs a registered model of its own: choose another model name"
            )
        for day in range(self.config.first_day):
            ingest_batch(self._batch(day), batch_name(day), self.raw_dir, self.quarantine_dir)
        last = self.config.first_day - 1
        days = rt.window_days(self.raw_dir, last, self.config.window_days)
        trigger = Trigger("initial", "the first champion, trained before serving starts", last)
        result = self._retrain(trigger, days, last)
        if not result.promoted:
            raise RuntimeError(f"the first model did not pass the gate:\n{result.gate}")
        self.baseline = result.model
        return result

    def step(self, day: int) -> dict[str, Any]:
        """Run one day; returns that day's record (its error is filled in when labels arrive)."""
        if self.champion is None or self.baseline is None:
            raise RuntimeError("call setup() first: there is no champion to serve yet")
        c = self.config
        batch = self._batch(day)
        ingested = ingest_batch(batch, batch_name(day), self.raw_dir, self.quarantine_dir)
        record: dict[str, Any] = {
            "day": day,
            "drift_active": get_scenario(c.scenario).is_active(day, c.drift_start),
            "quarantined": ingested.quarantined,
            "served_version": self.champion.version,
        }
        self.records[day] = record
        if not ingested.quarantined:
            self._serve_and_monitor(day, batch, record)
        self._labels_arrive(day - c.label_delay_days)
        signals = self._signals(day, record)
        trigger = c.policy.decide(signals, self.last_trigger_day)
        if trigger is not None:
            self.triggers.append(trigger)
            self.last_trigger_day = day
            record["trigger"], record["reason"] = trigger.kind, trigger.reason
            self.log(f"day {day}: {trigger.kind} trigger: {trigger.reason}")
            if self.pending is None:
                self.pending = (trigger, self._change_day(trigger, day))
        if self.pending is not None:
            self._maybe_retrain(day, record)
        elif self.follow_up is not None:
            self._maybe_follow_up(day, record)
        return record

    def run(self, progress: bool = True) -> LoopResult:
        """``setup`` then every day of the config, with a progress bar; returns the result."""
        self.setup()
        c = self.config
        bar = tqdm(
            range(c.first_day, c.last_day + 1),
            desc=f"ct {c.scenario}",
            unit="day",
            disable=not progress,
        )
        for day in bar:
            self.step(day)
            served = self.champion.version if self.champion else None
            bar.set_postfix(champion=served, retrains=len(self.retrains) - 1)
        for day in range(c.last_day - c.label_delay_days + 1, c.last_day + 1):
            self._labels_arrive(day)  # the last days' labels, after the loop ends
        return self.result()

    def result(self) -> LoopResult:
        columns = [
            "day",
            "drift_active",
            "quarantined",
            "served_version",
            "n_scored",
            "mae",
            "error",
            "baseline_error",
            "drift_share",
            "drifted",
            "error_ratio",
            "trigger",
            "reason",
            "retrain_version",
            "gate",
            "promoted",
        ]
        timeline = pd.DataFrame([self.records[d] for d in sorted(self.records)], columns=columns)
        return LoopResult(
            self.config,
            timeline,
            list(self.triggers),
            list(self.retrains),
            list(self.retrain_days),
            self.name,
            api_requests=self.api.requests if self.api else 0,
            api_failed=self.api.failed if self.api else 0,
        )

    # --- the steps -----------------------------------------------------------------------------

    def _serve_and_monitor(self, day: int, batch: pd.DataFrame, record: dict[str, Any]) -> None:
        assert self.champion is not None and self.baseline is not None
        inputs = to_model_input(batch)
        if self.api is not None:
            predictions = self.api.predict(batch)
        else:
            predictions = np.asarray(self.champion.model.predict(inputs), dtype=float)
        self.served[day] = pd.DataFrame(
            {
                "prediction": predictions,
                "baseline": np.asarray(self.baseline.predict(inputs), dtype=float),
                TARGET: batch[TARGET].to_numpy(float),
            }
        ).assign(version=self.champion.version)
        report = detect_trip_drift(
            self.champion.reference, inputs.assign(**{PREDICTION: predictions})
        )
        record["drift_share"] = report.share_drifted
        record["drifted"] = report.drifted
        self.drift_streak = self.drift_streak + 1 if report.drifted else 0

    def _labels_arrive(self, day: int) -> None:
        served = self.served.get(day)
        if served is None:
            return
        y = served[TARGET].to_numpy(float)
        self.records[day].update(
            n_scored=len(served),
            mae=mae(y, served["prediction"]),
            error=relative_error(y, served["prediction"]),
            baseline_error=relative_error(y, served["baseline"]),
        )

    def _signals(self, day: int, record: dict[str, Any]) -> Signals:
        """Today's monitoring, for the policy; the error only over days the champion served."""
        assert self.champion is not None
        version = self.champion.version
        labelled = [
            d
            for d in sorted(self.served)
            if d <= day - self.config.label_delay_days
            and self.served[d]["version"].iat[0] == version
        ][-self.config.monitor_days :]
        ratio = None
        if labelled:
            window = pd.concat([self.served[d] for d in labelled])
            ratio = relative_error(window[TARGET], window["prediction"]) / self.champion.error
            record["error_ratio"] = ratio
        return Signals(
            day=day,
            drift_share=record.get("drift_share"),
            drift_streak=self.drift_streak,
            error_ratio=ratio,
            days_since_retrain=day - self.champion.trained_day,
            manual=day in self.config.manual_days,
        )

    def _change_day(self, trigger: Trigger, day: int) -> int | None:
        """When the change behind a drift or performance trigger began; None for the others.

        Drift: the first day of the current drift streak. Performance: the first day of the
        trailing run of labelled days whose own error was over the limit. Retraining then uses
        only data from that day on: data from before the change would teach the old world.
        """
        if trigger.kind == "drift":
            return day - self.drift_streak + 1
        if trigger.kind != "performance":
            return None
        assert self.champion is not None
        limit = self.config.policy.max_error_ratio * self.champion.error
        since = None
        for d in sorted(self.served, reverse=True):
            error = self.records[d].get("error")
            if error is None:
                continue
            if error <= limit:
                break
            since = d
        return since

    def _maybe_retrain(self, day: int, record: dict[str, Any]) -> None:
        assert self.pending is not None
        trigger, since = self.pending
        c = self.config
        last_labelled = day - c.label_delay_days
        days = rt.window_days(self.raw_dir, last_labelled, c.window_days, since)
        if len(days) < c.min_train_days + c.eval_days:
            return  # wait for labels of the new situation
        self.pending = None
        self._retrain_and_record(trigger, days, day, record)
        # A window cut short by the change day asks for a second retraining once it is full.
        self.follow_up = since if since is not None and len(days) < c.window_days else None

    def _maybe_follow_up(self, day: int, record: dict[str, Any]) -> None:
        assert self.follow_up is not None
        c = self.config
        days = rt.window_days(self.raw_dir, day - c.label_delay_days, c.window_days, self.follow_up)
        if len(days) < c.window_days:
            return
        trigger = Trigger(
            "schedule",
            f"follow-up: a full window of {c.window_days} days since the change on day "
            f"{self.follow_up} is labelled",
            day,
        )
        self.triggers.append(trigger)
        self.last_trigger_day = day
        record["trigger"], record["reason"] = trigger.kind, trigger.reason
        self.follow_up = None
        self._retrain_and_record(trigger, days, day, record)

    def _retrain_and_record(
        self, trigger: Trigger, days: list[int], day: int, record: dict[str, Any]
    ) -> None:
        result = self._retrain(trigger, days, day)
        record.update(
            retrain_version=result.version, gate=result.gate.decision, promoted=result.promoted
        )

    def _retrain(self, trigger: Trigger, days: list[int], day: int) -> rt.RetrainResult:
        c = self.config
        result = rt.retrain(
            trigger,
            days,
            raw_dir=self.raw_dir,
            name=self.name,
            eval_days=c.eval_days,
            min_improvement=c.min_improvement,
            champion=None if self.champion is None else self.champion.model,
            log=self.log,
        )
        self.retrains.append(result)
        self.retrain_days.append(day)
        self.log(result.summary())
        if result.promoted:
            eval_frame = load_raw(self.raw_dir, result.eval_days)
            train_frame = load_raw(self.raw_dir, result.train_days)
            predictions = result.model.predict(to_model_input(eval_frame))
            self.champion = Champion(
                model=result.model,
                version=result.version,
                reference=build_reference(result.model, train_frame, seed=c.seed),
                error=relative_error(eval_frame[TARGET], predictions),
                trained_day=day,
            )
            if self.api is not None:
                self.api.reload()
        return result


def champion_version(name: str) -> str | None:
    """The registry's champion version of ``name`` now (None: no champion)."""
    version = registry.get_version(registry.CHAMPION, name)
    return None if version is None else str(version.version)
