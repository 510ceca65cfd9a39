"""A preview of the provisioned Grafana dashboards: every panel's query, run against Prometheus.

Grafana's image cannot be pulled everywhere the course runs (no image registry offline, none in
CI), yet a dashboard whose query returns nothing fails silently: the learner sees "No data" and
cannot tell a quiet service from a typo in a metric name. This module does the part of Grafana
that decides what a panel shows: it reads the dashboard JSON (``docker/grafana/dashboards/``),
replaces Grafana's variables the way Grafana does, sends each target's PromQL to Prometheus'
``/api/v1/query_range`` over a time window, and names every panel that got an error, no series
or no finite value. :func:`render_dashboard` draws the result as one picture, laid out on the
dashboard's own grid, for the book.

What is *not* Grafana here: the drawing (matplotlib: time series as lines, stat panels as their
reduced value in big text, heatmaps as a coloured grid), unit formatting (the common units only)
and the step, which Grafana rounds to "nice" intervals and this preview to whole seconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

GRID_COLUMNS = 24
"""Grafana's dashboard grid is 24 columns wide; a ``gridPos`` unit of height is 30 px."""

DEFAULT_SCRAPE_INTERVAL = 15.0
"""Grafana's default "scrape interval" of a Prometheus datasource without ``timeInterval``."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")
_LEGEND_LABEL = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


class DashboardQueryError(RuntimeError):
    """At least one panel's query failed or returned nothing; the message names each one."""


@dataclass(frozen=True)
class Target:
    """One query of a panel: its ``refId``, PromQL as written, legend and format."""

    ref_id: str
    expr: str
    legend: str = ""
    format: str = "time_series"


@dataclass(frozen=True)
class Panel:
    """What the preview needs of a panel: title, type, place on the grid, unit and queries."""

    title: str
    type: str
    grid: tuple[int, int, int, int]  # x, y, w, h in grid units
    targets: tuple[Target, ...]
    unit: str = ""
    calcs: tuple[str, ...] = ("lastNotNull",)
    text_mode: str = "auto"  # stat panels: value, name, value_and_name or auto
    color_mode: str = "value"  # stat panels: "background" colours the panel by threshold
    mappings: Mapping[str, str] = field(default_factory=dict)  # value mappings: "1" -> "yes"
    thresholds: tuple[tuple[float, str], ...] = ()  # (from value, colour), ascending


@dataclass(frozen=True)
class Series:
    """One series a query returned: its legend, labels, unix times and values (NaN allowed)."""

    legend: str
    labels: Mapping[str, str]
    times: np.ndarray
    values: np.ndarray


@dataclass
class TargetResult:
    """A target's query as sent (variables replaced), the series back, or Prometheus' error."""

    panel: Panel
    target: Target
    query: str
    series: list[Series] = field(default_factory=list)
    error: str | None = None

    @property
    def problem(self) -> str | None:
        """Why this target would show "No data" in Grafana, or None when it shows a value."""
        if self.error is not None:
            return f"error: {self.error}"
        if not self.series:
            return "returned no series"
        if not any(np.isfinite(s.values).any() for s in self.series):
            return f"{len(self.series)} series, but not one finite value"
        return None

    def describe(self) -> str:
        """Panel title, refId, the query and the problem: what a reader needs to fix it."""
        return f"panel {self.panel.title!r} ({self.target.ref_id}): {self.query}\n  {self.problem}"


@dataclass
class DashboardResult:
    """Every target of a dashboard, run over ``[start, end]`` with ``step`` seconds."""

    title: str
    start: float
    end: float
    step: float
    variables: Mapping[str, str]
    results: list[TargetResult]

    def problems(self) -> list[str]:
        """One description per target that errored, returned no series or no finite value."""
        return [result.describe() for result in self.results if result.problem is not None]

    def raise_for_problems(self) -> None:
        """Raise :class:`DashboardQueryError` naming every broken panel; return if none is."""
        problems = self.problems()
        if problems:
            raise DashboardQueryError(
                f"{len(problems)} quer{'y' if len(problems) == 1 else 'ies'} of dashboard "
                f"{self.title!r} would show no data:\n" + "\n".join(problems)
            )

    def panel_results(self) -> list[tuple[Panel, list[TargetResult]]]:
        """The results grouped by panel, in the dashboard's order."""
        grouped: dict[int, tuple[Panel, list[TargetResult]]] = {}
        for result in self.results:
            grouped.setdefault(id(result.panel), (result.panel, []))[1].append(result)
        return list(grouped.values())


