"""The loop's story, day by day: a CSV for tools, a plot for people, and the recovery it shows.

The claim of stage 5 is checked here, with its margins stated: after a drift starts, the error of
the continuously trained service returns to within ``RECOVERY_TOLERANCE`` (10%) of its level
before the drift within ``RECOVERY_DAYS`` (7) days of the start day and stays there, while the
first model, never retrained, stays degraded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_course.ct.loop import LoopResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

RECOVERY_TOLERANCE = 0.10
"""Recovered means: relative error at most 10% above its mean over the week before the drift."""

RECOVERY_DAYS = 7
"""Recovered within a week of the start day: three days for the labels of the new situation to
arrive, a retraining, and a follow-up once a full window of the new situation is labelled."""

PRE_DAYS = 7
"""The pre-drift level is the mean error over the seven days before the start day (every weekday
once, so the weekly pattern does not bias it)."""

ROLLING_DAYS = 3
"""Recovery is judged on the 3-day rolling mean, so a single unlucky day neither hides nor fakes
it (one day's relative error wobbles by about 5%)."""


@dataclass(frozen=True)
class Recovery:
    """The numbers behind the claim, for one simulated scenario."""

    start_day: int
    pre_error: float
    limit: float
    first_trigger_day: int | None
    retrain_days: list[int]
    promoted_days: list[int]
    recovered_day: int | None
    error_after: float
    baseline_error_after: float
    worst_rolling_after: float

    @property
    def recovered(self) -> bool:
        """Recovered by ``start_day + RECOVERY_DAYS`` and within the limit from then on."""
        return (
            self.recovered_day is not None and self.recovered_day <= self.start_day + RECOVERY_DAYS
        )

    @property
    def baseline_degraded(self) -> bool:
        return self.baseline_error_after > self.limit

    def to_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "recovered": self.recovered,
            "baseline_degraded": self.baseline_degraded,
        }

    def summary(self) -> str:
        return (
            f"pre-drift error {self.pre_error:.1%} (limit {self.limit:.1%}); first trigger on day "
            f"{self.first_trigger_day}; retrained on days {self.retrain_days}, promoted on "
            f"{self.promoted_days}; recovered from day {self.recovered_day}; from day "
            f"{self.start_day + RECOVERY_DAYS} on: error {self.error_after:.1%} (worst "
            f"{ROLLING_DAYS}-day mean {self.worst_rolling_after:.1%}) vs never retrained "
            f"{self.baseline_error_after:.1%}"
        )


def recovery(result: LoopResult, tolerance: float = RECOVERY_TOLERANCE) -> Recovery:
    """Measure the recovery after ``result.config.drift_start`` (see the module docstring).

    Parameters
    ----------
    result
        A finished loop (:meth:`ContinuousTraining.run`); its timeline must have at least three
        scored days among the :data:`PRE_DAYS` before the drift starts and reach
        :data:`RECOVERY_DAYS` days after it, or a ``ValueError`` says which days it covers.
    tolerance
        How far, as a share, the error may stay above its pre-drift level and still count as
        recovered: the limit is the pre-drift error times ``1 + tolerance``.

    Returns
    -------
    Recovery
        The numbers behind the claim; :attr:`Recovery.recovered` says whether it holds.
    """
    start = result.config.drift_start
    frame = result.timeline.set_index("day")
    scored = frame[frame["error"].notna()]
    pre = scored.loc[start - PRE_DAYS : start - 1, "error"]
    if len(pre) < 3 or scored.index.max() < start + RECOVERY_DAYS:
        raise ValueError(
            f"the timeline must cover the week before day {start} and at least "
            f"{RECOVERY_DAYS} days after it to measure a recovery; it covers days "
            f"{scored.index.min()}-{scored.index.max()}"
        )
    pre_error = float(pre.mean())
    limit = pre_error * (1 + tolerance)
    rolling = scored["error"].rolling(ROLLING_DAYS).mean()
    after = rolling.loc[start:]
    over = after[after > limit]
    recovered_day = None
    if len(after) and (over.empty or over.index.max() < after.index.max()):
        recovered_day = int(start if over.empty else after.loc[over.index.max() + 1 :].index.min())
    judged = scored.loc[start + RECOVERY_DAYS :]
    trigger_days = [t.day for t in result.triggers]
    retrains = list(zip(result.retrain_days, result.retrains, strict=True))[1:]
    return Recovery(
        start_day=start,
        pre_error=pre_error,
        limit=limit,
        first_trigger_day=min(trigger_days) if trigger_days else None,
        retrain_days=[d for d, _ in retrains],
        promoted_days=[d for d, r in retrains if r.promoted],
        recovered_day=recovered_day,
        error_after=float(judged["error"].mean()),
        baseline_error_after=float(judged["baseline_error"].mean()),
        worst_rolling_after=float(rolling.loc[start + RECOVERY_DAYS :].max()),
    )


