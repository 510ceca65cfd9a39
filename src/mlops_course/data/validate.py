"""Checks that a batch of trips is fit to train on, and a report a person can read.

Bad data is the most common way a model degrades without anyone changing code. A batch that fails
validation is quarantined together with its report, never trained on and never silently dropped,
so the incident can be investigated and the batch replayed once it is fixed upstream.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

from mlops_course.schema import SCHEMA, ColumnRule, Kind

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one column (or on the whole batch)."""

    check: str
    column: str
    passed: bool
    severity: Severity
    detail: str


@dataclass
class ValidationReport:
    """All check results of one batch; ``ok`` is False when any error-level check failed."""

    batch: str
    n_rows: int
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and r.severity == "warning"]

    def to_frame(self) -> pd.DataFrame:
        """One row per check, failures first, for notebooks and tests."""
        frame = pd.DataFrame([asdict(r) for r in self.results])
        if frame.empty:
            return frame
        return frame.sort_values(["passed", "severity"], kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict:
        return {
            "batch": self.batch,
            "n_rows": self.n_rows,
            "ok": self.ok,
            "results": [asdict(r) for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary(self) -> str:
        """A few lines that say whether the batch passed and, if not, exactly why."""
        verdict = "PASSED" if self.ok else "FAILED"
        lines = [
            f"batch {self.batch}: {verdict} ({self.n_rows} rows, {len(self.results)} checks, "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings)"
        ]
        lines += [f"  ERROR   {r.column}: {r.check}: {r.detail}" for r in self.errors]
        lines += [f"  WARNING {r.column}: {r.check}: {r.detail}" for r in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        failed = self.to_frame()
        failed = failed[~failed["passed"]] if not failed.empty else failed
        table = failed.to_html(index=False) if not failed.empty else "<p>All checks passed.</p>"
        return f"<pre>{self.summary()}</pre>{table}"


def _kind_ok(series: pd.Series, kind: Kind) -> bool:
    if kind == "int":
        if pd.api.types.is_integer_dtype(series):
            return True
        # A CSV round trip turns an integer column with gaps into floats; whole numbers with
        # gaps are still counts, and the null check then reports the gaps for what they are.
        if pd.api.types.is_float_dtype(series):
            present = series.dropna()
            return bool((present == present.round()).all())
        return False
    if kind == "float":
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if kind == "datetime":
        return pd.api.types.is_datetime64_any_dtype(series)
    return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)


def _examples(values: pd.Series, limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in values.head(limit).tolist())
    return shown + (", ..." if len(values) > limit else "")


def _check_column(name: str, series: pd.Series, rule: ColumnRule) -> list[CheckResult]:
    results: list[CheckResult] = []
    if not _kind_ok(series, rule.kind):
        detail = f"expected {rule.kind} values, got dtype {series.dtype}"
        return [CheckResult("type", name, False, "error", detail)]
    results.append(CheckResult("type", name, True, "error", f"{rule.kind} ({series.dtype})"))

    null_rate = float(series.isna().mean()) if len(series) else 0.0
    passed = null_rate <= rule.max_null_rate
    detail = f"{null_rate:.1%} null (at most {rule.max_null_rate:.0%} allowed)"
    results.append(CheckResult("nulls", name, passed, "error", detail))

    present = series.dropna()
    if rule.min is not None or rule.max is not None:
        low = -float("inf") if rule.min is None else rule.min
        high = float("inf") if rule.max is None else rule.max
        outside = present[(present < low) | (present > high)]
        detail = f"{len(outside)} of {len(present)} values outside [{low:g}, {high:g}]"
        if len(outside):
            detail += f", e.g. {_examples(outside)}"
        results.append(CheckResult("range", name, outside.empty, "error", detail))
    if rule.allowed is not None:
        unknown = present[~present.isin(rule.allowed)]
        detail = f"{len(unknown)} values not in the known categories"
        if len(unknown):
            detail += f": {_examples(pd.Series(sorted(set(unknown))))}"
        results.append(CheckResult("categories", name, unknown.empty, "warning", detail))
    if rule.unique:
        dupes = present[present.duplicated()]
        detail = f"{len(dupes)} duplicated values"
        results.append(CheckResult("unique", name, dupes.empty, "error", detail))
    return results


def validate(
    frame: pd.DataFrame, batch: str = "batch", schema: dict[str, ColumnRule] | None = None
) -> ValidationReport:
    """Check a batch against ``schema`` (default: the trip schema) and return the full report.

    Parameters
    ----------
    frame
        The batch of trips to check.
    batch
        The batch's name in the report, e.g. its file stem.
    schema
        Each expected column and its :class:`~mlops_course.schema.ColumnRule`; None means the
        trip schema, :data:`~mlops_course.schema.SCHEMA`.
    """
    schema = SCHEMA if schema is None else schema
    report = ValidationReport(batch=batch, n_rows=len(frame))
    report.results.append(
        CheckResult("not empty", "*", len(frame) > 0, "error", f"{len(frame)} rows")
    )
    missing = [c for c in schema if c not in frame.columns]
    detail = f"missing: {', '.join(missing)}" if missing else "all expected columns present"
    report.results.append(CheckResult("columns", "*", not missing, "error", detail))
    extra = [c for c in frame.columns if c not in schema]
    detail = f"unexpected: {', '.join(map(str, extra))}" if extra else "no unexpected columns"
    report.results.append(CheckResult("extra columns", "*", not extra, "warning", detail))
    for name, rule in schema.items():
        if name in frame.columns:
            report.results.extend(_check_column(name, frame[name], rule))
    return report
