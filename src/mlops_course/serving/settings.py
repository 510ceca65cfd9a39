"""Settings of the model API, from ``MLOPS_`` environment variables like the rest of the course.

They live here rather than in :mod:`mlops_course.settings` because only the service reads them;
the model name and the tracking URI default to the course settings, so one ``MLOPS_MODEL_NAME``
or ``MLOPS_TRACKING_URI`` configures training, the registry and the service alike.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_course.registry import CHAMPION
from mlops_course.serving.schema import MAX_BATCH
from mlops_course.settings import get_settings


class ServingSettings(BaseSettings):
    """Configuration of one model API process, overridable with ``MLOPS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore")

    model_name: str = Field(
        default_factory=lambda: get_settings().model_name,
        description="Registered model to serve.",
    )
    model_alias: str = Field(CHAMPION, description="Alias to serve: promotion moves it.")
    tracking_uri: str | None = Field(
        default_factory=lambda: get_settings().tracking_uri,
        description="MLflow server with the registry; None: MLflow's own default "
        "(MLFLOW_TRACKING_URI).",
    )
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token for POST /admin/reload. Unset: the endpoint answers 403.",
    )
    api_token_file: Path | None = Field(
        None,
        description="A file that holds the token instead (a mounted secret, e.g. "
        "/run/secrets/mlops-api-token): unlike a variable, it is not shown by `podman inspect`.",
    )
    reload_poll_seconds: float = Field(
        3.0,
        gt=0,
        description="How often to retry while no model is loaded (and to check the alias when "
        "watch_alias is on).",
    )
    watch_alias: bool = Field(
        False,
        description="Load a new version on its own when the alias moves; off: only on "
        "POST /admin/reload, so a deployment decides when the model changes.",
    )
    max_batch: int = Field(MAX_BATCH, ge=1, description="Most trips in one batch request.")

    @field_validator("api_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        """``MLOPS_API_TOKEN=`` (empty) must disable the endpoint, not accept an empty token."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _token_from_file(self) -> ServingSettings:
        """Read ``api_token_file`` into ``api_token``: one token, from one of the two places.

        A variable is visible to anyone who may inspect the container (podman 4.3 even lists
        secrets passed as variables in ``podman inspect``) and to every child process; a file
        mounted from a secret store is not, which is why Kubernetes and podman mount secrets.
        """
        if self.api_token_file is None:
            return self
        if self.api_token is not None:
            raise ValueError("set MLOPS_API_TOKEN or MLOPS_API_TOKEN_FILE, not both")
        try:
            token = self.api_token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ValueError(
                f"MLOPS_API_TOKEN_FILE={self.api_token_file} cannot be read ({error.strerror}): "
                "mount the secret there, or unset the variable"
            ) from error
        if not token:
            raise ValueError(f"MLOPS_API_TOKEN_FILE={self.api_token_file} is empty")
        self.api_token = SecretStr(token)
        return self
