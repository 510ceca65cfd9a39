"""Leakage checks: the evaluation set must be news to the model, and no input may be the answer.

Leakage makes a model look better than it is, and nothing crashes: a trip that is in both the
training and the evaluation set is predicted well because it was memorised; an evaluation day
that comes *before* training days lets the model peek at the future; an input computed from the
target (a "duration bucket", an arrival time) is a perfect predictor that does not exist when the
service is asked. Each check returns a list of problems, empty when the data is sound, so tests,
the CI pipeline and notebooks can print exactly what is wrong.
"""

from __future__ import annotations

import pandas as pd

from mlops_course.schema import FEATURE_COLUMNS, TARGET

MAX_TARGET_CORRELATION = 0.95
"""An input correlated with the duration beyond this is treated as a copy of the answer.

Distance, the strongest honest input, correlates at about 0.86 on the course's data."""


def split_leakage(train: pd.DataFrame, evaluation: pd.DataFrame) -> list[str]:
    """Problems that make ``evaluation`` not independent of ``train``.

    * a trip id in both sets;
    * an identical trip (all features and the target) in both sets;
    * evaluation days that are not strictly later than every training day (time travel).

    Parameters
    ----------
    train, evaluation
        The training and the evaluation set. The trip ids are compared only when both have a
        ``trip_id`` column, and the days only when both have a ``day`` column; identical rows
        are sought over the feature and target columns both hold.
    """
    problems = []
    if "trip_id" in train.columns and "trip_id" in evaluation.columns:
        shared = sorted(set(train["trip_id"]) & set(evaluation["trip_id"]))
        if shared:
            problems.append(
                f"{len(shared)} trip ids are in both sets, e.g. {shared[:3]}: the model is "
                "scored on trips it was trained on"
            )
    columns = [c for c in [*FEATURE_COLUMNS, TARGET] if c in train and c in evaluation]
    duplicated = evaluation[columns].merge(train[columns].drop_duplicates(), on=columns)
    if len(duplicated):
        problems.append(
            f"{len(duplicated)} evaluation rows are identical to training rows (features and "
            "duration): deduplicate before splitting"
        )
    if "day" in train.columns and "day" in evaluation.columns:
        last_train, first_eval = int(train["day"].max()), int(evaluation["day"].min())
        if first_eval <= last_train:
            problems.append(
                f"evaluation starts on day {first_eval} but training runs to day {last_train}: "
                "split by time, evaluating only on days after the training data"
            )
    return problems


def target_leakage(frame: pd.DataFrame, limit: float = MAX_TARGET_CORRELATION) -> list[str]:
    """Numeric inputs so correlated with the target that they must be derived from it.

    Parameters
    ----------
    frame
        Labelled trips; every numeric column except the target and ``day`` is tested.
    limit
        The largest absolute (Pearson) correlation with the target an input may have.
    """
    problems = []
    target = frame[TARGET].astype(float)
    for column in frame.columns:
        if column in {TARGET, "day"} or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        correlation = frame[column].astype(float).corr(target)
        if pd.notna(correlation) and abs(correlation) > limit:
            problems.append(
                f"{column} correlates with {TARGET} at {correlation:.3f} (limit {limit}): it "
                "looks computed from the answer, and will not exist when a trip is predicted"
            )
    return problems