def load_dashboard(path: Path | str) -> dict[str, Any]:
    """A dashboard as Grafana's file provider reads it: one JSON object per file.

    Parameters
    ----------
    path
        A dashboard JSON file, e.g. ``docker/grafana/dashboards/api.json``.
    """
    dashboard = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(dashboard, dict) or "panels" not in dashboard:
        raise ValueError(f"{path} is not a Grafana dashboard: no top-level 'panels'")
    return dashboard


def _panel(raw: Mapping[str, Any]) -> Panel:
    grid = raw.get("gridPos", {})
    defaults = raw.get("fieldConfig", {}).get("defaults", {})
    options = raw.get("options", {})
    mappings = {
        str(value): str(shown.get("text", value))
        for mapping in defaults.get("mappings", [])
        if mapping.get("type") == "value"
        for value, shown in mapping.get("options", {}).items()
    }
    steps = defaults.get("thresholds", {}).get("steps", [])
    thresholds = tuple(
        (-math.inf if step.get("value") is None else float(step["value"]), step["color"])
        for step in steps
    )
    targets = tuple(
        Target(
            ref_id=target.get("refId", ""),
            expr=target["expr"],
            legend=target.get("legendFormat", ""),
            format=target.get("format", "time_series"),
        )
        for target in raw.get("targets", [])
        if "expr" in target
    )
    return Panel(
        title=raw.get("title") or f"panel {raw.get('id')}",
        type=raw.get("type", "timeseries"),
        grid=(grid.get("x", 0), grid.get("y", 0), grid.get("w", 12), grid.get("h", 8)),
        targets=targets,
        unit=defaults.get("unit", "") or options.get("yAxis", {}).get("unit", ""),
        calcs=tuple(options.get("reduceOptions", {}).get("calcs") or ("lastNotNull",)),
        text_mode=options.get("textMode", "auto"),
        color_mode=options.get("colorMode", "value"),
        mappings=mappings,
        thresholds=thresholds,
    )


def dashboard_panels(dashboard: Mapping[str, Any]) -> list[Panel]:
    """The dashboard's panels with queries, those folded into rows included; rows themselves not.

    Parameters
    ----------
    dashboard
        A dashboard as :func:`load_dashboard` returns it.
    """
    found = []
    for raw in dashboard.get("panels", []):
        for panel in [raw, *raw.get("panels", [])]:
            if panel.get("type") != "row":
                found.append(_panel(panel))
    return found


def _seconds(text: str) -> float:
    """A Prometheus/Grafana duration (``5s``, ``1m30s``, ``250ms``) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"


def grafana_variables(
    start: float,
    end: float,
    *,
    scrape_interval: float = DEFAULT_SCRAPE_INTERVAL,
    max_points: int = 300,
    dashboard: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The values Grafana gives its variables for a query over ``[start, end]``.

    - ``$__interval`` (the query's step): Grafana divides the time range by the panel's maximum
      data points (its width in pixels) and never goes below the datasource's scrape interval
      (``jsonData.timeInterval``); here ``max(scrape_interval, (end - start) / max_points)``, in
      whole seconds (Grafana rounds to "nice" steps such as 15 s, 30 s, 1 min).
    - ``$__interval_ms``: the same in milliseconds.
    - ``$__rate_interval``: ``max($__interval + scrape_interval, 4 * scrape_interval)``, Grafana's
      rule, so that every ``rate()`` window holds at least four scrapes.
    - ``$__range``, ``$__range_s``, ``$__range_ms``: ``end - start``.
    - Variables of the dashboard's ``templating`` list (custom, constant, textbox, interval):
      their ``current`` value, as Grafana uses it before anyone picks another.

    Parameters
    ----------
    start, end
        The time range, in unix seconds.
    scrape_interval
        The datasource's scrape interval in seconds (the API's job in the compose stack uses 5;
        Grafana's default is 15).
    max_points
        The maximum number of data points of a panel.
    dashboard
        The dashboard whose template variables are added; None adds none.
    """
    step = max(scrape_interval, round((end - start) / max_points), 1.0)
    rate_interval = max(step + scrape_interval, 4 * scrape_interval)
    variables = {
        "__interval": _duration(step),
        "__interval_ms": str(round(step * 1000)),
        "__rate_interval": _duration(rate_interval),
        "__range": _duration(end - start),
        "__range_s": str(round(end - start)),
        "__range_ms": str(round((end - start) * 1000)),
    }
    for variable in (dashboard or {}).get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value", variable.get("query"))
        if variable.get("type") in {"custom", "constant", "textbox", "interval"} and current:
            variables[variable["name"]] = current[0] if isinstance(current, list) else current
    return variables


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """``expr`` with every ``$name``, ``${name}``, ``${name:format}`` and ``[[name]]`` replaced.

    A variable the preview does not know (a ``query`` variable, say, whose values Grafana asks
    the datasource for) raises ``KeyError`` naming it, rather than sending ``$name`` to
    Prometheus and reporting a confusing parse error.

    Parameters
    ----------
    expr
        A panel target's PromQL as written in the dashboard.
    variables
        Variable names (without ``$``) and their values, e.g. from :func:`grafana_variables`.
    """

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in variables:
            raise KeyError(f"Grafana variable ${name} has no value in the preview")
        return variables[name]

    return _VARIABLE.sub(replace, expr)


