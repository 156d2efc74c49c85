"""Scoring a request: one batched model call for the items, one for the explanations.

The decision rule is the model's own (`decide` with the thresholds stored in the artifact), the
same one `netralitas score` applies, so the API and the command line never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netralitas.model.classifier import decide, side_scores
from netralitas.model.explain import (
    Attribution,
    attribute,
    group_spans,
    occluded_texts,
    word_spans,
)

from .batcher import MicroBatcher
from .deps import ReadyService
from .schemas import ExplanationSpan, ScoreRequest, ScoreResult

__all__ = ["explain_items", "score_request"]


async def score_request(service: ReadyService, body: ScoreRequest) -> list[ScoreResult]:
    """One result per item, in input order; explanations for items not cleared, if asked."""
    model, meta = service.model, service.model.metadata_
    texts = [item.text for item in body.items]
    contexts = [item.context for item in body.items]
    prediction = await service.batcher.predict(texts, contexts)
    labels, decisions = decide(prediction.proba, meta)
    scores = side_scores(prediction.proba, model.labels, meta.neutral_label)
    service.metrics.count_decisions(decisions)
    explanations: dict[int, list[Attribution]] = {}
    if body.explain:
        wanted = [i for i, d in enumerate(decisions) if d != "clear"]
        explanations = await explain_items(
            service.batcher,
            texts,
            contexts,
            scores,
            wanted,
            labels=model.labels,
            neutral_label=meta.neutral_label,
            max_spans=service.settings.explain_max_spans,
            top_k=service.settings.explain_top_k,
        )
    return [
        ScoreResult(
            id=item.id if item.id is not None else str(i + 1),
            label=labels[i],
            score=round(float(scores[i]), 6),
            scores={
                label: round(float(p), 6)
                for label, p in zip(model.labels, prediction.proba[i], strict=True)
            },
            decision=decisions[i],
            truncated=bool(prediction.truncated[i]),
            explanation=[ExplanationSpan(**vars(a)) for a in explanations[i]]
            if i in explanations
            else None,
        )
        for i, item in enumerate(body.items)
    ]


async def explain_items(
    batcher: MicroBatcher,
    texts: Sequence[str],
    contexts: Sequence[str | None],
    scores: np.ndarray,
    indices: Sequence[int],
    *,
    labels: Sequence[str],
    neutral_label: str,
    max_spans: int,
    top_k: int,
) -> dict[int, list[Attribution]]:
    """Occlusion attributions for `texts[i]`, i in `indices`, from one batched model call."""
    plans: dict[int, tuple[list[tuple[int, int]], int]] = {}
    variants: list[str] = []
    variant_contexts: list[str | None] = []
    for i in indices:
        spans = group_spans(word_spans(texts[i]), max_spans)
        plans[i] = (spans, len(variants))
        variants += occluded_texts(texts[i], spans)
        variant_contexts += [contexts[i]] * len(spans)
    if not variants:
        return {i: [] for i in indices}
    prediction = await batcher.predict(variants, variant_contexts)
    occluded = side_scores(prediction.proba, labels, neutral_label)  # (n_variants,)
    return {
        i: attribute(texts[i], spans, float(scores[i]), occluded[start : start + len(spans)], top_k)
        for i, (spans, start) in plans.items()
    }
