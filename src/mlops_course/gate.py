"""The quality gate: may a candidate model replace the champion?

Automation makes it easy to ship a model, including a worse one: a pipeline that retrains on every
change will, sooner or later, train on a bad sample or a broken parameter. The gate is the step that
says no. It scores the candidate and the current champion on the **same** evaluation set (metrics
from different data cannot be compared) and passes the candidate only when

1. it is not worse than the champion by more than a stated margin (MAE, relative),
2. it beats the constant baseline by a stated margin, and
3. it passes the behavioural checks of :mod:`mlops_course.model_checks`.

With no champion yet (the very first model), 2 and 3 still apply, and the report says why it passed.
The result is a :class:`GateReport`: a decision, the reasons, a metrics table, readable as text in a
CI log, as HTML in a notebook and as JSON for a CI artifact. ``mlops-course gate run`` wraps it
and exits with code 1 when the candidate is blocked, so a pipeline stops there.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlops_course.evaluate import regression_metrics
from mlops_course.features import to_model_input
from mlops_course.model_checks import BASELINE_MARGIN, ModelCheck, Regressor, run_model_checks
from mlops_course.schema import TARGET

MAE_MARGIN = 0.02
"""A candidate may be at most 2% worse (MAE) than the champion and still pass.

Not zero: two fits of the same model on the same data differ by noise, and a gate that blocks every
retraining that is a hair worse would block most of them. Not large: small losses add up over many
retrainings, each passing against the one before."""


def decide(
    candidate_mae: float,
    champion_mae: float | None,
    baseline_mae: float,
    margin: float = MAE_MARGIN,
    baseline_margin: float = BASELINE_MARGIN,
) -> tuple[bool, list[str]]:
    """The gate's rule on metrics alone: (passes, one reason per criterion).

    Kept apart from the model checks so that the rule itself can be read, tested and taught in a
    few lines. Every criterion yields a reason, passing or not, so a report says *why* as well as
    *whether*.
    """
    reasons = []
    bar = (1 - baseline_margin) * baseline_mae
    beats_baseline = candidate_mae <= bar
    reasons.append(
        f"{'ok' if beats_baseline else 'BLOCK'}: candidate MAE {candidate_mae:.3f} vs baseline "
        f"{baseline_mae:.3f}; must be at least {baseline_margin:.0%} lower (<= {bar:.3f})"
    )
    if champion_mae is None:
        reasons.append("ok: there is no champion yet, so the candidate is not compared with one")
        return beats_baseline, reasons
    limit = champion_mae * (1 + margin)
    not_worse = candidate_mae <= limit
    change = candidate_mae / champion_mae - 1 if champion_mae else 0.0
    reasons.append(
        f"{'ok' if not_worse else 'BLOCK'}: candidate MAE {candidate_mae:.3f} vs champion "
        f"{champion_mae:.3f} ({change:+.1%}); may be at most {margin:.0%} worse (<= {limit:.3f})"
    )
    return beats_baseline and not_worse, reasons


@dataclass(repr=False)
class GateReport:
    """What the gate decided, why, and the numbers it decided on."""

    passed: bool
    reasons: list[str]
    metrics: pd.DataFrame
    checks: list[ModelCheck] = field(default_factory=list)
    margin: float = MAE_MARGIN
    baseline_margin: float = BASELINE_MARGIN
    n_eval: int = 0

    @property
    def decision(self) -> str:
        return "PASS" if self.passed else "BLOCK"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "passed": self.passed,
            "reasons": self.reasons,
            "metrics": self.metrics.reset_index().to_dict(orient="records"),
            "checks": [c.to_dict() for c in self.checks],
            "margin": self.margin,
            "baseline_margin": self.baseline_margin,
            "n_eval": self.n_eval,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=float)

    def summary(self) -> str:
        """The report as plain text: decision, reasons, metrics and checks, for a CI log."""
        lines = [f"quality gate: {self.decision} ({self.n_eval} evaluation trips)"]
        lines += [f"  {reason}" for reason in self.reasons]
        lines += ["", self.metrics.to_string(), ""]
        lines += [f"  {check}" for check in self.checks]
        return "\n".join(lines).rstrip()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in self.reasons)
        checks = "".join(
            f"<li>{'✅' if c.passed else '❌'} <b>{html.escape(c.name)}</b>: "
            f"{html.escape(c.message)}</li>"
            for c in self.checks
        )
        return (
            f"<p><b style='color:{colour}'>quality gate: {self.decision}</b> "
            f"({self.n_eval} evaluation trips)</p><ul>{reasons}</ul>"
            f"{self.metrics.to_html()}<ul>{checks}</ul>"
        )


def evaluate_gate(
    candidate: Regressor,
    champion: Regressor | None,
    eval_frame: pd.DataFrame,
    *,
    margin: float = MAE_MARGIN,
    baseline_margin: float = BASELINE_MARGIN,
    baseline_value: float | None = None,
    run_checks: bool = True,
) -> GateReport:
    """Compare ``candidate`` with ``champion`` (None: there is none yet) on ``eval_frame``.

    ``baseline_value`` is the constant prediction to beat, usually the training median; without
    it, the median of ``eval_frame`` (the best constant there is). ``run_checks=False`` skips the
    behavioural checks, for a quick comparison of metrics only.
    """
    if eval_frame.empty:
        raise ValueError("the evaluation set is empty: the gate needs trips to compare models on")
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
    passed, reasons = decide(
        rows["candidate"]["mae"], champion_mae, rows["baseline"]["mae"], margin, baseline_margin
    )
    checks = []
    if run_checks:
        checks = run_model_checks(
            candidate, eval_frame, baseline_margin=baseline_margin, baseline_value=constant
        )
        failed = [c.name for c in checks if not c.passed]
        passed = passed and not failed
        reasons.append(
            f"BLOCK: behavioural checks failed: {', '.join(failed)}"
            if failed
            else f"ok: all {len(checks)} behavioural checks passed"
        )
    return GateReport(passed, reasons, metrics, checks, margin, baseline_margin, len(y))
