"""serve/highlight.py: explanation spans as escaped HTML marks."""

from __future__ import annotations

import doctest
import html
import re

import pytest

from netralitas.serve import highlight
from netralitas.serve.highlight import HIGHLIGHT_CSS, highlight_html

_TAG = re.compile(r"</?mark[^>]*>")


def _plain(marked: str) -> str:
    """The text back from the HTML: marks removed, entities decoded."""
    return html.unescape(_TAG.sub("", marked))


def _marked(marked: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark[^>]*>(.*?)</mark>", marked, re.S)]


def test_doctests():
    assert doctest.testmod(highlight).failed == 0


def test_escapes_script_inside_and_outside_marks():
    text = 'Pilih <script>alert("x")</script> & 02'
    start = text.index("<script>")
    out = highlight_html(text, [(start, start + 8, 0.5)])
    assert "<script" not in out and "</script" not in out
    assert "&lt;script&gt;" in out and "&amp;" in out and "&quot;x&quot;" in out
    assert _plain(out) == text
    assert _marked(out) == ["<script>"]


def test_no_spans_is_the_escaped_text():
    assert highlight_html("a < b\nc", []) == "a &lt; b\nc"
    assert highlight_html("", [(0, 3, 1.0)]) == ""


def test_empty_reversed_malformed_and_out_of_range_spans_never_raise():
    text = "Coblos 02"
    out = highlight_html(
        text,
        [(3, 3, 0.9), (5, 2, 0.9), ("x", 2, 0.1), (0, 2), None, (7, 99, 0.4), (-5, 2, 0.2)],  # type: ignore[list-item]
    )
    assert _plain(out) == text
    assert _marked(out) == ["Co", "02"]  # clipped to the text


def test_non_finite_weights_are_marked_lightest():
    out = highlight_html("ab cd", [(0, 2, float("nan")), (3, 5, 0.3)])
    assert 'class="w1"' in out and 'class="w5"' in out


def test_emoji_spans_and_joined_emoji_are_never_split():
    text = "Dukung 02 👍🏽 🇮🇩 👨‍👩‍👧 2️⃣!"
    thumb = text.index("👍")
    flag = text.index("🇮🇩")
    family = text.index("👨")
    keycap = text.index("2️")
    # Spans cut inside the joined characters: each is widened to the whole character.
    out = highlight_html(
        text, [(thumb, thumb + 1, 0.3), (flag + 1, flag + 2, 0.2), (family + 2, family + 3, 0.1)]
    )
    assert _plain(out) == text
    assert _marked(out) == ["👍🏽", "🇮🇩", "👨‍👩‍👧"]
    out = highlight_html(text, [(keycap, keycap + 1, 0.5)])
    assert _marked(out) == ["2️⃣"]


def test_combining_marks_stay_with_their_letter():
    text = "Pe\u0301milu"  # é written as e + combining acute
    out = highlight_html(text, [(0, 2, 0.4)])
    assert _marked(out) == ["Pe\u0301"]
    out = highlight_html(text, [(2, 8, 0.4)])  # starts on the accent
    assert _marked(out) == ["e\u0301milu"]


def test_overlapping_spans_mark_each_stretch_once_by_the_heaviest():
    text = "ayo coblos nomor dua"
    out = highlight_html(text, [(0, 10, 0.2), (4, 16, 0.8), (4, 10, 0.1)])
    assert _plain(out) == text
    assert "<mark" not in "".join(_marked(out))  # never nested
    assert _marked(out) == ["ayo ", "coblos nomor"]
    assert re.findall(r'class="(w\d)"', out) == ["w2", "w5"]


def test_levels_scale_with_weight_and_newlines_are_kept():
    text = "a b c d e\nf"
    spans = [(0, 1, 1.0), (2, 3, 0.8), (4, 5, 0.6), (6, 7, 0.4), (8, 11, 0.05)]
    out = highlight_html(text, spans)
    assert re.findall(r'class="(w\d)"', out) == ["w5", "w4", "w3", "w2", "w1"]
    assert "\n" in out and 'data-weight="0.05"' in out


@pytest.mark.parametrize("level", range(1, 6))
def test_css_styles_every_level(level):
    assert f"mark.w{level}" in HIGHLIGHT_CSS
