"""Single-trip predictions that arrive together are answered with one model call.

Where the time of ``POST /predict`` goes (``benchmarks/serving.py`` measures it, the book's
benchmarks appendix shows it): most of it is the model's ``predict``, and nearly all of that is a
fixed cost per *call* (the ColumnTransformer
selecting columns from a DataFrame, one tree traversal call per boosting iteration), not per
row: predicting 16 rows costs little more than predicting one. Under concurrent load, calling
the model once per request therefore wastes most of the CPU.

So a request does not call the model itself; it queues its trip and waits. The queue is flushed
on the event loop's next turn, after every request that is already ready to run has queued its
trip, and all of them go to the model in one call. Nothing ever waits on purpose (no timer): a
lone request is predicted one loop turn later (microseconds), while under load the requests that
piled up during one prediction form the next batch by themselves ("opportunistic" batching).

Each request keeps the model it read when it arrived: a flush groups trips by model, so a reload
between queueing and flushing changes nothing for requests already in the queue. A batcher
belongs to one event loop (one app served by uvicorn); it is not shared between threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_course.serving.frame import to_frame
from mlops_course.serving.model_holder import LoadedModel
from mlops_course.serving.schema import Trip

MAX_CALL_ROWS = 64
"""Most trips in one model call: bounds how long one call holds the event loop."""


@dataclass(frozen=True)
class _Waiting:
    model: LoadedModel
    trip: Trip
    future: asyncio.Future[float]


class MicroBatcher:
    """Collects the trips of concurrent ``/predict`` requests into one model call per loop turn."""

    def __init__(
        self,
        on_call: Callable[[int], None] | None = None,
        on_predicted: Callable[[LoadedModel, pd.DataFrame, np.ndarray], None] | None = None,
    ) -> None:
        self._waiting: list[_Waiting] = []
        self._on_call = on_call or (lambda rows: None)
        self._on_predicted = on_predicted or (lambda model, frame, values: None)

    async def predict(self, model: LoadedModel, trip: Trip) -> float:
        """The duration of ``trip`` predicted by ``model``, together with its neighbours."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)  # the next loop turn: after every request ready now
        self._waiting.append(_Waiting(model, trip, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        by_model: dict[int, list[_Waiting]] = {}
        for item in waiting:
            by_model.setdefault(id(item.model), []).append(item)
        for group in by_model.values():
            for start in range(0, len(group), MAX_CALL_ROWS):
                self._predict(group[start : start + MAX_CALL_ROWS])

    def _predict(self, items: list[_Waiting]) -> None:
        self._on_call(len(items))
        model = items[0].model
        try:
            frame = to_frame([item.trip for item in items])
            values = model.predict(frame)
        except Exception as error:  # each request fails as it would have on its own
            for item in items:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        self._on_predicted(model, frame, values)
        for item, value in zip(items, values, strict=True):
            if not item.future.done():  # a client that hung up cancelled its future
                item.future.set_result(float(value))
