import pandas as pd
import pytest

from src.data.generate import generate
from src.data.schema import FEATURES, TARGET
from src.data.validate import ValidationError, invalid_rows, validate


def test_generated_data_is_deterministic_and_valid(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, generate(n_rows=600, seed=0))
    assert list(frame.columns) == [*FEATURES, TARGET]
    assert not invalid_rows(frame).any()


def test_validation_drops_invalid_rows(frame: pd.DataFrame) -> None:
    broken = frame.copy()
    broken.loc[0, "hour"] = 25
    broken.loc[1, "zone"] = "moon"
    clean, report = validate(broken, max_invalid_fraction=0.05)
    assert report["invalid_rows"] == 2
    assert len(clean) == len(frame) - 2


def test_validation_rejects_a_broken_batch(frame: pd.DataFrame) -> None:
    broken = frame.assign(distance_km=-1.0)
    with pytest.raises(ValidationError, match="rows are invalid"):
        validate(broken, max_invalid_fraction=0.05)
    with pytest.raises(ValidationError, match="lacks the columns"):
        validate(frame.drop(columns=["zone"]), max_invalid_fraction=0.05)
