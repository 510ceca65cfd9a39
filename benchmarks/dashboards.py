"""The Grafana dashboards without Grafana: every panel's query run against a real Prometheus.

Grafana's image cannot be pulled where the course is built (no image registry, no internet), so
the book shows a preview instead. The script starts its own MLflow server on a free loopback
port, trains, registers and promotes a small champion, starts the course's API and Debian's
``prometheus`` scraping it every second (the course config, rendered by
``services.start_prometheus``), sends the package's mixed load (``services.traffic``: good trips,
unknown pickup zones, 422s, 415s, batches) for ``--seconds``, then runs every target of
``docker/grafana/dashboards/*.json`` through ``/api/v1/query_range`` with Grafana's variables
replaced (``mlops_course.monitoring.dashboards``) and draws each dashboard on its own grid.

Run from the repository root: ``python benchmarks/dashboards.py`` (``--seconds``, 120 by
default, plus about 40 s). Writes ``book/stage4/images/dashboard-<file>.png``; commit them after a
run. Exits 1, after writing the pictures, when any panel's query errored or returned no finite
value, and names each one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.monitoring.dashboards import load_dashboard, render_dashboard, run_dashboard
from mlops_course.services import start_api
from mlops_course.services.traffic import send_traffic, simulated_trips
from mlops_course.train import train

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = REPO / "docker" / "grafana" / "dashboards"
IMAGES = REPO / "book" / "stage4" / "images"
MODEL_NAME = "trip-duration-dashboards"
# The compose stack's: its api job scrapes every 5 s, and Grafana's datasource says so
# (timeInterval), which makes $__rate_interval 20 s. A 1 s scrape would also time out: GET /metrics
# runs the drift check over the served window, and that took over 1 s beyond ~1,500 rows here.
SCRAPE_SECONDS = 5
SEED = 42


def _wait_for_series(prometheus: services.Service, promql: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(
            prometheus.url + "/api/v1/query", params={"query": promql}, trust_env=False
        ).json()
        if body["data"]["result"]:
            return
        time.sleep(0.5)
    targets = httpx.get(prometheus.url + "/api/v1/targets", trust_env=False).json()["data"]
    errors = {t["labels"]["job"]: t["lastError"] for t in targets["activeTargets"]}
    raise TimeoutError(
        f"no series for {promql} after {timeout:.0f} s; last scrape errors: {errors}"
    )


def _render_all(prometheus: services.Service, start: float, end: float, out: Path) -> list[str]:
    problems = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        result = run_dashboard(
            load_dashboard(path), prometheus.url, start, end, scrape_interval=SCRAPE_SECONDS
        )
        source = f"{path.relative_to(REPO)}, under generated load; drawn by matplotlib, not Grafana"
        picture = render_dashboard(result, out / f"dashboard-{path.stem}.png", source=source)
        print(f"{path.name}: {len(result.panel_results())} panels -> {picture}")
        problems += [f"{path.name}: {problem}" for problem in result.problems()]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="how long to send load")
    parser.add_argument("--output", type=Path, default=IMAGES, help="folder of the PNGs")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="mlops-dashboards-") as tmp:
        workdir = Path(tmp)
        with services.start_mlflow(workdir=workdir) as server:
            services.use_mlflow(server)
            result = train(
                simulate_days(range(3), n=500, seed=SEED),
                simulate_days([3], n=500, seed=SEED),
                kind="ridge",
            )
            version = registry.register(result.model_uri, MODEL_NAME)
            registry.promote(version.version, MODEL_NAME)
            with (
                start_api(workdir, tracking_uri=server.url, model_name=MODEL_NAME) as api,
                services.start_prometheus(
                    workdir=workdir, targets={"api": api.url}, scrape_interval=f"{SCRAPE_SECONDS}s"
                ) as prometheus,
            ):
                _wait_for_series(prometheus, 'up{job="api"} == 1')
                start = time.time()
                trips = simulated_trips(n=200, seed=SEED)
                sent = send_traffic(api.url, args.seconds, trips=trips, min_rounds=25)
                print("responses:", dict(sorted(sent.items())))
                try:
                    _wait_for_series(prometheus, "mlops_feature_drift_score")  # the check ran
                except TimeoutError as error:
                    raise SystemExit(f"{error}; the API's log ends:\n{api.log_tail(40)}") from None
                time.sleep(2 * SCRAPE_SECONDS)  # a scrape after the last request
                problems = _render_all(prometheus, start, time.time(), args.output)
    if problems:
        print("\n".join(["panels that would show no data:", *problems]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
