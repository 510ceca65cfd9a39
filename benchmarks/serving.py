"""How fast is the model API? In-process ``predict``, this service and ``mlflow models serve``.

Same registered model, same machine, side by side. The script starts its own MLflow server on a
free loopback port, trains and registers a champion, starts the course's API and
``mlflow models serve --env-manager local`` (one worker each, the defaults of both), and
measures with async httpx clients after a warm-up: single-trip latency (p50/p99) and throughput
at concurrency 1, throughput at concurrency 16, and a 1,000-trip batch. Single-trip latencies are
measured in turns, trip by trip (in process, the app without a server, the service, MLflow), and
the concurrent phases alternate between the services round after round, so a burst of other work
on the machine hits all of them alike.
Targets (stage 2): the service's single-row p50 at most 1 ms above in-process predict, and at
least 3x the throughput of ``mlflow models serve``.

It also says where the time goes: one request's stages timed one by one (validation, input
frame, features, regressor, response), the app called without any HTTP server, and a cProfile of
the app handling requests (its top is written to ``benchmarks/results/serving_profile.txt``).

Run from the repository root: ``python benchmarks/serving.py`` (2 to 3 minutes on 2 cores);
``--requests`` scales every phase. Writes ``benchmarks/results/serving.json``: flat, named
figures, the machine and the load average, so results from different machines (or a busy one)
are not compared blindly.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from fastapi import FastAPI
from machine import machine
from tqdm import tqdm

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.schema import FEATURE_COLUMNS
from mlops_course.services import start_api, start_mlflow_serve
from mlops_course.serving.app import create_app
from mlops_course.serving.frame import to_frame
from mlops_course.serving.model_holder import LoadedModel
from mlops_course.serving.schema import Prediction, Trip
from mlops_course.serving.settings import ServingSettings
from mlops_course.train import train

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "serving.json"
PROFILE = REPO / "benchmarks" / "results" / "serving_profile.txt"
MODEL_NAME = "trip-duration-benchmark"
TARGET_P50_OVERHEAD_MS = 1.0
TARGET_THROUGHPUT_RATIO = 3.0
BATCH_ROWS = 1000
BLOCK = 50  # single-trip requests per turn in the latency measurement
HEADERS = {"content-type": "application/json"}


def package_versions() -> dict[str, str]:
    names = ["mlflow", "fastapi", "starlette", "uvicorn", "pydantic", "scikit-learn", "pandas"]
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


def ms(seconds: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``seconds`` in milliseconds, rounded for reading."""
    return round(float(np.quantile(np.asarray(seconds), q)) * 1000, 3)


