"""``POST /predict`` (one trip) and ``POST /predict/batch`` (1 to ``max_batch`` trips).

``POST /predict`` runs on the event loop: a hop to the threadpool and back would cost a large
share of a millisecond request and buy no parallelism (the GIL serializes the model anyway).
Concurrent single predictions share one model call (:mod:`mlops_course.serving.batcher`): the
model's cost is per call, not per row, so under load this multiplies throughput, and a lone
request waits for nobody. ``POST /predict/batch`` takes longer and is a plain ``def`` endpoint,
run in the threadpool, so it never holds up ``/health``, ``/ready`` or single predictions.
"""

from fastapi import APIRouter, Depends

from mlops_course.serving.dependencies import Api
from mlops_course.serving.errors import BAD_INPUT, require_json
from mlops_course.serving.frame import to_frame
from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.model_holder import LoadedModel
from mlops_course.serving.schema import BatchPrediction, Prediction, Trip, batch_model


def unknown_category_warnings(
    model: LoadedModel, trips: list[Trip], metrics: ApiMetrics, batch: bool
) -> list[str]:
    """One warning per category value the model never saw, counted in the metrics too.

    Such a value is encoded as all zeros, so the model answers as if the column were missing:
    the client gets a prediction and is told which part of its input was ignored.
    """
    messages = []
    for index, trip in enumerate(trips):
        for column, value in model.unknown_categories(trip):
            metrics.unknown_categories.labels(column).inc()
            where = f"trips[{index}].{column}" if batch else column
            messages.append(
                f"{where} {value!r} is unknown to model version {model.version}: it is encoded "
                "as all zeros, so the prediction ignores this column"
            )
    return messages


def router(max_batch: int) -> APIRouter:
    """The prediction endpoints of an app that accepts at most ``max_batch`` trips per batch.

    A function, not a module-level router, because the batch limit is part of the request model
    (and so of the OpenAPI document), and it is a setting of each app.
    """
    routes = APIRouter(tags=["predict"], dependencies=[Depends(require_json)], responses=BAD_INPUT)
    BatchRequest = batch_model(max_batch)

    @routes.post("/predict", response_model=Prediction)
    async def predict(trip: Trip, api: Api) -> Prediction:
        """Predict the duration of one trip."""
        model = api.model_or_503()
        value = await api.batcher.predict(model, trip)
        api.metrics.predictions.observe(value)
        return Prediction(
            duration_min=round(value, 2),
            model=model.ref,
            warnings=unknown_category_warnings(model, [trip], api.metrics, batch=False),
        )

    @routes.post(
        "/predict/batch",
        response_model=BatchPrediction,
        description=f"Predict the durations of 1 to {max_batch:,} trips in one call.",
    )
    # BatchRequest is built per app (its max_batch), so a type checker sees a variable, not a class
    def predict_batch(batch: BatchRequest, api: Api) -> BatchPrediction:  # type: ignore[valid-type]
        model = api.model_or_503()
        trips = batch.trips  # type: ignore[attr-defined]  # (same reason)
        frame = to_frame(trips)
        values = model.predict(frame)
        api.drift.observe(model, frame, values)
        for value in values:
            api.metrics.predictions.observe(float(value))
        return BatchPrediction(
            duration_min=[round(float(v), 2) for v in values],
            model=model.ref,
            warnings=unknown_category_warnings(model, trips, api.metrics, batch=True),
        )

    return routes
