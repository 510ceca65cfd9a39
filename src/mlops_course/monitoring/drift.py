"""Has the data moved? Per-column drift tests against the training reference, and one decision.

A model is only as good as the resemblance between what it is served and what it learned from.
Each monitored column (the inputs and the model's own predictions) is compared with the training
reference by a statistical test chosen for its kind and for the sample size, and the share of
drifted columns gives the dataset-level decision that an alert can act on.

Defaults, and why (they follow Evidently's widely used presets, so numbers are comparable):

- **Small samples** (either side has at most ``small_sample_rows`` = 1,000 rows): numerical
  columns use the two-sample **Kolmogorov-Smirnov** test and categorical ones the **chi-squared**
  test of homogeneity; a column drifts when the p-value is below ``alpha`` = 0.01. With few rows a
  p-value is what separates a real change from sampling noise. The course monitors ~8 columns a
  day: at the textbook 0.05 some column would alarm by chance about every third day, at 0.01
  about once a fortnight, and the dataset decision (below) needs two columns at once.
- **Large samples**: p-values become useless because every tiny, irrelevant shift is
  "significant" with 100,000 rows. Numerical columns then use the **Wasserstein distance
  normalized by the reference's standard deviation** (how far, in reference standard deviations,
  the mass had to move) and categorical ones the **Jensen-Shannon distance** (base 2, in [0, 1]);
  a column drifts when the distance reaches 0.1: a tenth of a standard deviation, or a tenth of
  the largest possible change of the category mix.
- **PSI** (population stability index, on deciles of the reference) is available per column,
  ``methods={"distance_km": "psi"}``; it drifts at 0.1, where the credit-scoring rule of thumb
  (below 0.1 stable, 0.1-0.25 watch, above 0.25 act) starts watching. Measured on the simulator,
  a day without drift stays below 0.04 and the new district moves distances by 0.13 to 0.18:
  the customary 0.25 would miss it.
- **Dataset decision**: drifted when at least ``drift_share`` = 0.25 of the monitored columns
  drifted. Evidently's 0.5 would miss a new district, which moves two inputs and the prediction
  out of eight columns; one column alone is too often noise to page a person.

Missing values are left out of the drift tests (the present values are compared): a burst of
nulls need not move the distribution of the values that remain, so the data-quality monitor
(:mod:`mlops_course.monitoring.quality`) watches them instead.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from mlops_course.schema import PREDICTION

Method = Literal["auto", "ks", "wasserstein", "psi", "chi2", "jensenshannon"]
Kind = Literal["numerical", "categorical"]

SMALL_SAMPLE_ROWS = 1_000
ALPHA = 0.01
DISTANCE_THRESHOLD = 0.1
PSI_THRESHOLD = 0.1
PSI_BINS = 10
DRIFT_SHARE = 0.25

#: The default threshold of each method; p-value methods drift *below* it, distances at or above.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": ALPHA,
    "chi2": ALPHA,
    "wasserstein": DISTANCE_THRESHOLD,
    "jensenshannon": DISTANCE_THRESHOLD,
    "psi": PSI_THRESHOLD,
}
P_VALUE_METHODS = frozenset({"ks", "chi2"})
NUMERICAL_METHODS = frozenset({"ks", "wasserstein", "psi"})
CATEGORICAL_METHODS = frozenset({"chi2", "jensenshannon"})
COLUMNS = [
    "feature",
    "role",
    "kind",
    "method",
    "statistic",
    "p_value",
    "threshold",
    "severity",
    "drifted",
    "n_reference",
    "n_current",
]


@dataclass(frozen=True)
class FeatureDrift:
    """The outcome of one column's test.

    ``severity`` puts every method on one scale: 1.0 at the threshold, above 1 drifted. For
    distances it is ``statistic / threshold``; for p-value tests ``log(p) / log(alpha)``, so a
    p-value a hundred times smaller than alpha = 0.01 scores 2.
    """

    feature: str
    kind: Kind
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int

    @property
    def severity(self) -> float:
        if self.method in P_VALUE_METHODS:
            # p_value is None only for the distance methods, never in this branch
            p_value = max(float(self.p_value), 1e-300)  # type: ignore[arg-type]
            return float(np.log(p_value) / np.log(self.threshold))
        return float(self.statistic / self.threshold)


@dataclass(repr=False)
class DriftReport:
    """Every column's result and the dataset-level decision, for people, tests and dashboards."""

    features: list[FeatureDrift]
    drift_share: float = DRIFT_SHARE

    @property
    def frame(self) -> pd.DataFrame:
        """One tidy row per column, drifted columns first, then the most severe."""
        rows = [
            {
                "feature": f.feature,
                "role": "prediction" if f.feature == PREDICTION else "feature",
                "kind": f.kind,
                "method": f.method,
                "statistic": f.statistic,
                "p_value": np.nan if f.p_value is None else f.p_value,
                "threshold": f.threshold,
                "severity": f.severity,
                "drifted": f.drifted,
                "n_reference": f.n_reference,
                "n_current": f.n_current,
            }
            for f in self.features
        ]
        frame = pd.DataFrame(rows, columns=COLUMNS)
        return frame.sort_values(
            ["drifted", "severity"], ascending=False, kind="stable"
        ).reset_index(drop=True)

    @property
    def share_drifted(self) -> float:
        """Share of the monitored columns that drifted."""
        return sum(f.drifted for f in self.features) / len(self.features)

    @property
    def drifted(self) -> bool:
        """The dataset-level decision: at least ``drift_share`` of the columns drifted."""
        return self.share_drifted >= self.drift_share

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def summary(self) -> str:
        verdict = "DRIFT" if self.drifted else "no drift"
        drifted = ", ".join(self.drifted_features) or "none"
        return (
            f"{verdict}: {sum(f.drifted for f in self.features)} of {len(self.features)} columns "
            f"drifted ({self.share_drifted:.0%}, decision at {self.drift_share:.0%}): {drifted}"
        )

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<DriftReport {self.summary()}>"

    def _repr_html_(self) -> str:
        table = self.frame.to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return f"<p><b>{html.escape(self.summary())}</b></p>{table}"


