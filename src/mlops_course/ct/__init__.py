"""Continuous training (stage 5): monitoring decides, a retraining runs, a gate protects production.

"ct", not "pipelines": the course has three things called a pipeline, and each now has its own
name: the DVC steps (:mod:`mlops_course.dvc_stages`), the scikit-learn ``Pipeline`` that is the
model (:mod:`mlops_course.train`), and this loop.

- :mod:`.triggers`: :class:`TriggerPolicy` turns a day's monitoring into a :class:`Trigger` or none;
- :mod:`.retraining`: :func:`retrain` on a window of validated data, gate the challenger, promote
  it last;
- :mod:`.loop`: :class:`ContinuousTraining`, the whole loop over simulated days;
- :mod:`.timeline`: the loop's day table as CSV and as a plot, and the recovery it shows;
- :mod:`.cli`: ``mlops-course ct simulate | retrain | rollback | status``.

The names are imported lazily, like those of ``monitoring`` and ``serving``: the trigger policy
alone must not import scikit-learn and MLflow.
"""

from __future__ import annotations

from mlops_course.lazy import lazy_exports

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
    "ContinuousTraining": "mlops_course.ct.loop",
    "LoopConfig": "mlops_course.ct.loop",
    "LoopResult": "mlops_course.ct.loop",
    "RetrainResult": "mlops_course.ct.retraining",
    "gate_challenger": "mlops_course.ct.retraining",
    "retrain": "mlops_course.ct.retraining",
    "Signals": "mlops_course.ct.triggers",
    "Trigger": "mlops_course.ct.triggers",
    "TriggerPolicy": "mlops_course.ct.triggers",
}

__getattr__ = lazy_exports(__name__, _WHERE)
