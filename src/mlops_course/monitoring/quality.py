"""Is the served data still well-formed? Null shares, out-of-range shares and new categories.

Drift tests compare the *present* values, and a broken upstream release need not move them: the
course's data-quality incident drops a fifth of the passenger counts at random, and the counts
that remain look exactly as before. This monitor measures what drift tests leave out, with the
plausibility rules of :data:`mlops_course.schema.SCHEMA`, so ingestion (stage 1) and
monitoring agree on what "broken" means without repeating the rules.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mlops_course.schema import SCHEMA, ColumnRule

COLUMNS = [
    "feature",
    "rows",
    "null_share",
    "max_null_share",
    "out_of_range_share",
    "new_categories",
    "problem",
]


def _new_categories(series: pd.Series, rule: ColumnRule, known: set[str] | None) -> list[str]:
    if rule.allowed is None and known is None:
        return []
    allowed = set(rule.allowed or ()) | set(known or ())
    return sorted({str(v) for v in series.dropna()} - allowed)


def check_quality(
    frame: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
    schema: Mapping[str, ColumnRule] | None = None,
) -> pd.DataFrame:
    """One tidy row per schema column present in ``frame``: how broken is it?

    A column has a ``problem`` when its null share exceeds the schema's ``max_null_rate`` or any
    value is outside the schema's plausible range. New categories are reported (with the
    categories of ``reference`` counted as known) but are not a problem: a new district is news
    for the drift monitor, not broken data.
    """
    schema = SCHEMA if schema is None else schema
    rows = []
    for name, rule in schema.items():
        if name not in frame.columns or rule.kind not in {"int", "float", "category"}:
            continue
        series = frame[name]
        present = series.dropna()
        null_share = float(series.isna().mean()) if len(series) else 0.0
        out_of_range = 0.0
        if (rule.min is not None or rule.max is not None) and len(present):
            values = present.astype("float64")
            low = -float("inf") if rule.min is None else rule.min
            high = float("inf") if rule.max is None else rule.max
            out_of_range = float(((values < low) | (values > high)).mean())
        known = None
        if reference is not None and name in reference.columns:
            known = {str(v) for v in reference[name].dropna().unique()}
        new = _new_categories(series, rule, known) if rule.kind == "category" else []
        rows.append(
            {
                "feature": name,
                "rows": len(series),
                "null_share": null_share,
                "max_null_share": rule.max_null_rate,
                "out_of_range_share": out_of_range,
                "new_categories": ", ".join(new),
                "problem": null_share > rule.max_null_rate or out_of_range > 0,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
