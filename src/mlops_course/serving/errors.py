"""Bad input is a 4xx with a message a person can act on, never a 500.

422 lists each invalid field, 413 means too many trips (or too many bytes), 415 means the body
was not sent as JSON. Each message names what was wrong and what to send instead.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mlops_course.serving.schema import ErrorMessage, InvalidRequest

BAD_INPUT: dict[int | str, dict[str, Any]] = {
    413: {"model": InvalidRequest, "description": "Too many trips or too many bytes."},
    415: {"model": ErrorMessage, "description": "The body was not sent as JSON."},
    422: {"model": InvalidRequest, "description": "Invalid fields, each named."},
    503: {"model": ErrorMessage, "description": "No model loaded yet; the reason."},
}
"""The error responses of the prediction endpoints, for the OpenAPI document."""


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped.

    Error messages can echo client input (an unknown field's name, for instance); escaping keeps
    a name with broken Unicode (a lone surrogate) from failing to encode and becoming a 500.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def clip(value: object, limit: int = 100) -> str | int:
    """``value`` as it may be echoed to a client: ints as they are, text cut at ``limit``."""
    if isinstance(value, int):
        return value
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


async def require_json(request: Request) -> None:
    """Refuse a body that is not declared as JSON with 415 and say which header to send."""
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    json_like = media.startswith("application/") and media.endswith("+json")
    if media == "application/json" or json_like:
        return
    got = f"Content-Type {clip(declared)!r}" if declared else "no Content-Type"
    raise HTTPException(
        415,
        detail=f"send the request body as JSON with the header 'Content-Type: application/json' "
        f"(got {got})",
    )


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each invalid field (413 when the batch is too long), for any validation error.

    FastAPI's own 422 is a list of pydantic errors; this one adds a ``message`` that reads as a
    sentence and turns a JSON syntax error into "the body is not valid JSON ... at character N".
    """
    details: list[dict[str, Any]] = []
    too_many = False
    for error in exc.errors():
        loc = [clip(part) for part in error.get("loc", ())]
        msg = str(error.get("msg", "invalid value"))
        kind = str(error.get("type", "value_error"))
        ctx = error.get("ctx") or {}
        if kind == "json_invalid":
            position = loc[1] if len(loc) > 1 else "?"
            loc = ["body"]
            msg = f"the body is not valid JSON: {ctx.get('error', msg)} at character {position}"
        too_many |= kind == "too_long" and loc == ["body", "trips"]
        details.append({"loc": loc, "msg": clip(msg, 500), "type": kind})
    if too_many:
        max_batch = request.app.state.api.settings.max_batch
        message = f"too many trips: at most {max_batch:,} per batch; split it into several"
        return SafeJSONResponse({"message": message, "detail": details}, status_code=413)
    shown = "; ".join(
        f"{'.'.join(map(str, d['loc'][1:])) or 'body'}: {d['msg']}" for d in details[:5]
    )
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    message = f"invalid request: {shown}{more}"
    return SafeJSONResponse({"message": message, "detail": details}, status_code=422)
