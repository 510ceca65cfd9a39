"""Continuous training (stage 5): monitoring decides, a pipeline retrains, a gate protects
production.

- :mod:`.triggers`: :class:`TriggerPolicy` turns a day's monitoring into a :class:`Trigger` or none;
- :mod:`.retrain`: retrain on a window of validated data, gate the challenger, promote it last;
- :mod:`.loop`: :class:`ContinuousTraining`, the whole loop over simulated days;
- :mod:`.timeline`: the loop's day table as CSV and as a plot, and the recovery it shows;
- :mod:`.cli`: ``mlops-course ct simulate | retrain | rollback | status``.

The names below are imported on first use: importing one submodule (say, the pure trigger policy
or the drift statistics) must not pay for MLflow and scikit-learn through this package.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ContinuousTraining",
    "LoopConfig",
    "LoopResult",
    "RetrainResult",
    "Signals",
    "Trigger",
    "TriggerPolicy",
    "gate_challenger",
    "retrain",
]
_WHERE = {
    "ContinuousTraining": "mlops_course.pipelines.loop",
    "gate_challenger": "mlops_course.pipelines.retrain",
    "LoopConfig": "mlops_course.pipelines.loop",
    "LoopResult": "mlops_course.pipelines.loop",
    "retrain": "mlops_course.pipelines.retrain",
    "RetrainResult": "mlops_course.pipelines.retrain",
    "Signals": "mlops_course.pipelines.triggers",
    "Trigger": "mlops_course.pipelines.triggers",
    "TriggerPolicy": "mlops_course.pipelines.triggers",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
