"""Continuous training (stage 5): monitoring decides, a pipeline retrains, a gate protects
production.

- :mod:`.triggers`: :class:`TriggerPolicy` turns a day's monitoring into a :class:`Trigger` or none;
- :mod:`.retrain`: retrain on a window of validated data, gate the challenger, promote it last;
- :mod:`.loop`: :class:`ContinuousTraining`, the whole loop over simulated days;
- :mod:`.timeline`: the loop's day table as CSV and as a plot, and the recovery it shows;
- :mod:`.cli`: ``mlops-course ct simulate | retrain | rollback | status``.
"""

# Imported eagerly, unlike monitoring/ and serving/: ``retrain`` is both a function and the module
# that defines it, and a lazy export would be shadowed by the module as soon as it is imported.
from mlops_course.pipelines.loop import ContinuousTraining, LoopConfig, LoopResult
from mlops_course.pipelines.retrain import RetrainResult, gate_challenger, retrain
from mlops_course.pipelines.triggers import Signals, Trigger, TriggerPolicy

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
