"""The model registry: which model version is in production, and how that changes.

Services and pipelines never load "the latest run": they load a *name* and an *alias*
(``models:/trip-duration@champion``). Promotion and rollback are then just moving an alias, which
is atomic in the registry and needs no redeploy of the service.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING

from mlops_course.model_io import load_logged
from mlops_course.settings import get_settings
from mlops_course.tracking import require_server

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from sklearn.pipeline import Pipeline

# The alias names are imported by settings and services that never touch the registry (the API's
# settings, say), so MLflow is imported inside the functions that call it.

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous-champion"


def _name(name: str | None) -> str:
    return name or get_settings().model_name


def register(
    model_uri: str, name: str | None = None, tags: dict[str, str] | None = None
) -> ModelVersion:
    """Add the model at ``model_uri`` as a new version of the registered model ``name``.

    MLflow reports progress on stderr, which interleaves unpredictably with stdout in notebooks;
    its messages are passed on as one block on stdout so stored notebook outputs stay stable.

    Parameters
    ----------
    model_uri
        Where the logged model is, e.g. :attr:`mlops_course.train.TrainResult.model_uri`.
    name
        The registered model, created if it does not exist yet; None means the course
        settings' ``model_name``.
    tags
        Tags of the new version, e.g. why it was trained; None sets none.

    Returns
    -------
    ModelVersion
        The new version; its number is ``.version``.
    """
    import mlflow

    require_server()
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        version = mlflow.register_model(model_uri, _name(name), tags=tags)
    print(captured.getvalue(), end="")
    return version


def set_alias(alias: str, version: int | str, name: str | None = None) -> None:
    """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
    from mlflow.tracking import MlflowClient

    MlflowClient().set_registered_model_alias(_name(name), alias, str(version))


def get_version(alias: str, name: str | None = None) -> ModelVersion | None:
    """The version an alias points to, or None when the alias (or the model) does not exist.

    Parameters
    ----------
    alias
        The alias, e.g. :data:`CHAMPION`.
    name
        The registered model; None means the course settings' ``model_name``.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        return MlflowClient().get_model_version_by_alias(_name(name), alias)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            return None
        raise


def promote(version: int | str, name: str | None = None) -> ModelVersion:
    """Make ``version`` the champion and remember the one it replaces for :func:`rollback`.

    Parameters
    ----------
    version
        The number of a registered version of ``name``.
    name
        The registered model; None means the course settings' ``model_name``.

    Returns
    -------
    ModelVersion
        The new champion.
    """
    name = _name(name)
    current = get_version(CHAMPION, name)
    if current is not None and str(current.version) != str(version):
        set_alias(PREVIOUS, current.version, name)
    set_alias(CHAMPION, version, name)
    from mlflow.tracking import MlflowClient

    return MlflowClient().get_model_version(name, str(version))


def rollback(name: str | None = None) -> ModelVersion:
    """Point the champion back at the previous champion; an error if there is none.

    Parameters
    ----------
    name
        The registered model; None means the course settings' ``model_name``.

    Returns
    -------
    ModelVersion
        The version that is champion now. The one it replaced becomes the previous champion,
        so a second rollback undoes the first.
    """
    name = _name(name)
    previous = get_version(PREVIOUS, name)
    if previous is None:
        raise LookupError(
            f"model {name!r} has no '{PREVIOUS}' alias: there is nothing to roll back to "
            "(a rollback needs an earlier promotion)"
        )
    current = get_version(CHAMPION, name)
    set_alias(CHAMPION, previous.version, name)
    if current is not None:
        set_alias(PREVIOUS, current.version, name)
    return previous


def load_model(alias: str = CHAMPION, name: str | None = None) -> Pipeline:
    """Load the scikit-learn pipeline that ``alias`` points to, ready to ``predict``.

    Parameters
    ----------
    alias
        The alias of the version to load; a ``LookupError`` when ``name`` has no such alias.
    name
        The registered model; None means the course settings' ``model_name``.
    """
    name = _name(name)
    require_server()
    if get_version(alias, name) is None:
        raise LookupError(
            f"model {name!r} has no version with alias {alias!r}: register a model and set the "
            f"alias first (mlops_course.registry.register + set_alias or promote)"
        )
    return load_logged(f"models:/{name}@{alias}")
