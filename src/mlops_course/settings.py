"""One settings object for the whole course.

Notebooks, tests, services and the CLI read their configuration from here rather than from
constants scattered across cells, so a learner changes a port or a folder in one place (an
environment variable with the ``MLOPS_`` prefix) and every part of the course follows.
"""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Course configuration, overridable with ``MLOPS_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore")

    workdir: Path = Field(
        Path(".mlops"),
        description="Where embedded services keep their state (MLflow database, artifacts, logs).",
    )
    data_dir: Path = Field(Path("data"), description="Root of raw, validated and quarantined data.")
    host: str = Field("127.0.0.1", description="Services bind to loopback only: nothing leaves.")
    mlflow_port: int = Field(0, description="0 picks a free port, so parallel runs never clash.")
    api_port: int = Field(0, description="Port of the model API; 0 picks a free port.")
    prometheus_port: int = Field(0, description="Port of Prometheus; 0 picks a free port.")
    tracking_uri: str | None = Field(
        None,
        description="An MLflow server to use instead of starting one (e.g. the compose stack).",
    )
    experiment_name: str = "trip-duration"
    model_name: str = "trip-duration"
    seed: int = Field(42, description="Seed of the simulator and of every model.")
    trips_per_day: int = Field(1_000, description="Rows in one simulated daily batch.")
    drift_start_day: int = Field(30, description="Day on which a drift scenario begins.")
    service_start_timeout: float = Field(90.0, description="Seconds to wait for a service.")

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def user_cache(*parts: str) -> Path:
    """A folder in the user's cache (``$XDG_CACHE_HOME/mlops-course``), created if missing.

    For what should outlive one checkout or one test run and is safe to delete: the template
    repository, the container engine's settings, the wheelhouse the images are built from.
    """
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-course"
    folder = root.joinpath(*parts).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
