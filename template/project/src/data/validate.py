"""Validation in front of everything else: a bad batch must never reach training or the model.

Rows that break the schema are dropped and counted; when too many break it, the stage fails, since
then the batch, not a few rows, is broken and a person has to look.
"""

import json
import sys

import pandas as pd

from src.data.schema import CATEGORICAL, FEATURES, NUMERIC_RANGES, TARGET
from src.utils.config import CLEAN_DATA, RAW_DATA, REPORTS, load_params


class ValidationError(Exception):
    """The batch as a whole is unusable (missing columns, or too many invalid rows)."""


def invalid_rows(frame: pd.DataFrame) -> pd.Series:
    """True for each row with a missing value or a value outside the schema."""
    bad = frame[[*FEATURES, TARGET]].isna().any(axis=1)
    for column, (low, high) in NUMERIC_RANGES.items():
        bad |= ~frame[column].between(low, high)
    for column, allowed in CATEGORICAL.items():
        bad |= ~frame[column].isin(allowed)
    return bad


def validate(frame: pd.DataFrame, max_invalid_fraction: float) -> tuple[pd.DataFrame, dict]:
    """The valid rows and a report; raises ValidationError when the batch cannot be trusted."""
    missing = sorted(set([*FEATURES, TARGET]) - set(frame.columns))
    if missing:
        expected = [*FEATURES, TARGET]
        raise ValidationError(f"the batch lacks the columns {missing}; expected {expected}")
    bad = invalid_rows(frame)
    report = {
        "rows": len(frame),
        "invalid_rows": int(bad.sum()),
        "invalid_fraction": float(bad.mean()) if len(frame) else 1.0,
    }
    if report["invalid_fraction"] > max_invalid_fraction:
        raise ValidationError(
            f"{report['invalid_rows']} of {report['rows']} rows are invalid, more than the allowed "
            f"fraction {max_invalid_fraction} (params.yaml: validate.max_invalid_fraction); "
            "inspect the raw data before training on it"
        )
    return frame.loc[~bad].reset_index(drop=True), report


def main() -> None:
    params = load_params()
    try:
        clean, report = validate(pd.read_csv(RAW_DATA), params["validate"]["max_invalid_fraction"])
    except ValidationError as error:
        sys.exit(f"validation failed: {error}")
    CLEAN_DATA.parent.mkdir(parents=True, exist_ok=True)
    clean.to_csv(CLEAN_DATA, index=False)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "validation.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{report['invalid_rows']} invalid rows dropped; wrote {len(clean)} rows to {CLEAN_DATA}")


if __name__ == "__main__":
    main()
