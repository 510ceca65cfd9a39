"""What the endpoints need, as FastAPI dependencies: the app's state, the served model, the token.

An app's moving parts (model holder, metrics, drift, batcher, settings) are made once by
:func:`~mlops_course.serving.app.create_app` and kept in one typed :class:`ApiState` on
``app.state.api``; the routers reach them through these functions instead of closures, so each
router is a module of its own that a test can read in isolation.

Every dependency here is ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
threadpool, and that hop would cost ``POST /predict`` (which runs on the event loop, see
:mod:`mlops_course.serving.routers.predict`) a large share of its time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from hmac import compare_digest
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mlops_course.serving.batcher import MicroBatcher
from mlops_course.serving.drift import ServedDrift
from mlops_course.serving.metrics import ApiMetrics
from mlops_course.serving.model_holder import LoadedModel, ModelHolder
from mlops_course.serving.settings import ServingSettings


@dataclass(frozen=True)
class ApiState:
    """Everything one app owns; two apps in one process share nothing."""

    settings: ServingSettings
    holder: ModelHolder
    metrics: ApiMetrics
    drift: ServedDrift
    batcher: MicroBatcher

    @property
    def retry_after(self) -> str:
        """Seconds a client should wait before asking again while no model is loaded."""
        return str(math.ceil(self.settings.reload_poll_seconds))

    def model_or_503(self) -> LoadedModel:
        """The model to answer with; no model loaded yet: 503 with the reason and Retry-After.

        The prediction endpoints call this in their body, after FastAPI has validated the
        request, so an invalid request is a 422 whether or not a model is loaded. Read once per
        request: a reload during the request does not affect it.
        """
        model = self.holder.current
        if model is None:
            reason = self.holder.not_ready_reason()
            raise HTTPException(503, detail=reason, headers={"Retry-After": self.retry_after})
        return model


async def api_state(request: Request) -> ApiState:
    """The state of the app that received ``request``."""
    state: ApiState = request.app.state.api
    return state


Api = Annotated[ApiState, Depends(api_state)]


async def served_model(api: Api) -> LoadedModel:
    """The served model as a dependency, for endpoints without a body (``GET /model``)."""
    return api.model_or_503()


Served = Annotated[LoadedModel, Depends(served_model)]

bearer = HTTPBearer(auto_error=False, description="The value of MLOPS_API_TOKEN.")


async def check_token(
    api: Api,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """401 without a bearer token, 403 with a wrong one, 403 for all when none is configured.

    A reload endpoint open to anyone would let anyone slow the service down, so with no
    ``MLOPS_API_TOKEN`` the endpoint is disabled rather than open.
    """
    token = api.settings.api_token
    expected = token.get_secret_value() if token else ""
    if not expected:
        raise HTTPException(
            403, detail="reloading is disabled: start the service with MLOPS_API_TOKEN set"
        )
    if credentials is None:
        raise HTTPException(
            401,
            detail="send the header 'Authorization: Bearer <MLOPS_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, detail="wrong token")
