"""Counts and vocabulary statistics of a labelled set, as Markdown for a data card.

`netralitas data stats FILE...` prints them; data/README.md carries the output for the bundled set.
The most frequent tokens per label (after the project's normalisation and profile masking, stop
words removed) make shortcut words visible: a word frequent in one label only is one a model may
lean on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from netralitas.model.records import Record
from netralitas.model.text.normalize import TextNormalizer
from netralitas.model.text.stemming import StemTokenizer

__all__ = ["data_card"]

FIELDS = ("label", "tag", "platform", "action")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _counts(parts: Mapping[str, Sequence[Record]], field: str, key=None) -> str:
    key = key or (lambda r: getattr(r, field))
    counters = {name: Counter(key(r) for r in records) for name, records in parts.items()}
    values = sorted({v for c in counters.values() for v in c}, key=lambda v: (v is None, str(v)))
    total = Counter()
    for c in counters.values():
        total.update(c)
    rows = [
        [v if v is not None else "(none)", *(counters[n][v] for n in parts), total[v]]
        for v in values
    ]
    return _table([field, *parts, "all"], rows)


def data_card(
    parts: Mapping[str, Sequence[Record]],
    normalizer: TextNormalizer,
    election_types: Mapping[str, str] | None = None,
    top: int = 30,
) -> str:
    """Markdown: counts per label, tag, platform, action, election type and split; context share;
    vocabulary size; the `top` most frequent tokens per label."""
    everything = [r for records in parts.values() for r in records]
    sections = [
        f"{len(everything)} rows: "
        + ", ".join(f"{name} {len(rs)}" for name, rs in parts.items())
        + "."
    ]
    for field in FIELDS:
        sections.append(f"**By {field}**\n\n" + _counts(parts, field))
    if election_types is not None:
        sections.append(
            "**By election type**\n\n"
            + _counts(parts, "election type", lambda r: election_types.get(r.election or "", None))
        )
    with_context = sum(r.context is not None for r in everything)
    sections.append(f"Rows with a context: {with_context} ({with_context / len(everything):.0%}).")

    tokenize = StemTokenizer(stem=False)
    per_label: dict[str, Counter] = {}
    vocabulary: set[str] = set()
    for r in everything:
        tokens = tokenize(normalizer(r.text))
        vocabulary.update(tokens)
        per_label.setdefault(r.label or "", Counter()).update(set(tokens))
    sections.append(
        f"Vocabulary: {len(vocabulary)} distinct tokens after normalisation and profile masking "
        "(stop words removed, no stemming)."
    )
    for label, counter in sorted(per_label.items()):
        n = sum(r.label == label for r in everything)
        words = ", ".join(f"{w} ({c / n:.0%})" for w, c in counter.most_common(top))
        sections.append(
            f"Most frequent tokens in `{label}` rows (share of rows containing them): {words}."
        )
    return "\n\n".join(sections) + "\n"
