"""Micro-batching of single predictions: one model call for the trips that arrive together.

A fake pipeline records each call, so the tests see exactly how requests were grouped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from mlops_course.schema import EXAMPLE_TRIP
from mlops_course.serving.batcher import MAX_CALL_ROWS, MicroBatcher
from mlops_course.serving.model_holder import LoadedModel
from mlops_course.serving.schema import Trip


class RecordingPipeline:
    """Predicts ``distance_km * factor`` and remembers how many rows each call had."""

    def __init__(self, factor: float = 1.0, fail: bool = False) -> None:
        self.factor = factor
        self.fail = fail
        self.calls: list[int] = []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(frame))
        if self.fail:
            raise ValueError("the model is broken")
        return frame["distance_km"].to_numpy() * self.factor


def _model(pipeline: RecordingPipeline, version: str = "1") -> LoadedModel:
    return LoadedModel(pipeline, "m", version, "champion", None, None, {})  # type: ignore[arg-type]


def _trip(distance: float) -> Trip:
    return Trip.model_validate({**EXAMPLE_TRIP, "distance_km": distance})


def test_a_lone_request_is_predicted_on_its_own() -> None:
    pipeline = RecordingPipeline()
    rows: list[int] = []
    batcher = MicroBatcher(on_call=rows.append)
    assert asyncio.run(batcher.predict(_model(pipeline), _trip(3.0))) == 3.0
    assert pipeline.calls == [1] and rows == [1]


def test_concurrent_requests_share_one_call_and_each_gets_its_own_value() -> None:
    pipeline = RecordingPipeline(factor=2.0)
    batcher = MicroBatcher()
    model = _model(pipeline)

    async def many() -> list[float]:
        return await asyncio.gather(*(batcher.predict(model, _trip(d)) for d in range(1, 11)))

    assert asyncio.run(many()) == [2.0 * d for d in range(1, 11)]
    assert pipeline.calls == [10]


def test_calls_hold_at_most_max_rows() -> None:
    pipeline = RecordingPipeline()
    batcher = MicroBatcher()
    model = _model(pipeline)

    async def many() -> list[float]:
        return await asyncio.gather(
            *(batcher.predict(model, _trip(1.0)) for _ in range(MAX_CALL_ROWS + 5))
        )

    assert len(asyncio.run(many())) == MAX_CALL_ROWS + 5
    assert pipeline.calls == [MAX_CALL_ROWS, 5]


def test_each_request_is_predicted_by_the_model_it_read() -> None:
    """A reload between two requests of one batch: each keeps its own model version."""
    old, new = RecordingPipeline(factor=1.0), RecordingPipeline(factor=100.0)
    version_1, version_2 = _model(old, "1"), _model(new, "2")
    batcher = MicroBatcher()

    async def mixed() -> list[float]:
        return await asyncio.gather(
            batcher.predict(version_1, _trip(2.0)),
            batcher.predict(version_2, _trip(2.0)),
            batcher.predict(version_1, _trip(3.0)),
        )

    assert asyncio.run(mixed()) == [2.0, 200.0, 3.0]
    assert old.calls == [2] and new.calls == [1]


def test_a_failing_model_fails_every_request_of_its_call() -> None:
    batcher = MicroBatcher()
    model = _model(RecordingPipeline(fail=True))

    async def two() -> list[object]:
        return await asyncio.gather(
            batcher.predict(model, _trip(1.0)),
            batcher.predict(model, _trip(2.0)),
            return_exceptions=True,
        )

    results = asyncio.run(two())
    assert all(isinstance(r, ValueError) for r in results), results
    with pytest.raises(ValueError, match="broken"):
        asyncio.run(batcher.predict(model, _trip(1.0)))


def test_a_failing_drift_observer_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    """Monitoring runs after the model answered: its failure is logged, the request succeeds."""
    from mlops_course.serving.drift import ServedDrift

    drift = ServedDrift(CollectorRegistry())
    model = dataclasses.replace(
        _model(RecordingPipeline()), reference=pd.DataFrame({"unrelated": [1.0]})
    )
    with caplog.at_level(logging.ERROR, logger="mlops_course.serving"):
        drift.observe(model, pd.DataFrame({"distance_km": [1.0]}), np.array([3.0]))
    assert "drift monitoring" in caplog.text
