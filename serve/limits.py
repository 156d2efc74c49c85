"""Request limits: body size (before anything is parsed), items per request, characters per text.

Every refusal names the limit, the value found and, for an item, its index and id, so a client can
split or shorten exactly what was too big.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netralitas.serve.errors import ApiError, error_response
from netralitas.serve.schemas import ScoreRequest

__all__ = ["BodyLimitMiddleware", "check_score_limits", "check_text_length"]


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, reading at most `max_bytes` of them.

    A declared Content-Length over the limit is refused before any byte is read; a chunked body is
    counted as it arrives. The accepted body is handed on to the app unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(declared, scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(size, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, found: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            "body_too_large",
            f"the request body has at least {found} bytes; the limit is {self.max_bytes}; "
            "send fewer items per request",
            field="body",
            limit=self.max_bytes,
            found=found,
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def check_text_length(
    value: str | None, field: str, limit: int, item: int | None = None, item_id: str | None = None
) -> None:
    """Raise 422 `text_too_long` when `value` has more than `limit` characters."""
    if value is None or len(value) <= limit:
        return
    where = f"items[{item}].{field}" if item is not None else field
    named = f" (id {item_id!r})" if item_id is not None else ""
    raise ApiError(
        422,
        "text_too_long",
        f"{where}{named} has {len(value)} characters; the limit is {limit}; shorten it",
        item=item,
        id=item_id,
        field=field,
        limit=limit,
        found=len(value),
    )


def check_score_limits(
    body: ScoreRequest, max_items: int, max_text_chars: int, explain_max_items: int
) -> None:
    """413 for too many items (fewer with `explain`, whose cost grows with every word); 422 for
    the first text or context over the character limit."""
    if body.explain and len(body.items) > explain_max_items:
        raise ApiError(
            413,
            "too_many_items_to_explain",
            f"the request has {len(body.items)} items and asks for explanations; the limit is "
            f"{explain_max_items} items with `explain`; send fewer items or leave `explain` off",
            field="items",
            limit=explain_max_items,
            found=len(body.items),
        )
    if len(body.items) > max_items:
        raise ApiError(
            413,
            "too_many_items",
            f"the request has {len(body.items)} items; the limit is {max_items} per request; "
            "split it into several requests",
            field="items",
            limit=max_items,
            found=len(body.items),
        )
    for index, item in enumerate(body.items):
        check_text_length(item.text, "text", max_text_chars, index, item.id)
        check_text_length(item.context, "context", max_text_chars, index, item.id)