def legend(template: str, labels: Mapping[str, str]) -> str:
    """A series' name as Grafana writes it: ``{{label}}`` replaced, or the whole label set.

    Parameters
    ----------
    template
        The target's ``legendFormat``; empty or ``__auto`` means the metric and its labels.
    labels
        The series' labels.
    """
    if template and template != "__auto":
        return _LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), template)
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest else name or "{}"


def query_range(
    client: httpx.Client, query: str, start: float, end: float, step: float
) -> list[dict[str, Any]]:
    """The matrix Prometheus' ``/api/v1/query_range`` returns for ``query``.

    Raises ``RuntimeError`` with Prometheus' own ``errorType`` and ``error`` (a parse error says
    where the query broke), or with the HTTP status when the answer is not Prometheus JSON.

    Parameters
    ----------
    client
        An ``httpx.Client`` whose ``base_url`` is the Prometheus server.
    query
        PromQL with Grafana's variables already replaced (:func:`substitute`).
    start, end
        The range, in unix seconds.
    step
        Seconds between two points of the result.
    """
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    response = client.post("/api/v1/query_range", data=params)  # Grafana's default method
    try:
        body = response.json()
    except ValueError:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}") from None
    if body.get("status") != "success":
        raise RuntimeError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _series(raw: list[dict[str, Any]], target: Target) -> list[Series]:
    found = []
    for item in raw:
        pairs = item.get("values", [])
        times = np.array([float(t) for t, _ in pairs])
        values = np.array([float(v) for _, v in pairs])  # "NaN" and "+Inf" parse as floats
        labels = item.get("metric", {})
        found.append(Series(legend(target.legend, labels), labels, times, values))
    return found


def run_dashboard(
    dashboard: Mapping[str, Any],
    prometheus_url: str,
    start: float,
    end: float,
    *,
    scrape_interval: float = DEFAULT_SCRAPE_INTERVAL,
    max_points: int = 300,
) -> DashboardResult:
    """Run every target of every panel over ``[start, end]``, as Grafana would on load.

    Nothing raises for a broken panel: each target's error, or its emptiness, is kept in its
    :class:`TargetResult` so that one report (:meth:`DashboardResult.problems`) names them all.

    Parameters
    ----------
    dashboard
        A dashboard as :func:`load_dashboard` returns it.
    prometheus_url
        The Prometheus server, e.g. ``Service.url`` of ``services.start_prometheus``.
    start, end
        The time range, in unix seconds; Grafana aligns it to the step, and so does this.
    scrape_interval
        The datasource's scrape interval in seconds: the lower bound of the step and the base of
        ``$__rate_interval`` (see :func:`grafana_variables`).
    max_points
        The maximum number of points per series.
    """
    variables = grafana_variables(
        start, end, scrape_interval=scrape_interval, max_points=max_points, dashboard=dashboard
    )
    step = _seconds(variables["__interval"])
    start, end = math.floor(start / step) * step, math.floor(end / step) * step
    results = []
    with httpx.Client(base_url=prometheus_url, timeout=30, trust_env=False) as client:
        for panel in dashboard_panels(dashboard):
            if not panel.targets:
                nothing = TargetResult(panel, Target("-", ""), "", error="the panel has no query")
                results.append(nothing)
            for target in panel.targets:
                result = TargetResult(panel, target, target.expr)
                try:
                    result.query = substitute(target.expr, variables)
                    raw = query_range(client, result.query, start, end, step)
                    result.series = _series(raw, target)
                except (KeyError, RuntimeError, httpx.HTTPError) as error:
                    result.error = str(error).strip("'\"")
                results.append(result)
    return DashboardResult(dashboard.get("title", "?"), start, end, step, variables, results)


