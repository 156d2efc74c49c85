"""`/docs` from local files: Swagger UI shipped in the `swagger-ui-py` package, never a CDN.

FastAPI's default page loads Swagger UI's script and style from a CDN, which a server on a closed
network cannot reach: the page stays blank. The package's files are found without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["add_offline_docs", "swagger_assets"]


def swagger_assets() -> Path | None:
    """The folder of Swagger UI files in the installed `swagger-ui-py`, or None without it."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


def add_offline_docs(app: FastAPI, assets: Path) -> None:
    """Serve `assets` under /docs/static and a /docs page that loads only them.

    Create the app with `docs_url=None` (and `redoc_url=None`: ReDoc has no local copy)."""
    app.mount("/docs/static", StaticFiles(directory=assets), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
