"""Explanation spans as HTML: the post, escaped, with the words that weighed most marked.

Spans are Python string indices into the text as sent (`model/explain.py`, `Attribution`), so
`text[start:end]` is the word. They come from outside (a scored file, a browser) and are treated
as untrusted: a span out of range is clipped, an empty, reversed or malformed one is skipped, and
nothing here raises on a bad span. Overlapping spans never nest marks: each stretch of text is
marked once, by the heaviest span that covers it.

A span edge that would cut a character a reader sees as one (a letter and its combining accent,
an emoji with its skin tone, variation selector or zero-width-joiner sequence, a flag's two
regional indicators, a keycap) is moved outwards to the whole character, so a mark never splits
one.

Intensity: `w1` (lightest) to `w5` (strongest), by each weight's size relative to the heaviest
span of the post (a post with one span shows it at `w5`). Newlines are kept as they are; the
page sets `white-space: pre-wrap`.

>>> highlight_html("Gas pol <02>!", [(0, 3, 0.4), (8, 12, 0.1)])
'<mark class="w5" data-weight="0.4">Gas</mark> pol <mark class="w2" data-weight="0.1">&lt;02&gt;</mark>!'
"""

from __future__ import annotations

import html
import itertools
import math
import unicodedata
from collections.abc import Sequence

__all__ = ["HIGHLIGHT_CSS", "LEVELS", "highlight_html"]

LEVELS = 5

# Light to strong; dark text stays readable on every level, and the outline keeps marks visible
# in forced-colors (high-contrast) mode, where backgrounds are dropped.
HIGHLIGHT_CSS = """\
mark[data-weight]{color:inherit;border-radius:2px;padding:0 1px;outline:1px solid transparent}
mark.w1{background:rgba(255,170,0,.18)}
mark.w2{background:rgba(255,170,0,.32)}
mark.w3{background:rgba(255,140,0,.48)}
mark.w4{background:rgba(255,110,0,.64)}
mark.w5{background:rgba(255,80,0,.80)}
"""

_ZWJ = "\u200d"


def highlight_html(text: str, spans: Sequence[tuple[int, int, float]]) -> str:
    """`text`, HTML-escaped, with each span `[start, end)` wrapped in `<mark class="wN">`.

    >>> highlight_html("a & b", [])
    'a &amp; b'
    """
    clean = _clean_spans(text, spans)
    if not clean:
        return html.escape(text)
    heaviest = max(weight for _, _, weight in clean)
    # Cut the text at every span edge; each piece is marked by the heaviest span covering it.
    edges = sorted({0, len(text), *(s for s, _, _ in clean), *(e for _, e, _ in clean)})
    pieces: list[tuple[int, int, int | None]] = []  # (start, end, index of the winning span)
    for start, end in itertools.pairwise(edges):
        covering = [i for i, (s, e, _) in enumerate(clean) if s <= start and end <= e]
        # The heaviest wins; on a tie the first span given (the explanation's own order).
        winner = min(covering, key=lambda i: (-clean[i][2], i)) if covering else None
        if pieces and pieces[-1][2] == winner:
            pieces[-1] = (pieces[-1][0], end, winner)
        else:
            pieces.append((start, end, winner))
    out = []
    for start, end, winner in pieces:
        piece = html.escape(text[start:end])
        if winner is None:
            out.append(piece)
            continue
        weight = clean[winner][2]
        level = _level(weight, heaviest)
        out.append(f'<mark class="w{level}" data-weight="{weight:.4g}">{piece}</mark>')
    return "".join(out)


def _clean_spans(
    text: str, spans: Sequence[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """The usable spans: clipped to the text, widened to whole characters, non-empty."""
    clean = []
    for span in spans or ():
        try:
            raw_start, raw_end, raw_weight = span
            start, end, weight = int(raw_start), int(raw_end), float(raw_weight)
        except (TypeError, ValueError, OverflowError):
            continue
        if not math.isfinite(weight):
            weight = 0.0
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        if start >= end:
            continue
        clean.append((_grapheme_start(text, start), _grapheme_end(text, end), weight))
    return clean


def _level(weight: float, heaviest: float) -> int:
    if heaviest <= 0 or weight <= 0:
        return 1
    return max(1, min(LEVELS, math.ceil(LEVELS * weight / heaviest - 1e-9)))


def _joins_previous(text: str, i: int) -> bool:
    """Whether the character at `i` belongs to the one before it (so `i` is no place to cut)."""
    if i <= 0 or i >= len(text):
        return False
    ch, prev = text[i], text[i - 1]
    code = ord(ch)
    if prev == _ZWJ or ch == _ZWJ:
        return True
    if unicodedata.combining(ch) or unicodedata.category(ch) in {"Mn", "Me", "Mc"}:
        return True
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True  # variation selectors, skin tones, emoji tag characters
    if _regional(ch) and _regional(prev):
        # Flags are pairs of regional indicators: `i` is inside one after an odd run of them.
        run = 0
        while i - run - 1 >= 0 and _regional(text[i - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _grapheme_start(text: str, i: int) -> int:
    while i > 0 and _joins_previous(text, i):
        i -= 1
    return i


def _grapheme_end(text: str, i: int) -> int:
    while i < len(text) and _joins_previous(text, i):
        i += 1
    return i
