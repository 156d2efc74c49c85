"""Scoring a request: the Scorer's steps around the micro-batcher's model calls.

The Scorer (model/scorer.py) owns the path from a post to a decision and its explanation; the API
only runs the model calls through the batcher (so that concurrent requests share forward passes)
and maps the Scorer's rows to its response schema. The API and the command line therefore never
disagree.
"""

from __future__ import annotations

from netralitas.model.records import Record
from netralitas.model.scorer import ScoredPost
from netralitas.serve.deps import ReadyService
from netralitas.serve.schemas import ExplanationSpan, ScoreRequest, ScoreResult

__all__ = ["score_request"]


async def score_request(service: ReadyService, body: ScoreRequest) -> list[ScoreResult]:
    """One result per item, in input order; explanations for items not cleared, if asked."""
    scorer = service.scorer
    # The request schema has validated the items (an empty text is a valid item here).
    records = [
        Record.model_construct(text=item.text, context=item.context, id=item.id)
        for item in body.items
    ]
    prediction = await service.batcher.predict(
        [r.text for r in records], [r.context for r in records]
    )
    scored = scorer.decide(records, prediction.proba, prediction.truncated)
    service.metrics.count_decisions([post.decision for post in scored])
    if body.explain:
        plan = scorer.explanation_plan(records, scored)
        occluded = (
            (await service.batcher.predict(plan.texts, plan.contexts)).proba if plan.texts else None
        )
        scored = scorer.explain(records, scored, plan, occluded)
    return [_result(post, body.explain) for post in scored]


def _result(post: ScoredPost, explain: bool) -> ScoreResult:
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
        explanation=explanation,
        obfuscation=list(post.obfuscation),
    )
