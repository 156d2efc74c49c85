"""The Scorer: the one path from a raw post to a decision, for the CLI, the API and evaluation.

    raw post (Record) -> the backend reads it (normalised text -> probabilities)
                      -> side score 1 - p(neutral) -> decision with the artifact's thresholds
                      -> ScoredPost (+ explanation: spans into the text as sent)
                                    (+ the kinds of obfuscation undone: a signal for reviewers)

What is read depends on the action (model/actions.py): a like is judged on the post it likes, a
share on the higher of its caption (with the shared post) and the shared post alone. Each post's
readings are scored in the same model call (`ReadingPlan`), and the ScoredPost says what was
judged and which field (`text` or `context`) its explanation's spans index.

Callers never rebuild a step: `score` runs the whole path; the API, which batches the model calls
of many requests together, runs the same steps one by one (`decide`, then `explanation_plan` and
`explain`) around its own model calls. Either way the decision rule and the explanation rule are
the ones below.

Explanations are by occlusion (model/explain.py): each word (or run of words, for long posts) is
removed in turn, and the drop of the side score is its weight. One rule everywhere: the `top_k`
spans whose removal lowered the side score, strongest first. They answer the reviewer's question
("which words made this a flag?") and need nothing but `predict_proba`, so every backend is
explained the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.model.actions import Reading, ReadingPlan, readings
from netralitas.model.backend import Classifier
from netralitas.model.decision import Decision, decide, side_scores
from netralitas.model.explain import Attribution, attribute, group_spans, occluded_texts, word_spans
from netralitas.model.records import Record
from netralitas.model.text.deobfuscate import obfuscation_signal

__all__ = ["ExplanationPlan", "ScoredPost", "Scorer"]

# Explanations cost one model row per span: long posts are cut into at most this many spans.
MAX_SPANS = 64
TOP_K = 5


@dataclass(frozen=True)
class ScoredPost:
    """The outcome for one post: what the CLI writes and the API returns, before formatting.

    `obfuscation` lists the kinds of obfuscation undone in the post's text before the model read it
    (`model/text/deobfuscate.py`, e.g. `("invisible", "confusable")`; stretched letters are read
    through but not listed, ordinary posts are full of them): someone hiding words from a filter
    is itself worth a reviewer's look.

    `judged` says what the model read (`post`, `comment`, `caption`, `shared post`, `liked
    post`: model/actions.py) and `judged_field` which field of the record that is (`text` or
    `context`); the explanation's spans are offsets into that field.
    """

    id: str
    label: str
    decision: Decision
    score: float
    scores: dict[str, float]
    truncated: bool
    model_name: str
    model_version: str
    explanation: tuple[Attribution, ...] | None = None
    obfuscation: tuple[str, ...] = ()
    action: str | None = None
    judged: str = "post"
    judged_field: str = "text"

    def as_row(self) -> dict[str, Any]:
        """The output row of `netralitas score` (JSON Lines)."""
        return {
            "id": self.id,
            "label": self.label,
            "decision": self.decision,
            "score": self.score,
            "scores": self.scores,
            "obfuscation": list(self.obfuscation),
            "action": self.action,
            "judged": self.judged,
            "judged_field": self.judged_field,
            "model": {"name": self.model_name, "version": self.model_version},
        }


@dataclass(frozen=True)
class ExplanationPlan:
    """The occluded variants to score for a batch of explanations, and where each post's start."""

    texts: list[str]
    contexts: list[str | None]
    spans: dict[int, tuple[list[tuple[int, int]], int]]  # post index -> (spans, first variant)