def psi(reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray) -> float:
    """Population stability index of ``current`` against ``reference``, on reference deciles.

    ``sum((c - r) * ln(c / r))`` over bins, with bins cut at the reference's quantiles so that each
    holds about a tenth of the reference (a discrete column gets fewer, merged bins). Empty bins
    get a share of 1e-4 instead of 0, or a single unseen value would make the index infinite. No
    library ships it, hence the dozen lines here.

    Parameters
    ----------
    reference, current
        The values of one numeric column in the reference and in the current data; neither may
        be empty.
    """
    ref = np.asarray(reference, dtype="float64")
    cur = np.asarray(current, dtype="float64")
    if ref.size == 0 or cur.size == 0:
        raise ValueError("psi needs values on both sides; got an empty reference or current")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
    ref_share = np.clip(ref_share / ref.size, 1e-4, None)
    cur_share = np.clip(cur_share / cur.size, 1e-4, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def normalized_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Wasserstein distance in units of the reference's standard deviation.

    Dividing by the spread makes one threshold fit every column, whether it counts kilometres or
    passengers. A constant reference column (standard deviation 0) falls back to the raw distance.
    """
    spread = float(np.std(reference))
    raw = float(stats.wasserstein_distance(reference, current))
    return raw / spread if spread > 0 else raw


def _category_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category on both sides, over the union, so unseen categories count too."""
    ref_counts = reference.astype(str).value_counts()
    cur_counts = current.astype(str).value_counts()
    categories = ref_counts.index.union(cur_counts.index)
    return (
        ref_counts.reindex(categories, fill_value=0).to_numpy(),
        cur_counts.reindex(categories, fill_value=0).to_numpy(),
    )


def column_kind(series: pd.Series) -> Kind:
    """Numbers are numerical; strings, categories and booleans are categorical."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "categorical"
    return "numerical"


def choose_method(kind: Kind, n_reference: int, n_current: int) -> str:
    """The default test for a column: p-values for small samples, distances for large ones."""
    small = min(n_reference, n_current) <= SMALL_SAMPLE_ROWS
    if kind == "numerical":
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensenshannon"


def column_drift(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    method: Method = "auto",
    threshold: float | None = None,
) -> FeatureDrift:
    """Compare one column of the current data with the reference; nulls are left out."""
    kind = column_kind(reference)
    ref, cur = reference.dropna(), current.dropna()
    if ref.empty or cur.empty:
        side = "reference" if ref.empty else "current"
        raise ValueError(
            f"column {name!r} has no non-missing values in the {side} data, so its drift cannot "
            "be tested; leave it out of `features` and watch it with the data-quality monitor"
        )
    chosen = choose_method(kind, len(ref), len(cur)) if method == "auto" else method
    allowed = NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS
    if chosen not in allowed:
        raise ValueError(
            f"method {chosen!r} does not fit the {kind} column {name!r}; use one of "
            f"{sorted(allowed)} or 'auto'"
        )
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else float(threshold)
    if chosen in P_VALUE_METHODS and not 0 < limit < 1:
        raise ValueError(
            f"the {chosen} threshold of {name!r} is a significance level in (0, 1), got {limit}"
        )
    if limit <= 0:
        raise ValueError(f"the {chosen} threshold of {name!r} must be positive, got {limit}")
    p_value: float | None = None
    if kind == "numerical":
        ref_values = ref.to_numpy(dtype="float64")
        cur_values = cur.to_numpy(dtype="float64")
        if chosen == "ks":
            result = stats.ks_2samp(ref_values, cur_values)
            statistic, p_value = float(result.statistic), float(result.pvalue)
        elif chosen == "wasserstein":
            statistic = normalized_wasserstein(ref_values, cur_values)
        else:
            statistic = psi(ref_values, cur_values)
    else:
        ref_counts, cur_counts = _category_counts(ref, cur)
        if chosen == "chi2":
            if len(ref_counts) < 2:  # one category on both sides: nothing can have moved
                statistic, p_value = 0.0, 1.0
            else:
                result = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
                statistic, p_value = float(result.statistic), float(result.pvalue)
        else:
            statistic = float(
                distance.jensenshannon(
                    ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum(), base=2
                )
            )
    drifted = p_value < limit if p_value is not None else statistic >= limit
    return FeatureDrift(
        name, kind, chosen, statistic, p_value, limit, bool(drifted), len(ref), len(cur)
    )


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: Mapping[str, float] | None = None,
    *,
    features: Sequence[str] | None = None,
    methods: Mapping[str, Method] | None = None,
    drift_share: float = DRIFT_SHARE,
) -> DriftReport:
    """Test every monitored column of ``current`` against ``reference``.

    Parameters
    ----------
    reference
        The training reference, e.g. of :func:`~mlops_course.monitoring.reference.load_reference`.
    current
        The data to test, e.g. a day's served inputs with their predictions.
    thresholds, methods
        ``thresholds`` and ``methods`` set a column's threshold or test by name (e.g. a column
        known to be noisy gets a looser threshold); all others get the defaults described in
        this module's docstring (method ``"auto"``: chosen by the column's kind and the sample
        size). Every name must be a monitored column; None gives every column the defaults.
    features
        The columns to monitor; ``features`` defaults to the columns both frames share.
    drift_share
        The dataset-level decision: drifted when at least this share of the monitored columns
        drifted, in (0, 1].
    """
    thresholds = dict(thresholds or {})
    methods = dict(methods or {})
    if features is None:
        features = [c for c in reference.columns if c in current.columns]
    missing = {
        side: [c for c in features if c not in frame.columns]
        for side, frame in [("reference", reference), ("current", current)]
    }
    if missing["reference"] or missing["current"]:
        raise KeyError(
            f"columns to monitor are missing: {missing}; pass `features` with the columns both "
            "frames share"
        )
    unknown = sorted((set(thresholds) | set(methods)) - set(features))
    if unknown:
        raise KeyError(f"thresholds or methods name unmonitored columns {unknown}")
    if not features:
        raise ValueError("no columns to monitor: the two frames share no column")
    if not 0 < drift_share <= 1:
        raise ValueError(f"drift_share is a share of columns in (0, 1], got {drift_share}")
    results = [
        column_drift(
            name,
            reference[name],
            current[name],
            methods.get(name, "auto"),
            thresholds.get(name),
        )
        for name in features
    ]
    return DriftReport(results, drift_share=drift_share)
