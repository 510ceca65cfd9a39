"""What a gate decided, why, and the numbers it decided on: text for a CI log, HTML, JSON."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlops_course.gate.checks import ModelCheck
from mlops_course.gate.policy import Criterion, GatePolicy


@dataclass(frozen=True, repr=False)
class GateReport:
    """The outcome of :func:`~mlops_course.gate.evaluate_gate`; immutable, like a verdict.

    The decision is derived from the criteria, never stored beside them, so a report cannot say
    PASS while one of its criteria says BLOCK.
    """

    policy: GatePolicy
    criteria: tuple[Criterion, ...]
    metrics: pd.DataFrame
    checks: tuple[ModelCheck, ...] = ()
    n_eval: int = 0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    @property
    def decision(self) -> str:
        return "PASS" if self.passed else "BLOCK"

    @property
    def reasons(self) -> list[str]:
        """One line per criterion, starting with ``ok`` or ``BLOCK``."""
        return [str(c) for c in self.criteria]

    @property
    def margin(self) -> float:
        """The policy's signed margin against the champion's MAE."""
        return self.policy.champion_margin

    @property
    def baseline_margin(self) -> float:
        return self.policy.baseline_margin

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "passed": self.passed,
            "policy": self.policy.name,
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
