"""The embedded Prometheus: the Debian binary, with the compose stack's config and alert rules.

The config and the rules live in the package (``mlops_course/monitoring/prometheus/``, next to
the metric names they read) and ship in its wheel; the compose stack mounts the same files. So
notebooks, tests, an installed package and the stack evaluate the same rules.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from mlops_course.services.process import Service, ServiceError, free_port, start
from mlops_course.settings import get_settings


def course_prometheus_config() -> Path:
    """The course's ``prometheus.yml``, with its alert rules beside it, from the package itself.

    The embedded Prometheus renders its config from this one file (see
    :func:`render_prometheus_config`), so the notebooks, the tests and the compose stack evaluate
    the same alert rules, from a checkout or from an installed wheel alike.
    """
    config = Path(str(files("mlops_course.monitoring") / "prometheus" / "prometheus.yml"))
    if not config.exists():  # an install that left out the package data
        raise ServiceError(
            f"the Prometheus config is not at {config}: reinstall the package (its wheel ships "
            "monitoring/prometheus/), or pass the path of your own config."
        )
    return config


def render_prometheus_config(
    source: Path,
    dest: Path,
    targets: Mapping[str, str],
    *,
    scrape_interval: str | None = None,
) -> Path:
    """Write ``source`` (the compose config) to ``dest`` with loopback targets.

    In the compose stack a job scrapes a service hostname (``api:8000``); here each process runs
    on a free loopback port. ``targets`` maps a job name to the ``host:port`` (or the URL) of the
    process it should scrape now; jobs without one are left out, because their hostnames do not
    exist outside the stack. Rule files become absolute paths next to ``source``, so both setups
    evaluate the same rules. ``scrape_interval`` (e.g. ``"1s"``) replaces every scrape and
    evaluation interval: a notebook cannot wait the 15 s a production setup uses.
    """
    source = Path(source).resolve()
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    jobs = [job["job_name"] for job in config.get("scrape_configs", [])]
    unknown = sorted(set(targets) - set(jobs))
    if unknown:
        raise ServiceError(
            f"no scrape job named {', '.join(unknown)} in {source}; its jobs are "
            f"{', '.join(jobs) or 'none'}. Pass targets for those jobs, or add a job to the config."
        )
    kept = []
    for job in config.get("scrape_configs", []):
        if job["job_name"] not in targets:
            continue
        address = targets[job["job_name"]]
        address = urlsplit(address).netloc if "://" in address else address
        job["static_configs"] = [{"targets": [address]}]
        if scrape_interval:
            job.pop("scrape_interval", None)
        kept.append(job)
    config["scrape_configs"] = kept
    config["rule_files"] = [str(source.parent / rule) for rule in config.get("rule_files", [])]
    if scrape_interval:
        config.setdefault("global", {}).update(
            scrape_interval=scrape_interval, evaluation_interval=scrape_interval
        )
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


def start_prometheus(
    config: Path | None = None,
    workdir: Path | None = None,
    port: int | None = None,
    *,
    targets: Mapping[str, str] | None = None,
    scrape_interval: str | None = None,
    timeout: float | None = None,
    detach: bool = False,
) -> Service:
    """The Debian ``prometheus`` binary, scraping ``targets`` with the rules of ``config``.

    ``config`` defaults to the course's compose config (:func:`course_prometheus_config`); what
    runs is the copy :func:`render_prometheus_config` writes into ``workdir``, where the
    ``prometheus`` job scrapes this very server and each job named in ``targets`` (for example
    ``{"api": api.url}``) scrapes that address. Data is stored in ``workdir`` too.

    Parameters
    ----------
    config
        The Prometheus config to render, its rule files beside it; None means the course's
        compose config.
    workdir
        The rendered config, the data and the log go into its ``prometheus`` subfolder; None
        means the course settings' ``workdir``.
    port
        The port to listen on; None or 0 means ``MLOPS_PROMETHEUS_PORT``, and when that is 0
        too, a free port.
    targets
        Each job of ``config`` to keep, and the ``host:port`` (or URL) it scrapes; None keeps
        only the ``prometheus`` job.
    scrape_interval
        Replaces every scrape and evaluation interval of ``config`` (e.g. ``"1s"``); None keeps
        those of ``config``.
    timeout
        Seconds to wait for ``/-/ready``; None means the course settings'
        ``service_start_timeout``.
    detach
        True leaves Prometheus running after this interpreter exits; otherwise it is stopped
        at exit.
    """
    binary = shutil.which("prometheus")
    if binary is None:
        raise ServiceError(
            "the 'prometheus' binary is not installed. On Debian or Ubuntu: "
            "sudo apt-get install prometheus (CI installs it in .ci/run)"
        )
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve() / "prometheus"
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or settings.prometheus_port or free_port(settings.host)
    rendered = render_prometheus_config(
        config or course_prometheus_config(),
        workdir / "prometheus.yml",
        {"prometheus": f"{settings.host}:{port}", **(targets or {})},
        scrape_interval=scrape_interval,
    )
    command = [
        binary,
        f"--config.file={rendered}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={settings.host}:{port}",
        "--web.enable-lifecycle",
    ]
    return start(
        "prometheus",
        command,
        port,
        host=settings.host,
        health_path="/-/ready",
        workdir=workdir,
        timeout=timeout,
        detach=detach,
    )
