"""The interactive API docs (``/docs``, ``/redoc``) served with local assets, so they work offline.

FastAPI's default pages load Swagger UI and ReDoc from a CDN: on a laptop without internet, in a
classroom behind a firewall, or in an air-gapped cluster they stay blank. The JavaScript and CSS
come from the ``fastapi-offline`` package instead (it ships the files; its own ``FastAPIOffline``
class is not used, so the app stays a plain ``FastAPI``) and are served under :data:`ASSETS_URL`.
Without that package the pages fall back to FastAPI's CDN assets, with a warning in the log.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"

log = logging.getLogger("mlops_course.serving")


def _assets_directory() -> str | None:
    try:
        return str(files("fastapi_offline") / "static")
    except ModuleNotFoundError:
        return None


def add_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` from local assets; create the app with both URLs None."""
    if app.docs_url or app.redoc_url:
        raise ValueError(
            "create the app with docs_url=None and redoc_url=None: FastAPI's own pages load "
            "their assets from a CDN and would shadow the offline ones"
        )
    directory = _assets_directory()
    swagger_assets: dict[str, Any] = {}
    redoc_assets: dict[str, Any] = {}
    if directory is None:
        log.warning(
            "the 'fastapi-offline' package is not installed: /docs and /redoc load their "
            "assets from a CDN and stay blank offline (pip install -r requirements.txt)"
        )
    else:
        app.mount(ASSETS_URL, StaticFiles(directory=directory), name="docs-assets")
        swagger_assets = {
            "swagger_js_url": f"{ASSETS_URL}/swagger-ui-bundle.js",
            "swagger_css_url": f"{ASSETS_URL}/swagger-ui.css",
            "swagger_favicon_url": f"{ASSETS_URL}/favicon.png",
        }
        redoc_assets = {
            "redoc_js_url": f"{ASSETS_URL}/redoc.standalone.js",
            "redoc_favicon_url": f"{ASSETS_URL}/favicon.png",
        }
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            **swagger_assets,
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            with_google_fonts=False,
            **redoc_assets,
        )
