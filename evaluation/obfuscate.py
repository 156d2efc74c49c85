"""Obfuscating a post the way someone dodging a filter writes it: the evasion suite's perturbations.

Each rewrites a post as evaders actually type: invisible characters inside words, Cyrillic and Greek
look-alike letters, fullwidth and "fancy" mathematical letters, words spaced or dotted apart
("c o b l o s"), leetspeak ("c0bl0s"), stretched letters ("cobloooos"), and number emoji or hand
signs for the ballot number ("2️⃣", "✌️"). They are written from their own small tables, never with
the normaliser's code (model/text/deobfuscate.py), so that the suite (evasion.py) catches what the
normaliser misses; each draws from the `random.Random` it is given, so a seed repeats it.
`readable` marks those a reader still reads at a glance.

>>> import random
>>> spaced("Ayo coblos nomor 2", random.Random(1))
'Ayo c o b l o s n o m o r 2'
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Evasion",
    "dotted",
    "evasions",
    "fullwidth",
    "homoglyph",
    "leet",
    "leet_heavy",
    "math_letters",
    "number_emoji",
    "spaced",
    "stretched",
    "zero_width",
]

Rewrite = Callable[[str, random.Random], str]


@dataclass(frozen=True)
class Evasion:
    """A named rewrite; `readable`: a person still reads the words at a glance."""

    name: str
    description: str
    readable: bool
    rewrite: Rewrite


# Plain words of three or more letters; URLs, @mentions and #hashtags are left alone (an evader
# cannot change where a link points, and a mangled mention no longer reaches anyone).
_SKIP = re.compile(r"(?:https?://|www\.)\S+|[#@]\w+|\S+\.(?:com|id|co|net|org|ly|me|io)\b\S*")
_LETTERS = re.compile(r"[A-Za-z]{3,}")


def _on_words(text: str, rng: random.Random, change: Callable[[str, random.Random], str]) -> str:
    """`change` applied to every plain word, left to right (one generator, so runs repeat)."""
    out, pos = [], 0
    for skip in [*_SKIP.finditer(text), None]:
        end = skip.start() if skip else len(text)
        out.append(_LETTERS.sub(lambda m: change(m.group(), rng), text[pos:end]))
        if skip:
            out.append(skip.group())
            pos = skip.end()
    return "".join(out)


def _some_words(text: str, rng: random.Random, change: Callable[[str], str], k: int = 2) -> str:
    """`change` applied to up to `k` words of four or more letters (the ones a filter looks at
    are usually the long ones: "coblos", "pilih", names), chosen at random."""
    skipped = [s.span() for s in _SKIP.finditer(text)]
    spans = [
        m.span()
        for m in re.finditer(r"[A-Za-z]{4,}", text)
        if not any(a <= m.start() < b for a, b in skipped)
    ]
    for start, end in sorted(rng.sample(spans, min(k, len(spans))), reverse=True):
        text = text[:start] + change(text[start:end]) + text[end:]
    return text


# -- the perturbations ----------------------------------------------------------------------------
_INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen
)


def zero_width(text: str, rng: random.Random) -> str:
    """An invisible character inside most words of four or more letters ("cob\u200blos")."""

    def one(word: str, rng: random.Random) -> str:
        if len(word) < 4 or rng.random() < 0.3:
            return word
        cut = rng.randrange(1, len(word))
        return word[:cut] + rng.choice(_INVISIBLE) + word[cut:]

    return _on_words(text, rng, one)


# Latin letter -> look-alikes people paste in from Cyrillic and Greek keyboards.
_HOMOGLYPHS = {
    "a": "аα", "c": "сϲ", "e": "е", "i": "іι", "j": "ј", "o": "оο", "p": "рρ", "s": "ѕ",
    "x": "х", "y": "уγ", "h": "һ", "v": "ν", "A": "АΑ", "B": "ВΒ", "C": "С", "E": "ЕΕ",
    "H": "НΗ", "I": "ІΙ", "J": "Ј", "K": "КΚ", "M": "МΜ", "N": "Ν", "O": "ОΟ", "P": "РΡ",
    "S": "Ѕ", "T": "ТΤ", "X": "ХΧ", "Y": "УΥ", "Z": "Ζ",
}  # fmt: skip


def homoglyph(text: str, rng: random.Random) -> str:
    """About half of the letters that have a Cyrillic or Greek look-alike swapped for it."""

    def one(word: str, rng: random.Random) -> str:
        return "".join(
            rng.choice(_HOMOGLYPHS[c]) if c in _HOMOGLYPHS and rng.random() < 0.5 else c
            for c in word
        )

    return _on_words(text, rng, one)


def fullwidth(text: str, rng: random.Random) -> str:
    """The whole post in fullwidth forms ("Ａｙｏ ｃｏｂｌｏｓ"), as East Asian keyboards type it."""
    return "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text
    )


_MATH_STYLES = ("BOLD", "ITALIC", "BOLD ITALIC", "SANS-SERIF BOLD", "BOLD SCRIPT", "MONOSPACE")
_DIGIT_NAMES = "ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split()


def _math_char(c: str, style: str) -> str:
    if c.isascii() and c.isalpha():
        case = "CAPITAL" if c.isupper() else "SMALL"
        names = [f"MATHEMATICAL {style} {case} {c.upper()}", f"{style} {case} {c.upper()}"]
        if (style, c) == ("ITALIC", "h"):
            names.append("PLANCK CONSTANT")  # the one hole of the italic alphabet
    elif c.isascii() and c.isdigit():
        names = [f"MATHEMATICAL {style} DIGIT {_DIGIT_NAMES[int(c)]}"]
    else:
        return c
    for name in names:
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return c


def math_letters(text: str, rng: random.Random) -> str:
    """The whole post in one "fancy text" style (mathematical bold, italic, script, ...)."""
    style = rng.choice(_MATH_STYLES)
    return "".join(_math_char(c, style) for c in text)


def spaced(text: str, rng: random.Random) -> str:
    """One or two words written with spaces between their letters ("c o b l o s")."""
    return _some_words(text, rng, " ".join)


def dotted(text: str, rng: random.Random) -> str:
    """One or two words written with dots between their letters ("c.o.b.l.o.s")."""
    return _some_words(text, rng, ".".join)


_LEET = {"a": "4@", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "g": "9", "b": "8"}
_LEET_LIGHT = {"a": "4", "e": "3", "i": "1", "o": "0"}


def leet(text: str, rng: random.Random) -> str:
    """Vowels inside words written as digits, about half of them ("c0bl0s", "pr4bowo")."""

    def one(word: str, rng: random.Random) -> str:
        inner = "".join(
            rng.choice(_LEET_LIGHT[c.lower()])
            if c.lower() in _LEET_LIGHT and rng.random() < 0.5
            else c
            for c in word[1:-1]
        )
        return word[0] + inner + word[-1]

    return _on_words(text, rng, one)


def leet_heavy(text: str, rng: random.Random) -> str:
    """Every letter that has a digit or symbol form replaced, first and last ones too ("4y0 c0bl05")."""

    def one(word: str, rng: random.Random) -> str:
        return "".join(rng.choice(_LEET[c.lower()]) if c.lower() in _LEET else c for c in word)

    return _on_words(text, rng, one)


def stretched(text: str, rng: random.Random) -> str:
    """One to three words with a letter held for 3-6 characters ("cobloooos")."""

    def stretch(word: str) -> str:
        vowels = [i for i, c in enumerate(word) if c.lower() in "aiueo"] or [len(word) - 1]
        i = rng.choice(vowels)
        return word[:i] + word[i] * rng.randint(3, 6) + word[i + 1 :]

    return _some_words(text, rng, stretch, k=rng.randint(1, 3))


_KEYCAP = {str(d): f"{d}\ufe0f\u20e3" for d in range(10)}
_SIGNS = {"1": "☝️", "2": "✌️", "3": "🤟"}  # one, two, three fingers ("salam metal" for three)
_BALLOT_NUMBER = re.compile(
    r"(?i)\b(no\.?|nomor|nomer|nmr|urut|paslon|coblos|pilih|salam)(\s*)(0?)([1-9])\b(?![.,:/]\d)"
)


def number_emoji(text: str, rng: random.Random) -> str:
    """A ballot number after "no", "nomor", "paslon", "coblos", ... written as a keycap emoji
    ("nomor 2️⃣", "0️⃣2️⃣") or a hand sign ("coblos ✌️"). Posts without one are unchanged."""

    def one(m: re.Match[str]) -> str:
        cue, space, zero, digit = m.groups()
        if digit in _SIGNS and rng.random() < 0.5:
            return f"{cue} {_SIGNS[digit]}"
        return cue + space + "".join(_KEYCAP[d] for d in zero + digit)

    return _BALLOT_NUMBER.sub(one, text)


def evasions() -> list[Evasion]:
    """Every perturbation, in report order."""
    return [
        Evasion("zero_width", "invisible characters inside words", True, zero_width),
        Evasion("homoglyph", "Cyrillic/Greek look-alike letters", True, homoglyph),
        Evasion("fullwidth", "the post in fullwidth letters", True, fullwidth),
        Evasion("math_letters", "the post in mathematical 'fancy' letters", True, math_letters),
        Evasion("spaced", "one or two words spaced out: c o b l o s", True, spaced),
        Evasion("dotted", "one or two words dotted: c.o.b.l.o.s", True, dotted),
        Evasion("leet", "vowels inside words as digits: c0bl0s", True, leet),
        Evasion("stretched", "letters held: cobloooos", True, stretched),
        Evasion("number_emoji", "ballot number as keycap or hand sign: 2️⃣, ✌️", True, number_emoji),
        Evasion("leet_heavy", "every letter with a digit form replaced: 4y0 c0bl05", False, leet_heavy),
    ]  # fmt: skip
