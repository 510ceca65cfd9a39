"""Score the candidate and the champion on the same evaluation set, then apply a policy.

Metrics from different data cannot be compared: the MAE logged when the champion was trained
belongs to other trips, so the gate scores **both** models on the **same** trips, every time.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mlops_course.evaluate import regression_metrics
from mlops_course.features import to_model_input
from mlops_course.gate.checks import Regressor
from mlops_course.gate.policy import PULL_REQUEST, Criterion, GatePolicy
from mlops_course.gate.report import GateReport
from mlops_course.schema import TARGET


def evaluate_gate(
    candidate: Regressor,
    champion: Regressor | None,
    eval_frame: pd.DataFrame,
    *,
    policy: GatePolicy = PULL_REQUEST,
    margin: float | None = None,
    baseline_margin: float | None = None,
    baseline_value: float | None = None,
    run_checks: bool = True,
) -> GateReport:
    """May ``candidate`` replace ``champion``? The gate's report, scored on ``eval_frame``.

    Parameters
    ----------
    candidate, champion
        Anything with ``predict``; ``champion`` is None when there is none yet (the first model):
        then only the baseline and the checks decide.
    eval_frame
        Labelled trips, the same for both models.
    policy
        :data:`~mlops_course.gate.policy.PULL_REQUEST` (stage 3) or
        :data:`~mlops_course.gate.policy.RETRAINING` (stage 5).
    margin, baseline_margin
        Override the policy's champion margin (signed) and baseline margin.
    baseline_value
        The constant prediction to beat, usually the training median; without it, the median of
        ``eval_frame`` (the best constant there is).
    run_checks
        False skips the behavioural checks, for a quick comparison of metrics only.
    """
    if eval_frame.empty:
        raise ValueError("the evaluation set is empty: the gate needs trips to compare models on")
    if margin is not None:
        policy = replace(policy, champion_margin=margin)
    if baseline_margin is not None:
        policy = replace(policy, baseline_margin=baseline_margin)
    y = eval_frame[TARGET].to_numpy(dtype=float)
    x = to_model_input(eval_frame)
    constant = float(np.median(y)) if baseline_value is None else float(baseline_value)
    rows = {
        "candidate": regression_metrics(y, candidate.predict(x)),
        "baseline": regression_metrics(y, np.full(len(y), constant)),
    }
    if champion is not None:
        rows["champion"] = regression_metrics(y, champion.predict(x))
    metrics = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    champion_mae = rows["champion"]["mae"] if champion is not None else None
    criteria = policy.decide(rows["candidate"]["mae"], champion_mae, rows["baseline"]["mae"])
    checks = tuple(check(candidate, eval_frame) for check in policy.checks) if run_checks else ()
    if checks:
        failed = [c.name for c in checks if not c.passed]
        reason = (
            f"behavioural checks failed: {', '.join(failed)}"
            if failed
            else f"all {len(checks)} behavioural checks passed"
        )
        criteria = (*criteria, Criterion("behavioural checks", not failed, reason))
    return GateReport(policy, criteria, metrics, checks, len(y))
