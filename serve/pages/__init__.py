"""Pages for people, served by the scoring API: the reviewer console (`/review`), the self-check
page for civil servants (`/cek`) and the labelling guideline (`/pedoman`), with their CSS and
JavaScript (`serve/static/`, shipped in the package, no CDN).

    add_pages(app)   # in the app factory, after the API routes
"""

from __future__ import annotations

from fastapi import FastAPI

from netralitas.serve.pages.review import router as review_router
from netralitas.serve.pages.selfcheck import router as self_check_router
from netralitas.serve.pages.shell import asset_router

__all__ = ["add_pages"]


def add_pages(app: FastAPI) -> None:
    """Add the pages and their assets to `app` (none is in the OpenAPI schema)."""
    app.include_router(review_router)
    app.include_router(self_check_router)
    app.include_router(asset_router)