def plot_timeline(result: LoopResult, title: str | None = None) -> Figure:
    """Daily error with and without continuous training, and the drift score, on one figure.

    Parameters
    ----------
    result
        A finished loop (:meth:`ContinuousTraining.run`): its timeline and configuration.
    title
        The figure's title; by default the scenario's name.
    """
    import matplotlib.pyplot as plt

    frame = result.timeline
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    for axis in (top, bottom):
        if result.config.scenario != "none":
            axis.axvline(result.config.drift_start, color="black", linestyle=":", linewidth=1)
        for day in frame.loc[frame["quarantined"], "day"]:
            axis.axvspan(day - 0.5, day + 0.5, color="tab:orange", alpha=0.25, linewidth=0)
    _plot_error(top, result)
    top.set(
        ylabel="relative error (MAE / mean)", title=title or f"Scenario: {result.config.scenario}"
    )
    top.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1%}"))
    top.legend(loc="center left", fontsize=9)
    _plot_drift(bottom, result)
    fig.tight_layout()
    return fig


def _plot_error(top: Axes, result: LoopResult) -> None:
    """The two error curves, each retraining (promoted or rejected) and the recovery limit."""
    frame = result.timeline
    top.plot(frame["day"], frame["baseline_error"], color="tab:red", label="never retrained")
    top.plot(frame["day"], frame["error"], color="tab:blue", label="continuous training")
    retrained = frame[frame["retrain_version"].notna()]
    was_promoted = retrained["promoted"].astype(bool)
    for days, marker, colour, label in (
        (retrained[was_promoted], "^", "tab:green", "retrained, promoted"),
        (retrained[~was_promoted], "x", "black", "retrained, rejected"),
    ):
        top.scatter(
            days["day"], days["error"], marker=marker, s=80, color=colour, zorder=3, label=label
        )
    if result.config.scenario == "none":
        return
    top.annotate(
        "drift starts",
        (result.config.drift_start, top.get_ylim()[1]),
        xytext=(3, -12),
        textcoords="offset points",
        fontsize=9,
    )
    try:
        limit = recovery(result).limit
    except ValueError:  # too few days to measure a pre-drift level: no line
        return
    top.axhline(limit, color="gray", linestyle="--", linewidth=1, label="pre-drift level + 10%")


def _plot_drift(bottom: Axes, result: LoopResult) -> None:
    """The share of drifted columns per day, its threshold, and the days a retraining fired."""
    frame = result.timeline
    bottom.plot(frame["day"], frame["drift_share"], color="tab:purple", label="drifted columns")
    bottom.axhline(
        result.config.policy.drift_share,
        color="tab:purple",
        linestyle="--",
        linewidth=1,
        label="drift threshold",
    )
    triggered = frame[frame["trigger"].notna()]
    bottom.scatter(
        triggered["day"],
        triggered["drift_share"].fillna(0),
        marker="v",
        s=60,
        color="black",
        zorder=3,
        label="trigger",
    )
    bottom.set(xlabel="day", ylabel="share drifted", ylim=(-0.05, 1.05))
    bottom.legend(loc="upper left", fontsize=9)


def write_timeline(result: LoopResult, out: Path) -> dict[str, Path]:
    """Write ``timeline.csv``, ``triggers.csv``, ``retrains.csv``, ``timeline.png`` and
    ``summary.json`` into ``out``; returns their paths by name."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "timeline": out / "timeline.csv",
        "triggers": out / "triggers.csv",
        "retrains": out / "retrains.csv",
        "plot": out / "timeline.png",
        "summary": out / "summary.json",
    }
    result.timeline.to_csv(paths["timeline"], index=False, float_format="%.5f")
    result.trigger_log.to_csv(paths["triggers"], index=False)
    result.retrain_log.to_csv(paths["retrains"], index=False)
    fig = plot_timeline(result)
    fig.savefig(paths["plot"], dpi=100)
    plt.close(fig)
    summary: dict[str, object] = {
        "scenario": result.config.scenario,
        "model_name": result.name,
        "days": [result.config.first_day, result.config.last_day],
        "triggers": len(result.triggers),
        "retrains": len(result.retrains) - 1,
        "promotions": sum(r.promoted for r in result.retrains[1:]),
        "quarantined_days": [
            int(d) for d in result.timeline.loc[result.timeline["quarantined"], "day"]
        ],
        "api_requests": result.api_requests,
        "api_failed_requests": result.api_failed,
    }
    if result.config.scenario != "none":
        try:
            summary["recovery"] = recovery(result).to_dict()
        except ValueError as error:
            summary["recovery"] = str(error)
    paths["summary"].write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return paths
