"""The pages' common parts: the HTML shell, the security headers, and the shipped assets.

Pages load only what the app itself serves (`serve/static/`, no CDN) and run no inline script or
style, so the Content-Security-Policy can forbid everything else: a post that smuggles markup into
a page can neither run code nor send data anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import html
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from netralitas.serve.highlight import HIGHLIGHT_CSS

__all__ = ["ASSETS", "CSP", "asset_router", "escape", "html_page", "page_response"]

STATIC = Path(__file__).resolve().parent.parent / "static"

# connect-src 'self': the console's fetch() calls go to this API only; form-action 'self': the
# self-check form posts here only; frame-ancestors 'none': no other site can frame the pages.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ASSETS = {"pages.css": "text/css; charset=utf-8", "review.js": "text/javascript; charset=utf-8"}


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def html_page(title: str, body: str, *, scripts: tuple[str, ...] = ()) -> str:
    """A whole page: `body` is trusted HTML (callers escape what they put in it)."""
    tags = "".join(f'<script src="/static/{name}" defer></script>' for name in scripts)
    # The empty data: icon stops the browser asking for /favicon.ico (a 404 in its console).
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/static/pages.css">{tags}</head>'
        f"<body>{body}</body></html>"
    )


def page_response(content: str, status_code: int = 200, headers: dict[str, str] | None = None):
    """An HTML answer with the security headers; never cached, never sets a cookie."""
    return HTMLResponse(
        content,
        status_code=status_code,
        headers=_HEADERS | {"Cache-Control": "no-store"} | (headers or {}),
    )


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    data = (STATIC / name).read_bytes()
    if name == "pages.css":  # the marks' colours come from serve/highlight.py, one definition
        data += b"\n" + HIGHLIGHT_CSS.encode()
    return data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


asset_router = APIRouter(include_in_schema=False)


@asset_router.get("/static/{name}")
async def static_asset(name: str, request: Request) -> Response:
    """A shipped CSS or JS file (a fixed list: no path from the request touches the disk)."""
    if name not in ASSETS:
        return Response(status_code=404)
    data, etag = _asset(name)
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",  # revalidate: an upgrade is seen at once, a 304 is cheap
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=ASSETS[name], headers=headers)
