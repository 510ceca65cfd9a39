"""The quality gate: may a candidate model replace the champion?

Automation makes it easy to ship a model, including a worse one: a pipeline that retrains on every
change will, sooner or later, train on a bad sample or a broken parameter. The gate is the step
that says no. It scores the candidate and the current champion on the **same** evaluation set and
passes the candidate only when

1. it beats the constant baseline by a stated margin (MAE, relative),
2. it is not worse than the champion by more than a stated margin (or, for a retraining, better
   by one),
3. it passes the behavioural checks its policy lists.

- :mod:`.checks`: the behavioural checks of a model (invariance, direction, regression examples);
- :mod:`.policy`: the criteria, and the two policies (:data:`PULL_REQUEST`, :data:`RETRAINING`);
- :mod:`.evaluation`: :func:`evaluate_gate`, which scores both models and applies a policy;
- :mod:`.report`: :class:`GateReport`, readable as text in a CI log, HTML in a notebook, JSON;
- :mod:`.cli`: ``mlops-course gate run | checks | promote``, exit code 1 when blocked.
"""

from mlops_course.gate.checks import (
    BASELINE_MARGIN,
    ModelCheck,
    Regressor,
    checks_frame,
    run_model_checks,
)
from mlops_course.gate.evaluation import evaluate_gate
from mlops_course.gate.policy import (
    MAE_MARGIN,
    MIN_IMPROVEMENT,
    PULL_REQUEST,
    RETRAINING,
    Criterion,
    GatePolicy,
    decide,
)
from mlops_course.gate.report import GateReport

__all__ = [
    "BASELINE_MARGIN",
    "MAE_MARGIN",
    "MIN_IMPROVEMENT",
    "PULL_REQUEST",
    "RETRAINING",
    "Criterion",
    "GatePolicy",
    "GateReport",
    "ModelCheck",
    "Regressor",
    "checks_frame",
    "decide",
    "evaluate_gate",
    "run_model_checks",
]
