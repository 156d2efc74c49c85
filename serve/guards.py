"""ASGI guards in front of the routes: unknown HTTP methods, and bodies that arrive too slowly.

Both answer before anything is routed or parsed, so one careless or hostile caller costs the
service a few bytes and a bounded wait, never a new metric series or a worker held open.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netralitas.serve.errors import error_response

__all__ = ["KNOWN_METHODS", "BodyTimeout", "BodyTimeoutMiddleware", "MethodFilterMiddleware"]

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


class MethodFilterMiddleware:
    """Answer 501 to any method outside `KNOWN_METHODS`, before routing, with a tiny body.

    The method is never echoed back or logged: it can be kilobytes long (h11 accepts a request
    line up to its incomplete-event limit).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in KNOWN_METHODS:
            await self.app(scope, receive, send)
            return
        response = error_response(
            501,
            "method_not_implemented",
            f"unknown HTTP method; use one of {', '.join(sorted(KNOWN_METHODS))}",
            headers={"Allow": ", ".join(sorted(KNOWN_METHODS)), "Connection": "close"},
        )
        await response(scope, receive, send)


class BodyTimeout(HTTPException):
    """The request body did not arrive in time (an HTTPException so FastAPI passes it through)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"the request body did not arrive within {seconds:g} s; send it at once, or send "
            "less per request",
        )


class BodyTimeoutMiddleware:
    """Abort a request whose body has not fully arrived `seconds` after the request started: 408.

    A slow sender (one byte a minute) would otherwise hold a connection and the app's buffers as
    long as it likes. Once the body is complete, `receive` is passed through untouched (streaming
    responses wait on it for the disconnect).
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.seconds) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except BodyTimeout as exc:
            if started:
                raise
            response = error_response(
                408,
                "body_timeout",
                str(exc.detail),
                headers={"Connection": "close"},
                field="body",
            )
            await response(scope, receive, send)
