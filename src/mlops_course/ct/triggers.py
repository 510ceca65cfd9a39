"""When to retrain: the trigger policy of the continuous-training loop.

Retraining costs compute and, worse, risk: every new model is a chance to ship a bad one. So the
loop retrains only for a stated reason, and records it. Four kinds of reason exist:

- ``performance``: the served model's error on the labels that have arrived is clearly above the
  error it had when it was trained (the most direct evidence, but it waits for labels);
- ``drift``: the served inputs and predictions no longer look like the training data, on
  ``drift_days`` days in a row (one odd day is not a reason: stage 4 showed a single day can
  flag by chance);
- ``schedule``: a fixed number of days since the last retraining (cheap insurance, blind);
- ``manual``: a person asked for it.

A **cooldown** keeps one incident from retraining every day: once a trigger fired, drift and
performance stay quiet for ``cooldown_days``, because the data that would show whether the fix
worked has not arrived yet. A manual request is never held back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from mlops_course.monitoring.drift import DRIFT_SHARE
from mlops_course.monitoring.performance import ERROR_TOLERANCE

TriggerKind = Literal["initial", "manual", "performance", "drift", "schedule"]

MAX_ERROR_RATIO = 1 + ERROR_TOLERANCE
"""Retrain when the recent error exceeds the model's own training-time error by 25% (stage 4's
tolerance): far above the day-to-day wobble of a few percent, far below what a real change
costs (congestion more than doubles the error)."""

DRIFT_DAYS = 2
"""Drift must be seen on two days in a row before it triggers a retraining."""

COOLDOWN_DAYS = 5
"""Days after a trigger during which drift and performance do not trigger again: long enough for
the labels of the new situation to arrive and a retrained model to be judged on them."""


@dataclass(frozen=True)
class Trigger:
    """Why a retraining starts: its kind, a sentence for people, and the day it fired."""

    kind: TriggerKind
    reason: str
    day: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """What monitoring knows on ``day``; ``None`` means "not measured" (e.g. no labels yet).

    - ``drift_share``: share of monitored columns that drifted today (stage 4's dataset decision);
    - ``drift_streak``: consecutive days, ending today, on which the dataset drifted;
    - ``error_ratio``: recent error of the served model divided by its training-time error;
    - ``days_since_retrain``: days since the served model was trained;
    - ``manual``: somebody asked for a retraining today.
    """

    day: int
    drift_share: float | None = None
    drift_streak: int = 0
    error_ratio: float | None = None
    days_since_retrain: int | None = None
    manual: bool = False


@dataclass(frozen=True)
class TriggerPolicy:
    """Thresholds of each trigger and the cooldown; :meth:`decide` applies them to one day."""

    drift_share: float = DRIFT_SHARE
    drift_days: int = DRIFT_DAYS
    max_error_ratio: float = MAX_ERROR_RATIO
    schedule_days: int | None = None
    cooldown_days: int = COOLDOWN_DAYS

    def __post_init__(self) -> None:
        if self.drift_days < 1 or self.cooldown_days < 0 or self.max_error_ratio <= 1:
            raise ValueError(
                "invalid trigger policy: drift_days must be >= 1, cooldown_days >= 0 and "
                f"max_error_ratio > 1 (got {self.drift_days}, {self.cooldown_days}, "
                f"{self.max_error_ratio})"
            )
        if self.schedule_days is not None and self.schedule_days < 1:
            raise ValueError(f"schedule_days must be None or >= 1, got {self.schedule_days}")

    def decide(self, signals: Signals, last_trigger_day: int | None = None) -> Trigger | None:
        """The trigger that fires on ``signals.day``, or None.

        Order of precedence: manual (never held back), then, outside the cooldown, performance
        (the strongest evidence), drift, and the schedule.
        """
        day = signals.day
        if signals.manual:
            return Trigger("manual", "retraining requested by hand", day)
        if last_trigger_day is not None and day - last_trigger_day < self.cooldown_days:
            return None
        if signals.error_ratio is not None and signals.error_ratio > self.max_error_ratio:
            return Trigger(
                "performance",
                f"recent error is {signals.error_ratio:.2f}x the model's training-time error "
                f"(limit {self.max_error_ratio:.2f}x)",
                day,
            )
        if (
            signals.drift_share is not None
            and signals.drift_share >= self.drift_share
            and signals.drift_streak >= self.drift_days
        ):
            return Trigger(
                "drift",
                f"{signals.drift_share:.0%} of monitored columns drifted (limit "
                f"{self.drift_share:.0%}), {signals.drift_streak} days in a row",
                day,
            )
        if (
            self.schedule_days is not None
            and signals.days_since_retrain is not None
            and signals.days_since_retrain >= self.schedule_days
        ):
            return Trigger(
                "schedule",
                f"the model is {signals.days_since_retrain} days old (retrain every "
                f"{self.schedule_days} days)",
                day,
            )
        return None