def time_calls(call: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls, after a warm-up (quantiles need every call)."""
    for _ in range(min(50, repeat)):
        call()
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return timings


# --- the model and the payloads -------------------------------------------------------------------


def trip_records(n: int, day: int) -> list[dict[str, Any]]:
    """``n`` simulated trips as the JSON objects a client sends (missing counts as null)."""
    frame = simulate_days([day], n=n)[FEATURE_COLUMNS]
    return json.loads(frame.to_json(orient="records"))


def mlflow_body(records: list[dict[str, Any]]) -> bytes:
    """An ``/invocations`` body for ``mlflow models serve``: pandas' split orientation."""
    data = [[record[column] for column in FEATURE_COLUMNS] for record in records]
    return json.dumps({"dataframe_split": {"columns": FEATURE_COLUMNS, "data": data}}).encode()


def train_champion() -> None:
    """Train the course's default model (gradient boosting), register it, make it champion."""
    frame = simulate_days(range(8), n=1000)
    result = train(frame[frame["day"] < 7], frame[frame["day"] == 7], run_name="benchmark")
    created = registry.register(result.model_uri, MODEL_NAME)
    registry.promote(created.version, MODEL_NAME)
    tqdm.write(f"champion: {MODEL_NAME} version {created.version} ({result.kind})")


# --- in process: the model, and the service's app without an HTTP server --------------------------


def in_process(app: FastAPI, bodies: list[bytes], batch: list[dict], repeat: int) -> dict:
    """One request's stages timed one by one, and a 1,000-trip batch predicted in process."""
    model: LoadedModel = app.state.api.holder.current
    trip = Trip.model_validate_json(bodies[0])
    frame = to_frame([trip])
    features = model.pipeline.named_steps["features"]
    regressor = model.pipeline.named_steps["model"]
    encoded = features.transform(frame)
    value = float(model.predict(frame)[0])

    def respond() -> bytes:
        return Prediction(duration_min=round(value, 2), model=model.ref).model_dump_json().encode()

    stages = {
        "validate": lambda: Trip.model_validate_json(bodies[0]),
        "frame": lambda: to_frame([trip]),
        "features": lambda: features.transform(frame),
        "regressor": lambda: regressor.predict(encoded),
        "response": respond,
    }
    figures = {
        f"stage_ms_{name}": ms(time_calls(call, repeat), 0.5) for name, call in stages.items()
    }
    batch_frame = pd.DataFrame(batch, columns=FEATURE_COLUMNS)
    figures["batch1000_ms_inprocess"] = ms(
        time_calls(lambda: model.predict(to_model_input(batch_frame)), 20), 0.5
    )
    return figures


async def single_trip_latencies(
    app: FastAPI, api: str, mlflow_url: str, records: list[dict], requests: int
) -> dict[str, float]:
    """Single-trip latency five ways, measured in turns, trip by trip.

    The same trips go, in blocks of :data:`BLOCK` requests taking turns, in process (as a client's
    JSON, the fair baseline, and on a prebuilt frame), through the app without a server, through
    the service and through ``mlflow models serve``. Short turns put all five under the same
    conditions (on a shared machine, measuring one after the other would compare a quiet minute
    with a busy one), and blocks rather than single requests keep each server busy the way a
    steady client does: a server woken from idle for every request measures the OS scheduler.
    Throughput at concurrency 1 is requests over the time they took.
    """
    model: LoadedModel = app.state.api.holder.current
    bodies = [json.dumps(record).encode() for record in records]
    frames = [to_frame([Trip.model_validate(record)]) for record in records]
    mlflow_bodies = [mlflow_body([record]) for record in records]
    post_app = asgi_post(app)
    timings: dict[str, list[float]] = {
        name: [] for name in ["inprocess", "inprocess_prebuilt", "app", "service", "mlflow"]
    }

    def naive(body: bytes) -> None:
        row = json.loads(body)
        model.predict(to_model_input(pd.DataFrame([row], columns=FEATURE_COLUMNS)))

    async with (
        httpx.AsyncClient(base_url=api, trust_env=False, timeout=60) as service,
        httpx.AsyncClient(base_url=mlflow_url, trust_env=False, timeout=60) as mlflow,
    ):

        async def over_http(client: httpx.AsyncClient, path: str, body: bytes) -> None:
            response = await client.post(path, content=body, headers=HEADERS)
            if response.status_code != 200:
                raise RuntimeError(
                    f"{client.base_url}{path}: {response.status_code} {response.text}"
                )

        calls = {
            "inprocess": lambda i: naive(bodies[i]),
            "inprocess_prebuilt": lambda i: model.predict(frames[i]),
            "app": lambda i: post_app("/predict", bodies[i]),
            "service": lambda i: over_http(service, "/predict", bodies[i]),
            "mlflow": lambda i: over_http(mlflow, "/invocations", mlflow_bodies[i]),
        }
        blocks = -(-requests // BLOCK) + 1  # the first round of blocks is the warm-up
        with tqdm(total=blocks * BLOCK * len(calls), desc="single trips, c1", disable=None) as bar:
            for block in range(blocks):
                for name, call in calls.items():
                    for index in range(block * BLOCK, (block + 1) * BLOCK):
                        start = time.perf_counter()
                        result = call(index % len(bodies))
                        if asyncio.iscoroutine(result):
                            await result
                        if block > 0:
                            timings[name].append(time.perf_counter() - start)
                    bar.update(BLOCK)
    figures: dict[str, float] = {}
    for name, seconds in timings.items():
        figures[f"p50_ms_{name}"] = ms(seconds, 0.5)
        figures[f"p99_ms_{name}"] = ms(seconds, 0.99)
    for name in ["service", "mlflow"]:
        figures[f"rps_{name}_c1"] = round(len(timings[name]) / sum(timings[name]), 1)
    return figures


def asgi_post(app: FastAPI) -> Callable[[str, bytes], Awaitable[bytes]]:
    """POST to ``app`` through its ASGI interface: the app's own cost, no server, no socket."""

    async def post(path: str, body: bytes) -> bytes:
        sent = False
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise RuntimeError(f"the app answered {message['status']} to {body[:200]!r}")
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"bench")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        await app(scope, receive, send)
        return b"".join(chunks)

    return post


def profile_app(app: FastAPI, bodies: list[bytes], requests: int) -> str:
    """The top of a cProfile of the app handling ``requests`` single predictions."""
    loop = asyncio.new_event_loop()
    post = asgi_post(app)

    def call_app(path: str, body: bytes) -> bytes:
        return loop.run_until_complete(post(path, body))

    for body in bodies[:50]:
        call_app("/predict", body)
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(requests):
        call_app("/predict", bodies[index % len(bodies)])
    profiler.disable()
    out = io.StringIO()
    out.write(f"cProfile of {requests} POST /predict calls of the ASGI app (no HTTP server).\n")
    out.write(
        "Read 'cumtime' per call (divide by the request count) to find the expensive steps.\n"
    )
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


# --- over HTTP ---------------------------------------------------------------------------------


@dataclass
class Load:
    """What a load test measured: each request's latency and the wall time of the whole run."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0

    def add(self, other: Load) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.requests += other.requests

    @property
    def rps(self) -> float:
        return round(self.requests / self.seconds, 1)


async def load_test(
    url: str, path: str, bodies: list[bytes], concurrency: int, total: int, label: str
) -> Load:
    """Send ``total`` requests from ``concurrency`` clients at once; every answer must be a 200.

    Each simulated client has its own ``AsyncClient`` (one keep-alive connection), as independent
    callers would. One shared client with a pool of 16 connections spends more CPU managing its
    pool than the service spends per request: on 2 cores it tops out near 300 requests/s against
    a server that answers instantly, and would hide the difference between the services.
    """
    clients = [
        httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) for _ in range(concurrency)
    ]

    async def one(client: httpx.AsyncClient, index: int) -> float:
        start = time.perf_counter()
        response = await client.post(path, content=bodies[index % len(bodies)], headers=HEADERS)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(
                f"{label}: {url}{path} answered {response.status_code}: {response.text[:300]}"
            )
        return elapsed

    result = Load(requests=total)
    try:
        counter = iter(range(total))
        with tqdm(total=total, desc=label, unit="req", leave=False, disable=None) as bar:

            async def user(client: httpx.AsyncClient) -> None:
                for index in counter:
                    result.latencies.append(await one(client, index))
                    bar.update()

            start = time.perf_counter()
            await asyncio.gather(*(user(client) for client in clients))
            result.seconds = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    return result


def check_same_predictions(
    api: str, mlflow_url: str, model: LoadedModel, records: list[dict]
) -> None:
    """Compare like with like: all three must predict the same durations for the same trips."""
    expected = model.predict(to_model_input(pd.DataFrame(records, columns=FEATURE_COLUMNS)))
    ours = httpx.post(f"{api}/predict/batch", json={"trips": records}, trust_env=False).json()
    theirs = httpx.post(
        f"{mlflow_url}/invocations", content=mlflow_body(records), headers=HEADERS, trust_env=False
    ).json()
    np.testing.assert_allclose(ours["duration_min"], expected, atol=0.006)
    np.testing.assert_allclose(theirs["predictions"], expected, rtol=1e-6)


def measure_http(
    api: str, mlflow_url: str, records: list[dict], batch: list[dict], requests: int, rounds: int
) -> dict[str, float]:
    """Both services, taking turns round after round: concurrency 16, then 1,000-trip batches.

    Also how many trips the service predicted per model call at c16: above 1 shows its
    micro-batching (:mod:`mlops_course.serving.batcher`) at work.
    """
    targets = {
        "service": (
            api,
            "/predict",
            "/predict/batch",
            [json.dumps(r).encode() for r in records],
            json.dumps({"trips": batch}).encode(),
        ),
        "mlflow": (
            mlflow_url,
            "/invocations",
            "/invocations",
            [mlflow_body([r]) for r in records],
            mlflow_body(batch),
        ),
    }
    loads = {name: Load() for name in targets}
    batches: dict[str, Load] = {name: Load() for name in targets}
    calls, rows = 0.0, 0.0  # the service's model calls and trips during its c16 phases
    for round_ in range(1, rounds + 1):
        for name, (url, single, many, bodies, batch_body) in targets.items():
            label = f"round {round_}/{rounds} {name} c16"
            # Warm-up (connections, caches, lazy imports), not counted.
            asyncio.run(load_test(url, single, bodies, 16, 100, label + " warm-up"))
            before = model_call_rows(url) if name == "service" else (0.0, 0.0)
            loads[name].add(asyncio.run(load_test(url, single, bodies, 16, requests, label)))
            if name == "service":
                after = model_call_rows(url)
                calls, rows = calls + after[0] - before[0], rows + after[1] - before[1]
            label = f"round {round_}/{rounds} {name} batch"
            asyncio.run(load_test(url, many, [batch_body], 1, 2, label + " warm-up"))
            batches[name].add(asyncio.run(load_test(url, many, [batch_body], 1, 10, label)))
    figures: dict[str, float] = {}
    for name in targets:
        figures[f"rps_{name}_c16"] = loads[name].rps
        figures[f"p50_ms_{name}_c16"] = ms(loads[name].latencies, 0.5)
        figures[f"batch1000_ms_{name}"] = ms(batches[name].latencies, 0.5)
    figures["rows_per_model_call_service_c16"] = round(rows / calls, 2)
    return figures


def model_call_rows(url: str) -> tuple[float, float]:
    """How many model calls the service made for ``POST /predict``, and for how many trips."""
    text = httpx.get(f"{url}/metrics", trust_env=False).text
    values = dict(
        line.split(" ", 1)
        for line in text.splitlines()
        if line.startswith("mlops_api_model_call_rows_")
    )
    return float(values["mlops_api_model_call_rows_count"]), float(
        values["mlops_api_model_call_rows_sum"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per phase and round")
    parser.add_argument("--rounds", type=int, default=2, help="turns each service takes")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the figures")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_before = os.getloadavg()[0]
    records = trip_records(400, day=20)
    batch = trip_records(BATCH_ROWS, day=21)
    bodies = [json.dumps(record).encode() for record in records]
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        workdir = Path(tmp)
        with services.start_mlflow(workdir=workdir) as server:
            tracking_uri = services.use_mlflow(server)
            train_champion()
            app = create_app(
                ServingSettings(model_name=MODEL_NAME, tracking_uri=tracking_uri, watch_alias=False)
            )
            app.state.api.holder.refresh()
            tqdm.write("in process: predict, the request's stages, the app without a server")
            figures = in_process(app, bodies, batch, repeat=args.requests)
            profile = profile_app(app, bodies, requests=args.requests)
            tqdm.write("starting the API and mlflow models serve")
            with (
                start_api(workdir, tracking_uri=tracking_uri, model_name=MODEL_NAME) as api,
                start_mlflow_serve(
                    f"models:/{MODEL_NAME}@{registry.CHAMPION}", workdir, tracking_uri
                ) as mlflow_serve,
            ):
                check_same_predictions(
                    api.url, mlflow_serve.url, app.state.api.holder.current, records[:50]
                )
                figures |= asyncio.run(
                    single_trip_latencies(
                        app, api.url, mlflow_serve.url, records, args.requests * args.rounds
                    )
                )
                figures |= measure_http(
                    api.url, mlflow_serve.url, records, batch, args.requests, args.rounds
                )
    overhead = round(figures["p50_ms_service"] - figures["p50_ms_inprocess"], 3)
    ratio = round(figures["rps_service_c16"] / figures["rps_mlflow_c16"], 2)
    results = {
        **figures,
        "p50_overhead_ms_service": overhead,
        "target_p50_overhead_ms": TARGET_P50_OVERHEAD_MS,
        "throughput_ratio_c16": ratio,
        "target_throughput_ratio": TARGET_THROUGHPUT_RATIO,
        "target_latency_met": overhead <= TARGET_P50_OVERHEAD_MS,
        "target_throughput_met": ratio >= TARGET_THROUGHPUT_RATIO,
        "requests_per_phase": args.requests * args.rounds,
        "batch_rows": BATCH_ROWS,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "machine": machine(),
        "versions": package_versions(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    PROFILE.write_text(profile)
    tqdm.write(json.dumps(results, indent=2))
    tqdm.write(f"wrote {args.output} and {PROFILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
