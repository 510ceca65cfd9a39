"""``POST /admin/reload``: load the version the alias points to now, behind a bearer token.

A deployment decides when the served model changes (unless ``watch_alias`` is on): after it
moves the alias, it calls this endpoint. See :func:`~mlops_course.serving.dependencies.check_token`
for who may.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from mlops_course.serving.dependencies import Api, check_token
from mlops_course.serving.model_holder import LoadFailed, NoModelVersion
from mlops_course.serving.schema import ErrorMessage, ReloadResult

router = APIRouter(tags=["operations"], dependencies=[Depends(check_token)])


@router.post(
    "/admin/reload",
    response_model=ReloadResult,
    responses={
        401: {"model": ErrorMessage, "description": "No bearer token."},
        403: {"model": ErrorMessage, "description": "Wrong token, or reloading disabled."},
        409: {"model": ErrorMessage, "description": "The alias points at no version."},
        503: {"model": ErrorMessage, "description": "The registry is unreachable."},
    },
)
def reload_model(api: Api) -> ReloadResult:
    """Load the version the alias points to now, if it is new, and swap it in.

    Requests in flight finish on the old model; nothing is dropped. If loading fails, the
    old model keeps serving and the reason is returned.
    """
    try:
        result = api.holder.refresh()
    except NoModelVersion as error:
        raise HTTPException(409, detail=str(error)) from None
    except LoadFailed as error:
        raise HTTPException(503, detail=str(error)) from None
    previous = result.previous.ref if result.previous else None
    return ReloadResult(changed=result.changed, previous=previous, current=result.current.ref)
