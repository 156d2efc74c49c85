"""What the model judges for each action: the one rule for scoring, evaluation and training.

A civil servant takes a side not only by writing: liking, reacting to and sharing a candidate's
post count too (most reported violations are engagement). The model reads a text and an optional
context; each action says which text it reads:

| action            | read as                                                | `judged`      |
|-------------------|--------------------------------------------------------|---------------|
| post, none        | the text (with its context, if any), as always         | `post`        |
| comment           | the comment with the post it answers as context        | `comment`     |
| like, reaction    | the post liked, on its own (the like has no text)      | `liked post`  |
| share             | the higher side score of two readings: the caption     | `caption` or  |
|                   | with the shared post as context, and the shared post   | `shared post` |
|                   | alone                                                  |               |

Why the share rule: sharing spreads the shared content. A partisan post shared with a neutral
caption ("Info", "Lihat ini") still puts the campaign message in front of the sharer's audience,
which the neutrality rules count as taking a side, so the shared post alone must be able to flag
the share; and a partisan caption on a neutral post must flag it too, read (like a comment) with
the post as context. Taking the higher of the two keeps both, and the decision, label and
probabilities are those of the reading that won, so a row always says exactly what was read. A
share that debunks what it shares ("Hoaks, jangan percaya") may be flagged: that is a reason for a
person to look at it, which is what a flag means.

Each reading says which string of the record it reads as text (`field`: `text` or `context`), so
an explanation's spans, offsets into the text read, index `record.text` or `record.context`.

Training fits each labelled record on its first reading (`training_view`): a labelled like teaches
the model what its liked post says; a share trains on its caption with the shared post as context,
as before. Evaluation scores with `judged_proba`, the same readings and the same choice as the
Scorer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from netralitas.model.decision import side_scores
from netralitas.model.records import WITHOUT_TEXT, Record

if TYPE_CHECKING:
    from netralitas.model.backend import Classifier

__all__ = [
    "JUDGED",
    "Judged",
    "Reading",
    "ReadingPlan",
    "judged_proba",
    "readings",
    "training_view",
]

Judged = Literal["post", "comment", "caption", "shared post", "liked post"]
JUDGED: tuple[str, ...] = ("post", "comment", "caption", "shared post", "liked post")
Field = Literal["text", "context"]


class _Item(Protocol):
    """What `readings` needs: a Record, or an API item with the same three fields."""

    @property
    def text(self) -> str: ...
    @property
    def context(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...


@dataclass(frozen=True)
class Reading:
    """One way the model reads an item: `text` (with `context`), what that is, and which field of
    the item `text` is (`text` or `context`: what an explanation's spans index)."""

    text: str
    context: str | None
    judged: Judged
    field: Field


def readings(item: _Item) -> tuple[Reading, ...]:
    """The readings of one item, the first being the one training fits (see the module table).

    >>> [r.judged for r in readings(Record(text="Info", context="Coblos 02!", action="share"))]
    ['caption', 'shared post']
    """
    action, text, context = item.action, item.text, item.context
    if action in WITHOUT_TEXT:
        # A validated record always has the liked post; an unvalidated one reads as empty.
        return (Reading(context or "", None, "liked post", "context"),)
    if action == "share" and context:
        return (
            Reading(text, context, "caption", "text"),
            Reading(context, None, "shared post", "context"),
        )
    if action == "share":  # the shared post is unknown: the caption is all there is
        return (Reading(text, context, "caption", "text"),)
    return (Reading(text, context, "comment" if action == "comment" else "post", "text"),)


def training_view(record: Record) -> Record:
    """`record` as training reads it: its first reading's text and context (a like becomes the
    post it likes; everything else is unchanged)."""
    first = readings(record)[0]
    if (first.text, first.context) == (record.text, record.context):
        return record
    return record.model_copy(update={"text": first.text, "context": first.context})


@dataclass
class ReadingPlan:
    """Every reading of a batch of items, flat (what one model call scores), and whose it is."""

    texts: list[str] = field(default_factory=list)
    contexts: list[str | None] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # reading -> index of its item

    @classmethod
    def of(cls, items: Sequence[_Item]) -> ReadingPlan:
        plan = cls()
        for i, item in enumerate(items):
            for reading in readings(item):
                plan.texts.append(reading.text)
                plan.contexts.append(reading.context)
                plan.readings.append(reading)
                plan.owners.append(i)
        return plan

    def pick(self, side: np.ndarray) -> list[int]:
        """Per item, the index of its reading with the highest side score `side` (one per reading;
        the first reading on a tie)."""
        best: dict[int, int] = {}
        for j, owner in enumerate(self.owners):
            if owner not in best or side[j] > side[best[owner]]:
                best[owner] = j
        return [best[i] for i in range(len(best))]


def judged_proba(model: Classifier, records: Sequence[Record]) -> np.ndarray:
    """Probabilities `(len(records), len(labels))`, each row the reading the Scorer decides on."""
    plan = ReadingPlan.of(records)
    if not plan.texts:
        return np.zeros((0, len(model.labels)))
    proba = model.predict_proba(plan.texts, plan.contexts)
    meta = model.metadata_
    return proba[plan.pick(side_scores(proba, meta.labels, meta.neutral_label))]
