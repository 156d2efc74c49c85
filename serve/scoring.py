"""Scoring a request: the Scorer's steps around the micro-batcher's model calls.

The Scorer (model/scorer.py) owns the path from a post to a decision and its explanation; the API
only runs the model calls through the batcher (so that concurrent requests share forward passes)
and maps the Scorer's rows to its response schema. The API and the command line therefore never
disagree.

`score_within` runs it under a deadline and watches the connection: when the deadline passes or the
client disconnects, the scoring coroutine is cancelled, which cancels its batcher futures, and the
batcher drops their work before the next model call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starlette.requests import Request

from netralitas.model.actions import ReadingPlan
from netralitas.model.records import Record
from netralitas.model.scorer import ScoredPost
from netralitas.serve.deps import ReadyService
from netralitas.serve.errors import ClientGone, DeadlineExceeded
from netralitas.serve.schemas import ExplanationSpan, ScoreItem, ScoreRequest, ScoreResult

__all__ = ["score_request", "score_within"]


async def score_within(
    service: ReadyService, body: ScoreRequest, request: Request, seconds: float
) -> list[ScoreResult]:
    """`score_request`, or `DeadlineExceeded` after `seconds`, or `ClientGone` on a disconnect."""
    limit = service.settings.request_timeout_s
    return await _race(score_request(service, body), request, seconds, limit)


async def _race(
    coro: Coroutine[Any, Any, list[ScoreResult]], request: Request, seconds: float, limit: float
) -> list[ScoreResult]:
    work = asyncio.ensure_future(coro)
    gone = asyncio.create_task(_disconnected(request))
    try:
        done, _ = await asyncio.wait(
            {work, gone}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:  # also when this request itself is cancelled (the server stopping)
        for task in (work, gone):
            task.cancel()
        await asyncio.gather(work, gone, return_exceptions=True)
    if work in done:
        return work.result()
    if gone in done:
        raise ClientGone()
    raise DeadlineExceeded(seconds, limit)


async def _disconnected(request: Request) -> None:
    """Return when the client disconnects. The body has been read by then, so `receive` waits
    for the next message, which is `http.disconnect` (uvicorn, Starlette's and httpx's test
    transports)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)  # never spin on a server that sends something else


async def score_request(service: ReadyService, body: ScoreRequest) -> list[ScoreResult]:
    """One result per item, in input order; explanations for items not cleared, if asked."""
    scorer = service.scorer
    # The request schema has validated the items (with the records' rule for each action).
    records = [
        Record.model_construct(
            text=item.text,
            context=item.context,
            id=item.id,
            action=item.action,
            account=item.account,
            posted_at=item.posted_at,
            url=item.url,
        )
        for item in body.items
    ]
    # What each item's action says to read (a like: the liked post; a share: two readings).
    reading = ReadingPlan.of(records)
    prediction = await service.batcher.predict(reading.texts, reading.contexts)
    scored = scorer.decide(records, prediction.proba, prediction.truncated, plan=reading)
    service.metrics.count_decisions([post.decision for post in scored])
    if body.explain:
        plan = scorer.explanation_plan(records, scored)
        occluded = (
            (await service.batcher.predict(plan.texts, plan.contexts)).proba if plan.texts else None
        )
        scored = scorer.explain(records, scored, plan, occluded)
    return [
        _result(post, item, body.explain) for post, item in zip(scored, body.items, strict=True)
    ]


def _result(post: ScoredPost, item: ScoreItem, explain: bool) -> ScoreResult:
    explanation = None
    if explain and post.decision != "clear":
        explanation = [ExplanationSpan(**vars(a)) for a in post.explanation or ()]
    return ScoreResult(
        id=post.id,
        label=post.label,
        score=post.score,
        scores=post.scores,
        decision=post.decision,
        truncated=post.truncated,
        action=post.action,
        judged=post.judged,
        judged_field=post.judged_field,
        account=item.account,
        posted_at=item.posted_at,
        url=item.url,
        explanation=explanation,
        obfuscation=list(post.obfuscation),
    )
