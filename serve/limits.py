"""Request limits: body size (before anything is parsed), items per request, characters per text,
and the estimated cost of a score request's work (`request_cost`).

Every refusal names the limit, the value found and, for an item, its index and id, so a client can
split or shorten exactly what was too big.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netralitas.model.actions import readings
from netralitas.model.explain import group_spans, word_spans
from netralitas.serve.errors import ApiError, error_response
from netralitas.serve.schemas import ScoreRequest
from netralitas.serve.settings import ServeSettings

__all__ = [
    "CHARS_PER_TOKEN",
    "BodyLimitMiddleware",
    "RequestCost",
    "check_request_cost",
    "check_score_limits",
    "check_text_length",
    "request_cost",
    "request_deadline",
]

# A token estimate that needs no tokenizer: Indonesian (and subword vocabularies) run near 4
# characters per token; the estimate only has to rank work, not count it exactly.
CHARS_PER_TOKEN = 4


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


@dataclass(frozen=True)
class RequestCost:
    """The estimated work of a score request: model rows and tokens read."""

    items: int
    variants: int  # occluded variants scored for explanations (0 without `explain`)
    tokens: int  # sum over items of tokens x (1 + the item's variants)


def request_cost(body: ScoreRequest, max_spans: int) -> RequestCost:
    """Charge every item its text and context in tokens, once for its score and, with `explain`,
    once more per occluded variant (one per word, grouped to at most `max_spans`).

    Explanations are charged as if every item were explained, though cleared items are not: the
    decision is known only after the model has run, and admission is decided before."""
    variants = tokens = 0
    for item in body.items:
        # What the model reads for the item's action (model/actions.py): a like its liked post,
        # a share two readings; the explanation is of one of them, charged as the longest.
        read = readings(item)
        costs = [1 + (len(r.text) + len(r.context or "")) // CHARS_PER_TOKEN for r in read]
        spans = (
            max(len(group_spans(word_spans(r.text), max_spans)) for r in read)
            if body.explain
            else 0
        )
        variants += spans
        tokens += sum(costs) + max(costs) * spans
    return RequestCost(len(body.items), variants, tokens)


def check_request_cost(cost: RequestCost, max_tokens: int, explain_max_words: int) -> None:
    """413 when the explanations ask for too many words, or the whole request costs too much."""
    if cost.variants > explain_max_words:
        raise ApiError(
            413,
            "too_many_words_to_explain",
            f"explaining these items means scoring {cost.variants} occluded words (long texts "
            f"grouped); the limit is {explain_max_words} per request; send fewer or shorter "
            "items with `explain`, or leave `explain` off",
            field="items",
            limit=explain_max_words,
            found=cost.variants,
        )
    if cost.tokens > max_tokens:
        raise ApiError(
            413,
            "request_too_costly",
            f"the request costs ~{cost.tokens} tokens of work (characters / {CHARS_PER_TOKEN}, "
            f"times 1 + the occluded words with `explain`); the limit is {max_tokens} per "
            "request; split it into several requests or leave `explain` off",
            field="items",
            limit=max_tokens,
            found=cost.tokens,
        )


def request_deadline(header: str | None, settings: ServeSettings) -> float:
    """Seconds a score request may take: the service's limit, or less if `X-Request-Timeout` asks.

    The header is read here rather than declared in the OpenAPI schema: a fuzzer given the
    parameter sends deadlines of 5e-324 s, and the 504 it then gets is right, not a server fault.
    """
    limit = settings.request_timeout_s
    if header is None:
        return limit
    try:
        seconds = float(header)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ApiError(
            422,
            "invalid_request_timeout",
            f"X-Request-Timeout must be a positive number of seconds (at most {limit:g} is "
            f"used); found {header[:40]!r}; send e.g. `X-Request-Timeout: 5` or leave it out",
            field="X-Request-Timeout",
        )
    return min(seconds, limit)