def format_value(value: float, unit: str = "") -> str:
    """``value`` in a panel's unit, the way Grafana writes the common ones.

    Parameters
    ----------
    value
        The number to write.
    unit
        The panel's unit id: ``percentunit`` (0.05 is 5%), ``percent``, ``s``, ``ms``, ``m``
        (minutes), ``reqps``; anything else is written as a plain number.
    """
    if not math.isfinite(value):
        return str(value)
    if unit == "percentunit":
        return f"{value * 100:.3g}%"
    if unit == "percent":
        return f"{value:.3g}%"
    if unit in {"s", "ms", "m"}:
        seconds = value * {"s": 1, "ms": 0.001, "m": 60}[unit]
        for limit, size, name in ((1, 0.001, "ms"), (60, 1, "s"), (3600, 60, "min")):
            if abs(seconds) < limit:
                return f"{seconds / size:.3g} {name}"
        return f"{seconds / 3600:.3g} h" if abs(seconds) < 86400 else f"{seconds / 86400:.3g} day"
    if unit == "reqps":
        return f"{value:.3g} req/s"
    return f"{value:.4g}"


def _reduce(series: Series, calcs: Sequence[str]) -> float:
    """A stat panel's single number: the first of its ``reduceOptions.calcs`` that is known."""
    finite = series.values[np.isfinite(series.values)]
    if not finite.size:
        return math.nan
    reducers = {"lastNotNull": finite[-1], "last": series.values[-1], "mean": finite.mean()}
    reducers |= {"max": finite.max(), "min": finite.min(), "firstNotNull": finite[0]}
    return float(next((reducers[c] for c in calcs if c in reducers), finite[-1]))


def _times(series: Series) -> np.ndarray:
    return (series.times * 1000).astype("datetime64[ms]")


def _draw_problem(ax: Any, results: list[TargetResult]) -> None:
    """Grafana would show "No data" or a red triangle; the preview writes why, in red."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("red")
    lines = [f"{r.target.ref_id}: {r.problem}\n{r.query}" for r in results if r.problem]
    text = "\n".join(lines)
    ax.text(
        0.5,
        0.5,
        text,
        color="red",
        ha="center",
        va="center",
        fontsize=7,
        wrap=True,
        transform=ax.transAxes,
    )


def _draw_stat(ax: Any, panel: Panel, series: list[Series]) -> None:
    """The reduced value of each series in big text; its name too if the panel says so."""
    ax.set_xticks([])
    ax.set_yticks([])
    values = [_reduce(s, panel.calcs) for s in series]
    if panel.color_mode == "background" and panel.thresholds and math.isfinite(values[0]):
        colour = [c for start, c in panel.thresholds if values[0] >= start][-1]
        ax.set_facecolor(colour)
    for index, (one, value) in enumerate(zip(series, values, strict=True)):
        text = panel.mappings.get(f"{value:g}", format_value(value, panel.unit))
        if panel.text_mode == "name":
            text = one.legend
        elif panel.text_mode == "value_and_name" or len(series) > 1:
            text = f"{one.legend}: {text}"
        # As large as fits: the panel's width in grid columns over the length of the text.
        size = min(22, 55 * panel.grid[2] / len(text), 40 * panel.grid[3] / len(series))
        height = (index + 0.5) / len(series)
        ax.text(
            0.5,
            1 - height,
            text,
            ha="center",
            va="center",
            fontsize=size,
            fontweight="bold",
            transform=ax.transAxes,
        )


def _draw_timeseries(ax: Any, panel: Panel, series: list[Series]) -> None:
    """One line per series, the unit on the y axis, clock time (UTC) on the x axis."""
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import FuncFormatter

    for one in series:
        ax.plot(_times(one), one.values, linewidth=1.2, label=one.legend)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, panel.unit)))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", ncol=2 if len(series) > 4 else 1, framealpha=0.6)


def _draw_heatmap(ax: Any, panel: Panel, series: list[Series]) -> None:
    """Cumulative ``le`` buckets turned into counts per bucket, as Grafana's heatmap format does."""
    from matplotlib.dates import DateFormatter

    ordered = sorted(series, key=lambda s: float(s.labels.get("le", "+Inf")))
    cumulative = np.nan_to_num(np.vstack([s.values for s in ordered]))
    counts = np.diff(cumulative, axis=0, prepend=0.0)
    times = _times(ordered[0])
    ax.pcolormesh(times, np.arange(len(ordered)), counts, cmap="Oranges", shading="nearest")
    ax.set_yticks(range(len(ordered)), [s.legend for s in ordered], fontsize=6)
    ax.set_ylabel(f"bucket upper bound ({panel.unit or 'le'})", fontsize=7)
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
    ax.tick_params(labelsize=7)


