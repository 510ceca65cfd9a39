"""The model API's settings: where the admin token may come from, and what a bad one says."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mlops_course.serving.settings import ServingSettings


@pytest.fixture(autouse=True)
def _no_token_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_API_TOKEN", raising=False)
    monkeypatch.delenv("MLOPS_API_TOKEN_FILE", raising=False)


def test_the_token_is_read_from_a_mounted_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "mlops-api-token"
    secret.write_text("s3cret\n")  # editors and `echo` add a newline; it is not part of it
    monkeypatch.setenv("MLOPS_API_TOKEN_FILE", str(secret))
    token = ServingSettings().api_token
    assert token is not None and token.get_secret_value() == "s3cret"


def test_no_file_and_no_variable_means_no_token() -> None:
    assert ServingSettings().api_token is None


@pytest.mark.parametrize(
    ("content", "variable", "message"),
    [
        (None, None, "cannot be read"),
        ("  \n", None, "is empty"),
        ("s3cret", "other", "not both"),
    ],
)
def test_a_bad_token_file_is_refused_with_the_reason(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    variable: str | None,
    message: str,
) -> None:
    secret = tmp_path / "mlops-api-token"
    if content is not None:
        secret.write_text(content)
    if variable is not None:
        monkeypatch.setenv("MLOPS_API_TOKEN", variable)
    monkeypatch.setenv("MLOPS_API_TOKEN_FILE", str(secret))
    with pytest.raises(ValidationError, match=message):
        ServingSettings()
