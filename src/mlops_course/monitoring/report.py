"""Monitoring results a person can read: plots and one self-contained HTML file.

An on-call engineer opens the report from an alert, often from a chat message or a ticket, so it
must work as one file with no server and no network: the plots are PNG images embedded as
base64, the styles inline. Figures are built with ``matplotlib.figure.Figure`` rather than
``pyplot``, so reports can be rendered from a server thread without a global figure state.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mlops_course.monitoring.backtest import Backtest, Monitor
from mlops_course.monitoring.drift import DriftReport

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 8px}"
    "th{background:#f3f3f3}.alarm{color:#b00020;font-weight:bold}.ok{color:#1b5e20}"
)


def figure_to_img(fig: Figure) -> str:
    """An ``<img>`` tag holding the figure as an embedded PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{encoded}"/>'


def plot_severity(report: DriftReport) -> Figure:
    """One bar per column: how far past its threshold it is (1.0 = at the threshold)."""
    frame = report.frame.sort_values("severity")
    fig = Figure(figsize=(7, 0.35 * len(frame) + 1.2))
    ax = fig.subplots()
    colors = np.where(frame["drifted"], "tab:red", "tab:blue")
    ax.barh(frame["feature"] + " (" + frame["method"] + ")", frame["severity"], color=colors)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)
    ax.set(xlabel="severity (statistic relative to its threshold)", title=report.summary())
    ax.title.set_fontsize(9)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_distributions(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], columns: int = 4
) -> Figure:
    """Reference against current for each column: histograms or category shares."""
    rows = -(-len(features) // columns)
    fig = Figure(figsize=(3.2 * columns, 2.6 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, name in zip(axes, features, strict=False):
        ref, cur = reference[name].dropna(), current[name].dropna()
        if pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref):
            values = np.concatenate([ref.to_numpy(float), cur.to_numpy(float)])
            edges = np.histogram_bin_edges(
                values, bins=30, range=tuple(np.quantile(values, [0, 0.99]))
            )
            ax.hist(ref.astype(float), bins=edges, density=True, alpha=0.5, label="reference")
            ax.hist(cur.astype(float), bins=edges, density=True, alpha=0.5, label="current")
        else:
            shares = pd.DataFrame(
                {
                    "reference": ref.astype(str).value_counts(normalize=True),
                    "current": cur.astype(str).value_counts(normalize=True),
                }
            ).fillna(0.0)
            x = np.arange(len(shares))
            ax.bar(x - 0.2, shares["reference"], width=0.4, label="reference")
            ax.bar(x + 0.2, shares["current"], width=0.4, label="current")
            ax.set_xticks(x, shares.index, rotation=60, fontsize=7)
        ax.set_title(name, fontsize=9)
    for ax in axes[len(features) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_timeline(backtest: Backtest) -> Figure:
    """Drift severity per column and day, the performance window and the data quality.

    Parameters
    ----------
    backtest
        A replay of :func:`~mlops_course.monitoring.backtest.backtest`; its scenario's start
        day is marked on every panel.
    """
    severity = backtest.drift.pivot(index="feature", columns="day", values="severity")
    days = severity.columns.to_numpy()
    fig = Figure(figsize=(11, 8.5))
    top, middle, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[2.2, 1, 1])
    for name, values in severity.iterrows():
        top.plot(days, values.to_numpy(), marker=".", label=name)
    top.axhline(1.0, color="black", linestyle="--", linewidth=1, label="threshold")
    top.set_yscale("symlog", linthresh=1.0)
    top.set_ylim(bottom=0)
    top.set(ylabel="drift severity", title=f"Scenario {backtest.scenario}: drift per column")
    top.legend(fontsize=7, ncol=3, loc="upper right")

    perf = backtest.performance.dropna(subset=["mae"])
    middle.plot(perf["as_of_day"], perf["mae"], marker=".", label="MAE over the window")
    middle.plot(
        perf["as_of_day"], perf["mae_limit"], color="tab:red", linestyle="--", label="limit"
    )
    middle.set(ylabel="MAE (min)", title="Performance once labels arrive")
    middle.legend(fontsize=7, loc="upper left")

    quality = backtest.quality
    for name, part in quality.groupby("feature"):
        if part["null_share"].max() > 0 or part["out_of_range_share"].max() > 0:
            values = part["null_share"] + part["out_of_range_share"]
            bottom.plot(part["day"], values, marker=".", label=f"{name}: null + out of range")
    bottom.set(xlabel="day", ylabel="share of rows", title="Data quality")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=7, loc="upper left")
    for ax in (top, middle, bottom):
        ax.axvline(backtest.start_day, color="grey", linewidth=6, alpha=0.25)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def drift_report_html(
    report: DriftReport,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    title: str = "Drift report",
) -> str:
    """One window's report: the decision, a severity chart, distributions and the table.

    Parameters
    ----------
    report
        The drift report to show, e.g. of
        :func:`~mlops_course.monitoring.trips.detect_trip_drift`.
    reference, current
        The two frames ``report`` compared; each of its columns is plotted from them.
    title
        The page's title and heading.

    Returns
    -------
    str
        A complete HTML page, with its plots embedded; :func:`write_html` saves it.
    """
    verdict = "alarm" if report.drifted else "ok"
    features = list(report.frame["feature"])
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="{verdict}">{html.escape(report.summary())}</p>',
        figure_to_img(plot_severity(report)),
        "<h2>Distributions: reference against current</h2>",
        figure_to_img(plot_distributions(reference, current, features)),
        "<h2>Every column</h2>",
        report.frame.to_html(index=False, float_format=lambda v: f"{v:.4g}"),
    ]
    return _page(title, parts)


def backtest_report_html(backtest: Backtest, title: str | None = None) -> str:
    """A report over many days: the timeline, the first alarms and the drifted columns by day."""
    title = title or f"Monitoring report: scenario {backtest.scenario}"
    monitors: tuple[Monitor, ...] = ("drift", "quality", "performance")
    first = {m: backtest.first_alarm(m) for m in monitors}
    summary = pd.DataFrame(
        {
            "monitor": list(first),
            "first alarm (day)": [("never" if d is None else d) for d in first.values()],
            "days with an alarm": [len(backtest.alarm_days(m)) for m in first],
        }
    )
    drifted = backtest.drift[backtest.drift["drifted"]]
    by_day = drifted.groupby("day")["feature"].agg(", ".join).rename("drifted columns")
    shares = backtest.datasets.set_index("day")["share_drifted"]
    daily = pd.concat([backtest.alarms.set_index("day"), shares, by_day], axis=1).fillna("")
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        summary.to_html(index=False),
        figure_to_img(plot_timeline(backtest)),
        "<h2>Alarms by day</h2>",
        daily.reset_index().to_html(index=False, float_format=lambda v: f"{v:.2f}"),
    ]
    return _page(title, parts)


def write_html(content: str, path: str | Path) -> Path:
    """Write a report; the file is complete on its own (open it in any browser, offline)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def _page(title: str, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