def _draw_panel(
    ax: Any, panel: Panel, results: list[TargetResult], window: tuple[float, float]
) -> None:
    """One panel by its type; its problems in red, whether some of its targets drew or none."""
    series = [s for r in results for s in r.series]
    failed = [f"{r.target.ref_id}: {r.problem}" for r in results if r.problem]
    if len(failed) == len(results):
        _draw_problem(ax, results)
        return
    if panel.type in {"stat", "gauge", "singlestat"}:
        _draw_stat(ax, panel, [s for s in series if np.isfinite(s.values).any()])
    else:
        if panel.type == "heatmap" and any(r.target.format == "heatmap" for r in results):
            _draw_heatmap(ax, panel, series)
        else:
            _draw_timeseries(ax, panel, series)
        ax.set_xlim(*(np.datetime64(round(t * 1000), "ms") for t in window))  # as one dashboard
    if failed:  # some targets drew, another did not: say so in the panel
        ax.text(0.01, 0.02, "\n".join(failed), color="red", fontsize=7, transform=ax.transAxes)


def render_dashboard(
    result: DashboardResult, path: Path | str, *, source: str = "", dpi: int = 110
) -> Path:
    """Draw every panel of ``result`` on the dashboard's grid into one PNG; return its path.

    Each panel sits where its ``gridPos`` puts it on Grafana's 24-column grid. Time series are
    lines, stat panels their reduced value in big text, heatmaps a grid of counts per bucket. A
    panel with a failed or empty query is drawn with its problem in red, never as an empty box;
    :meth:`DashboardResult.raise_for_problems` is the check that fails on it.

    Parameters
    ----------
    result
        What :func:`run_dashboard` returned.
    path
        The PNG to write; its folder is created.
    source
        Where the dashboard came from (its file), for the picture's subtitle.
    dpi
        Resolution of the PNG.
    """
    from matplotlib.figure import Figure

    grouped = result.panel_results()
    rows = max((p.grid[1] + p.grid[3] for p, _ in grouped), default=8)
    figure = Figure(figsize=(16, 0.42 * rows + 1.2), dpi=dpi, layout="constrained")
    grid = figure.add_gridspec(rows, GRID_COLUMNS)
    for panel, results in grouped:
        x, y, w, h = panel.grid
        ax = figure.add_subplot(grid[y : y + h, x : x + w])
        ax.set_title(panel.title, fontsize=9, loc="left")
        _draw_panel(ax, panel, results, (result.start, result.end))
    span = [
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
        for t in (result.start, result.end)
    ]
    figure.suptitle(
        f"{result.title}: every panel's query run against Prometheus, {' to '.join(span)} UTC, "
        f"step {result.variables['__interval']}, $__rate_interval = "
        f"{result.variables['__rate_interval']}" + (f"\n{source}" if source else ""),
        fontsize=10,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
