"""The gate's rule: the criteria a candidate must meet, and the two configurations the course uses.

One decision, two policies. Stage 3's **pull-request gate** lets a candidate be slightly *worse*
than the champion (two fits of the same model differ by noise, and a gate that blocks noise blocks
every change); stage 5's **retraining gate** wants a challenger clearly *better*, or the champion
stays (each swap is a risk, and retraining on unchanged data gives a model within noise of the
champion). Both are the same comparison with a signed margin,

    candidate MAE <= champion MAE x (1 + champion_margin)

with ``champion_margin`` = +2% for a pull request and -5% for a retraining. Each criterion yields a
:class:`Criterion`, passed or not, so a report says *why* as well as *whether*.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_course.gate.checks import (
    BASELINE_MARGIN,
    Check,
    check_distance_direction,
    check_regression_examples,
    check_temperature_invariance,
    check_weekday_invariance,
)

MAE_MARGIN = 0.02
"""A pull request's candidate may be at most 2% worse (MAE) than the champion and still pass.

Not zero: two fits of the same model on the same data differ by noise, and a gate that blocks every
retraining that is a hair worse would block most of them. Not large: small losses add up over many
retrainings, each passing against the one before."""

MIN_IMPROVEMENT = 0.05
"""A retraining's challenger must have at least 5% lower MAE than the champion on held-out days.

Retraining when nothing changed yields a model within a percent or two of the champion; a
margin above that noise keeps the loop from swapping models for nothing (each swap is a risk),
while any retraining that fixes a real change clears it by far (30% and more)."""


@dataclass(frozen=True)
class Criterion:
    """One line of a gate's decision: what was asked, whether it held, and the numbers why."""

    name: str
    passed: bool
    reason: str

    def __str__(self) -> str:
        return f"{'ok' if self.passed else 'BLOCK'}: {self.reason}"


@dataclass(frozen=True)
class GatePolicy:
    """What a candidate must do to pass: margins against the champion and the baseline, and checks.

    Parameters
    ----------
    name
        Which gate this is, shown in reports ("pull request", "retraining").
    champion_margin
        Signed share of the champion's MAE: the candidate passes this criterion when its MAE is
        at most ``champion MAE * (1 + champion_margin)``. Positive allows a little worse,
        negative demands better.
    baseline_margin
        The candidate's MAE must be at least this share below the constant baseline's.
    checks
        The behavioural checks (:mod:`mlops_course.gate.checks`) the candidate must pass.
    """

    name: str
    champion_margin: float
    baseline_margin: float = BASELINE_MARGIN
    checks: tuple[Check, ...] = ()

    def decide(
        self, candidate_mae: float, champion_mae: float | None, baseline_mae: float
    ) -> tuple[Criterion, ...]:
        """The metric criteria: the baseline, then the champion (or why there is none)."""
        bar = (1 - self.baseline_margin) * baseline_mae
        baseline = Criterion(
            "baseline",
            candidate_mae <= bar,
            f"candidate MAE {candidate_mae:.3f} vs baseline {baseline_mae:.3f}; must be at "
            f"least {self.baseline_margin:.0%} lower (<= {bar:.3f})",
        )
        if champion_mae is None:
            reason = "there is no champion yet, so the candidate is not compared with one"
            return baseline, Criterion("champion", True, reason)
        limit = champion_mae * (1 + self.champion_margin)
        change = candidate_mae / champion_mae - 1 if champion_mae else 0.0
        margin = self.champion_margin
        rule = (
            f"may be at most {margin:.0%} worse"
            if margin >= 0
            else f"a {self.name} must lower it by at least {-margin:.0%}"
        )
        return baseline, Criterion(
            "champion",
            candidate_mae <= limit,
            f"candidate MAE {candidate_mae:.3f} vs champion {champion_mae:.3f} ({change:+.1%}); "
            f"{rule} (<= {limit:.3f})",
        )


PULL_REQUEST = GatePolicy(
    "pull request",
    champion_margin=MAE_MARGIN,
    checks=(
        check_temperature_invariance,
        check_weekday_invariance,
        check_distance_direction,
        check_regression_examples,
    ),
)
"""Stage 3's gate in CI: at most 2% worse than the champion, 30% better than the baseline, sound.

The baseline is a criterion here, not also a check: :func:`~mlops_course.gate.checks.
check_beats_baseline` is for ``mlops-course gate checks``, where no gate weighs the metrics."""

RETRAINING = GatePolicy(
    "retraining",
    champion_margin=-MIN_IMPROVEMENT,
    checks=(check_temperature_invariance, check_weekday_invariance, check_distance_direction),
)
"""Stage 5's gate for the continuous-training loop: at least 5% better than the champion.

Of stage 3's behavioural checks, those that hold in any world run here: invariance to temperature
and workday, longer distance means longer trip. The fixed regression examples do not: they are
answers from the world before a change (a 10 km trip took about 25 minutes), and after congestion
a *correct* model must miss them. Golden examples are updated by a person who decides the world
has changed, not by the loop that retrains because it did."""


def decide(
    candidate_mae: float,
    champion_mae: float | None,
    baseline_mae: float,
    margin: float = MAE_MARGIN,
    baseline_margin: float = BASELINE_MARGIN,
) -> tuple[bool, list[str]]:
    """The pull-request gate's rule on metrics alone: (passes, one reason per criterion).

    The few lines that Lab 3.1 has learners write, kept apart from the model checks so that the
    rule can be read, tested and taught alone.

    Parameters
    ----------
    candidate_mae, champion_mae, baseline_mae
        The three MAEs on the same evaluation set; ``champion_mae`` is None for the first model.
    margin
        How much worse than the champion (a share) still passes.
    baseline_margin
        How much better than the baseline (a share) the candidate must be.
    """
    policy = GatePolicy("pull request", champion_margin=margin, baseline_margin=baseline_margin)
    criteria = policy.decide(candidate_mae, champion_mae, baseline_mae)
    return all(c.passed for c in criteria), [str(c) for c in criteria]