class Scorer:
    """Scores posts with one model: probabilities, side score, decision, explanation.

    `top_k` and `max_spans` bound explanations (see the module docstring).
    """

    def __init__(self, model: Classifier, *, top_k: int = TOP_K, max_spans: int = MAX_SPANS):
        self.model = model
        self.top_k = top_k
        self.max_spans = max_spans

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profile_paths: Sequence[str | Path] = (),
        inference: str = "auto",
        **settings: Any,
    ) -> Scorer:
        """Load an artifact (optionally reading another election through `profile_paths`)."""
        from netralitas.model.loading import load_classifier
        from netralitas.model.text.profiles import load_profiles

        profiles = load_profiles(list(profile_paths)) if profile_paths else None
        return cls(load_classifier(directory, profiles=profiles, inference=inference), **settings)

    @property
    def metadata(self):
        return self.model.metadata_

    def describe(self) -> str:
        """One line on how the model computes here (for logs), or '' when there is no choice."""
        plan = self.model.inference_plan
        return f"scoring with {plan.reason}" if plan is not None else ""

    # -- the whole path --------------------------------------------------------------------------
    def score(
        self,
        records: Sequence[Record],
        *,
        explain: bool = False,
        batch_size: int = 256,
        progress: bool = False,
    ) -> Iterator[ScoredPost]:
        """Yield one ScoredPost per record, in input order, `batch_size` posts per model call.

        With `explain`, posts that are not cleared get an explanation (one extra model call per
        batch for their occluded variants).
        """
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(records),
            unit="post",
            disable=not progress or len(records) < 1000,
            file=sys.stderr,
        )
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            reading = ReadingPlan.of(batch)
            proba = self.model.predict_proba(reading.texts, reading.contexts)
            truncated = self.model.truncated(reading.texts, reading.contexts)
            scored = self.decide(batch, proba, truncated, first_row=start + 1, plan=reading)
            if explain:
                plan = self.explanation_plan(batch, scored)
                occluded = (
                    self.model.predict_proba(plan.texts, plan.contexts) if plan.texts else None
                )
                scored = self.explain(batch, scored, plan, occluded)
            yield from scored
            bar.update(len(batch))
        bar.close()

    # -- the steps -------------------------------------------------------------------------------
    def decide(
        self,
        records: Sequence[Record],
        proba: np.ndarray,
        truncated: np.ndarray | None = None,
        first_row: int = 1,
        plan: ReadingPlan | None = None,
    ) -> list[ScoredPost]:
        """ScoredPosts from the model's probabilities for `records`.

        With `plan` (`ReadingPlan.of(records)`), `proba` has one row per reading of the plan and
        each post is decided on its reading with the highest side score (model/actions.py);
        without, one row per record, read as its first reading. A record without an id gets its
        1-based position (`first_row` is the first one's).
        """
        meta = self.metadata
        cut = np.zeros(len(proba), dtype=bool) if truncated is None else np.asarray(truncated)
        if plan is None:
            chosen: list[Reading] = [readings(record)[0] for record in records]
        else:
            rows = plan.pick(side_scores(proba, meta.labels, meta.neutral_label))
            proba, cut = proba[rows], cut[rows]
            chosen = [plan.readings[j] for j in rows]
        labels, decisions = decide(proba, meta)
        scores = side_scores(proba, meta.labels, meta.neutral_label)
        return [
            ScoredPost(
                id=record.id if record.id is not None else str(first_row + i),
                label=labels[i],
                decision=decisions[i],
                score=round(float(scores[i]), 6),
                scores={
                    label: round(float(p), 6)
                    for label, p in zip(meta.labels, proba[i], strict=True)
                },
                truncated=bool(cut[i]),
                model_name=meta.name,
                model_version=meta.version,
                obfuscation=obfuscation_signal(chosen[i].text),
                action=record.action,
                judged=chosen[i].judged,
                judged_field=chosen[i].field,
            )
            for i, record in enumerate(records)
        ]

    def explanation_plan(
        self, records: Sequence[Record], scored: Sequence[ScoredPost]
    ) -> ExplanationPlan:
        """The occluded variants that explain every post that is not cleared."""
        plan = ExplanationPlan([], [], {})
        for i, (record, post) in enumerate(zip(records, scored, strict=True)):
            if post.decision == "clear":
                continue
            read = _judged_reading(record, post)
            spans = group_spans(word_spans(read.text), self.max_spans)
            plan.spans[i] = (spans, len(plan.texts))
            plan.texts.extend(occluded_texts(read.text, spans))
            plan.contexts.extend([read.context] * len(spans))
        return plan

    def explain(
        self,
        records: Sequence[Record],
        scored: Sequence[ScoredPost],
        plan: ExplanationPlan,
        occluded_proba: np.ndarray | None,
    ) -> list[ScoredPost]:
        """`scored` with explanations from the probabilities of `plan`'s variants."""
        from dataclasses import replace

        meta = self.metadata
        occluded = (
            side_scores(occluded_proba, meta.labels, meta.neutral_label)
            if occluded_proba is not None and len(occluded_proba)
            else np.zeros(0)
        )
        out = list(scored)
        for i, (spans, first) in plan.spans.items():
            weights = attribute(
                _judged_reading(records[i], scored[i]).text,
                spans,
                scored[i].score,
                occluded[first : first + len(spans)],
                self.top_k,
            )
            out[i] = replace(scored[i], explanation=tuple(weights))
        return out

    def explain_one(self, record: Record) -> tuple[Attribution, ...]:
        """The explanation of one post whatever its decision (error analysis looks at cleared
        false negatives too): the same readings, spans and rule as `score(..., explain=True)`.
        The spans index the field the ScoredPost's `judged_field` names (`explain_scored`)."""
        return self.explain_scored(record).explanation or ()

    def explain_scored(self, record: Record) -> ScoredPost:
        """One post scored and explained whatever its decision (see `explain_one`)."""
        reading = ReadingPlan.of([record])
        proba = self.model.predict_proba(reading.texts, reading.contexts)
        post = self.decide([record], proba, plan=reading)[0]
        read = _judged_reading(record, post)
        spans = group_spans(word_spans(read.text), self.max_spans)
        if not spans:
            return post
        plan = ExplanationPlan(
            occluded_texts(read.text, spans), [read.context] * len(spans), {0: (spans, 0)}
        )
        occluded = self.model.predict_proba(plan.texts, plan.contexts)
        return self.explain([record], [post], plan, occluded)[0]


def _judged_reading(record: Record, post: ScoredPost) -> Reading:
    """The reading of `record` that `post` was decided on."""
    options = readings(record)
    return next((r for r in options if r.judged == post.judged), options[0])
