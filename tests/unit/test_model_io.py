"""Model files are written and read in one module, with the narrowest allow-list that works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import skops.io

from mlops_course.data.simulate import simulate_days
from mlops_course.features import split_xy
from mlops_course.model_io import SKOPS_TRUSTED_TYPES, load_file, save_file, trusted_types
from mlops_course.train import build_model

SRC = Path(__file__).resolve().parents[2] / "src" / "mlops_course"


def test_a_saved_file_loads_with_its_kinds_types_and_not_with_fewer(tmp_path: Path) -> None:
    x, y = split_xy(simulate_days(range(2), n=200))
    model = build_model("random_forest", seed=1, n_estimators=3, max_depth=3).fit(x, y)
    path = save_file(model, tmp_path / "models" / "model.skops")
    assert (load_file(path, "random_forest").predict(x) == model.predict(x)).all()
    assert (load_file(path).predict(x) == model.predict(x)).all()
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException, match="Tree"):
        load_file(path, "ridge")  # a ridge model never holds trees: refused, not loaded


def test_the_union_is_exactly_the_kinds_types() -> None:
    union = trusted_types()
    assert union == sorted(set(union))
    assert set(union) == {t for kind in SKOPS_TRUSTED_TYPES for t in trusted_types(kind)}


def test_an_unknown_kind_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown model kind 'xgboost'.*hgb, ridge"):
        trusted_types("xgboost")


def test_no_other_module_saves_logs_or_loads_a_model() -> None:
    """The security-relevant calls have one home: a second one would need its own allow-list."""
    calls = re.compile(r"skops\.io\.(load|loads|dump)\b|mlflow\.sklearn\.(load_model|log_model)\b")
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "model_io.py" and calls.search(path.read_text())
    ]
    assert not offenders, offenders
