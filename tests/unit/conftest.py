"""Isolation for the unit tests: every test gets fresh settings pointing into its own tmp_path.

``get_settings`` is cached with ``lru_cache``, so a test that changes an ``MLOPS_`` variable would
otherwise see (or leak) the settings of another test. Variables set in the developer's shell are
removed too, so that the defaults the tests rely on are the package's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_course import forkserver
from mlops_course.settings import get_settings


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.upper().startswith("MLOPS_") and key != forkserver.ENV:  # make test's, not theirs
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLOPS_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
