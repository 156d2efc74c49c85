"""Reading through obfuscation: the first step of every text view, in training and scoring alike.

Someone who wants a partisan post to pass unflagged writes it so that people still read it but a
filter does not: "cob\u200blos" (an invisible character), "cоblos" (a Cyrillic о), "ｃｏｂｌｏｓ"
(fullwidth), "𝐜𝐨𝐛𝐥𝐨𝐬" (mathematical bold), "c o b l o s" or "c.o.b.l.o.s", "c0bl0s", "cobloooos",
"nomor 2️⃣" or "coblos ✌️". `deobfuscate` undoes each of these and says which kinds it found, so that
every view of a post (the normalised one for TF-IDF, the light one for pretrained encoders) reads
the words a person reads, and reviewers see that the author took the trouble to hide them:

>>> deobfuscate("Ayo cob\u200blos nоmоr 2️⃣")
('Ayo coblos nomor 2', ('invisible', 'confusable', 'number_emoji'))

The kinds, in `KINDS` order:

- `invisible`: zero-width and other invisible format characters (U+200B-U+200F, U+2060-U+2064,
  U+FEFF, U+00AD, bidi controls, Hangul fillers, tag characters); the zero-width joiner and
  variation selectors only after letters or digits, since inside emoji they are part of the emoji.
- `styled`: fullwidth, mathematical, script, circled and squared letters and digits, small capitals:
  Unicode NFKC of exactly these characters, plus the letters whose Unicode name says "LATIN ...
  LETTER X" that NFKC leaves alone. NFKC is not applied to the whole post: it would also rewrite
  what people type without hiding anything ("…", "²", "™", NBSP) and shift the scores of models
  trained before (14% of the gold posts for the TF-IDF baseline, through "…" alone); the post is
  put in NFC instead.
- `confusable`: Cyrillic, Greek and other look-alike letters, from Unicode's confusables table as
  shipped by the `confusable-homoglyphs` package; only in words that also have Latin letters, or in
  posts mostly written in Latin letters, so Russian or Greek text stays as it is.
- `number_emoji`: keycap and circled digits ("2️⃣", "❷") become digits; a hand sign right after a
  ballot cue ("coblos ✌️", "salam ☝️") becomes its number: ☝️ 1 and ✌️ 2 (fingers), and 🤟 and 👌
  3, the three-finger signs of "salam metal" (Ganjar-Mahfud, no. 3, Pilpres 2024) and "OK OCE"
  (Anies-Sandi, no. 3, Pilkada DKI 2017), both documented in the bundled profiles. The number then
  goes through the normaliser's ballot-number rule like any written number.
- `spaced`: four or more single letters kept apart by spaces or by one repeated mark ("c o b l o s",
  "c.o.b.l.o.s", "c-o-b-l-o-s") are joined, into several words where wider gaps or known words say
  so ("c o b l o s n o m o r" -> "coblos nomor"); "di x" or "a b" are left alone.
- `leet`: digits and symbols standing for letters (0 o, 1 i, 3 e, 4 a, 5 s, 6 g, 7 t, 8 b, 9 g, @ a,
  $ s) inside a word of at least three letters ("c0bl0s", "pr4bowo"), or anywhere in a word when the
  result is a known word ("g@s"). Words with other digits ("b2b", "A1B2") or a ballot number inside
  ("tutup01tusuk"), numbers ("Rp5.000", "G20", "P3K", "2019") and reduplication ("anak2") keep theirs.
- `stretched`: a letter held for three or more ("cobloooos") is written once, or twice when that
  gives a known word ("maaaf" -> "maaf"); Roman numerals ("III") are left alone.

URLs, e-mail addresses and @mentions are never rewritten. Case, punctuation, names and emoji that
are not campaign signs stay as written, and normalising twice changes nothing. Explanations are not
affected: they point into the text as sent and re-score it whole (model/explain.py).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from importlib import resources

__all__ = ["KINDS", "SIGNALS", "deobfuscate", "obfuscation_signal"]

KINDS = ("invisible", "styled", "confusable", "number_emoji", "spaced", "leet", "stretched")
# What a reviewer is told: the kinds that hide words. Stretched letters are read through too, but
# ordinary posts are full of them ("mantaaap"), so reporting them would tell nothing.
SIGNALS = tuple(kind for kind in KINDS if kind != "stretched")

# -- characters -----------------------------------------------------------------------------------
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\U0001d173-\U0001d17a\U000e0001"
)
# Joiners and selectors belong to emoji ("👨‍👩‍👧", "❤️", "⚠️VIRAL", "2️⃣"); after a letter or digit
# they only hide. One pass finds runs of both kinds; `_unhide` decides.
_HIDDEN = re.compile(
    f"[{_INVISIBLE}\u200d\ufe00-\ufe0f\U000e0020-\U000e007f\U000e0100-\U000e01ef]+"
)
_ALWAYS_HIDDEN = re.compile(f"[{_INVISIBLE}]")
_INFORMATION = "\u2139"  # "ℹ️": an emoji, though Unicode files it as a letter
# Characters that only a "fancy text" tool or an East Asian keyboard writes, folded by NFKC:
# fullwidth forms and space, letterlike letters ("ℎ", "ℬ"), enclosed and mathematical alphanumerics
# (not the regional indicators of flags).
_NFKC_BLOCKS = (
    (0x3000, 0x3000), (0xFF01, 0xFF5E), (0x2100, 0x214F), (0x2460, 0x24FF),
    (0x1D400, 0x1D7FF), (0x1F100, 0x1F1E5),
)  # fmt: skip
_LATIN_NAME = re.compile(
    r"(?:NEGATIVE )?(?:CIRCLED |SQUARED |PARENTHESIZED )?LATIN (?:CAPITAL |SMALL )?"
    r"LETTER (?:SMALL CAPITAL )?([A-Z])"
)
# Blocks holding small capitals and enclosed letters that NFKC does not fold.
_NAMED_BLOCKS = ((0x0250, 0x02AF), (0x1D00, 0x1D7F), (0xA720, 0xA7FF), (0x1F150, 0x1F189))
_KEYCAP = re.compile("([0-9])(?:\ufe0f?\u20e3)+|\U0001f51f")
_DINGBAT_DIGITS = {
    **{chr(0x2776 + i): str(i + 1) for i in range(9)},  # ❶..❾
    **{chr(0x2780 + i): str(i + 1) for i in range(9)},  # ➀..➈
    **{chr(0x278A + i): str(i + 1) for i in range(9)},  # ➊..➒
    "\u277f": "10", "\u2789": "10", "\u2793": "10",
}  # fmt: skip
_SIGNS = {"\u261d": "1", "\u270c": "2", "\U0001f91f": "3", "\U0001f44c": "3"}  # ☝ ✌ 🤟 👌
_CUE = r"\b(?:no|nomor|nomer|nmr|urut|paslon|coblos|nyoblos|pilih|salam|angka)"
_SIGN_AFTER_CUE = re.compile(
    rf"(?i)({_CUE}\.?)\s*([\u261d\u270c\U0001f91f\U0001f44c])[\ufe0f\U0001f3fb-\U0001f3ff]*"
)
_NUMBER_EMOJI = re.compile("[\u20e3\U0001f51f\u2776-\u2793\u261d\u270c\U0001f91f\U0001f44c]")


@functools.cache
def _fold_tables() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(look-alike letter -> Latin letter, styled letter -> Latin letter, both key sets).

    Built on first use. Styled: NFKC of the blocks above, and small capitals and negative squared
    letters by their names. Look-alikes: Unicode's confusables as shipped by `confusable-homoglyphs`
    (each entry lists the characters a character is confusable with), kept where a letter looks
    like one ASCII letter, directly or through a small capital ("т" -> "ᴛ" -> "t").
    """
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    styled: dict[str, str] = {}
    for low, high in _NFKC_BLOCKS:
        for code in range(low, high + 1):
            char, folded = chr(code), unicodedata.normalize("NFKC", chr(code))
            # Of the letterlike symbols, the single letters ("ℎ", "ℬ"), not "™", "№" or "ℹ️".
            letterlike = 0x2100 <= code <= 0x214F
            if letterlike and (len(folded) != 1 or not folded.isalpha() or char == _INFORMATION):
                continue
            if folded != char and folded.isascii():
                styled[char] = folded
    for low, high in _NAMED_BLOCKS:
        for code in range(low, high + 1):
            match = _LATIN_NAME.fullmatch(unicodedata.name(chr(code), ""))
            if match and unicodedata.normalize("NFKC", chr(code)) == chr(code):
                styled[chr(code)] = match.group(1).lower() if code < 0x1F000 else match.group(1)
    confusable: dict[str, str] = {}
    for char, entries in data.items():
        if len(char) != 1 or char.isascii() or char in styled or not char.isalpha():
            continue
        if char == _INFORMATION:
            continue
        for entry in entries:
            target = entry["c"]
            target = target if target.isascii() else styled.get(target, "")
            if len(target) == 1 and target.isascii() and target.isalpha():
                # Unicode's prototype of I-like letters is "l"; a capital reads as "I".
                confusable[char] = "I" if target == "l" and char.isupper() else target
                break
    return confusable, styled, frozenset(confusable) | frozenset(styled)


def _fold(text: str, kinds: set[str]) -> str:
    """Styled letters NFKC leaves alone, then look-alike letters within Latin words."""
    confusable, styled, keys = _fold_tables()
    if keys.isdisjoint(text):
        return text
    if any(c in styled for c in text):
        # Fullwidth punctuation or the ideographic space alone is CJK typing, not styling.
        if any(styled[c].isalnum() for c in text if c in styled):
            kinds.add("styled")
        text = "".join(styled.get(c, c) for c in text)
    latin_post = None

    def word(match: re.Match[str]) -> str:
        nonlocal latin_post
        w = match.group()
        if not any(c in confusable for c in w):
            return w
        if not any(c.isascii() for c in w):
            if latin_post is None:  # a word of look-alikes only: fold in a Latin post only
                letters = [c for c in text if c.isalpha()]
                latin_post = 2 * sum(c.isascii() for c in letters) > len(letters)
            if not latin_post or not all(c in confusable for c in w):
                return w
        kinds.add("confusable")
        return "".join(confusable.get(c, c) for c in w)

    return _WORD.sub(word, text)


def _unhide(match: re.Match[str]) -> str:
    """'' for a run of invisible characters, or of joiners and selectors after a letter or digit
    (not a keycap's "2\ufe0f\u20e3"); the run as it is inside emoji."""
    run, start, text = match.group(), match.start(), match.string
    if _ALWAYS_HIDDEN.search(run):
        return ""
    before = text[start - 1] if start else " "
    after_word = (before.isalnum() or before == "_") and before != _INFORMATION
    return "" if after_word and text[match.end() : match.end() + 1] != "\u20e3" else run


def _characters(text: str, kinds: set[str]) -> str:
    """NFC, then invisible characters, styled and look-alike letters, and number emoji."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    cleaned = _HIDDEN.sub(_unhide, text)
    if cleaned != text:
        kinds.add("invisible")
    text = _fold(cleaned, kinds)
    if _NUMBER_EMOJI.search(text):
        numbered = _KEYCAP.sub(lambda m: m.group(1) or "10", text)
        numbered = "".join(_DINGBAT_DIGITS.get(c, c) for c in numbered)
        numbered = _SIGN_AFTER_CUE.sub(lambda m: f"{m.group(1)} {_SIGNS[m.group(2)]}", numbered)
        if numbered != text:
            kinds.add("number_emoji")
        text = numbered
    return text


# -- words ----------------------------------------------------------------------------------------
_PROTECTED = re.compile(
    r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?<![\w@])@\w+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|id|co|net|org|ly|me|io)(?:/\S*)?",
    re.I,
)
_DOMAIN = re.compile(r"\.(?:com|id|co|net|org|ly|me|io)\b", re.I)
# Four or more single letters: apart by spaces, or by one mark repeated ("c.o.b.l.o.s", "c - o - b").
_SPACED = re.compile(
    r"(?<!\w)[^\W\d_]\s*([.\-*_])\s*[^\W\d_](?:\s*\1\s*[^\W\d_]){2,}(?![^\W\d_])"
    r"|(?<!\w)[^\W\d_](?:\s+[^\W\d_]){3,}(?![^\W\d_])"
)
_LEET_CHARS = "013456789@$"
_LEET = str.maketrans("013456789@$", "oieasgtbgas")
# A token of letters, digits, @ and $ with a leet character next to a letter.
_LEET_TOKEN = re.compile(
    r"(?<![\w@$])(?=[A-Za-z0-9@$]*?(?:[013456789@$][A-Za-z]|[A-Za-z][013456789@$]))"
    r"[A-Za-z0-9@$]++(?![\w@$])"
)
_RUN = re.compile(r"([^\W\d_])\1{2,}", re.I)
_STRETCHED_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]*?([^\W\d_])\1\1[^\W\d_]*", re.I)
_ROMAN = re.compile(r"[IVXLCDM]+")
_WORD = re.compile(r"[^\W\d_]+")
_NOT_LETTERS = re.compile(r"[^A-Za-z]+")
_BALLOT_IN_WORD = re.compile(r"0[1-9]")


@functools.cache
def _known_words() -> frozenset[str]:
    """Words the project knows: its common words, the hashtag-splitting list and both sides of
    the slang lexicon."""
    folder = resources.files(__package__).joinpath("resources")
    words = set()
    for name in ("common_words.txt", "words.txt"):
        for line in folder.joinpath(name).read_text("utf-8").splitlines():
            if not line.startswith("#"):
                words.update(line.split())
    for line in folder.joinpath("slang.tsv").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            informal, formal = line.split("\t")
            words.add(informal.strip())
            words.update(formal.split())
    return frozenset(words)


def _join_spaced(match: re.Match[str]) -> str:
    """The letters joined; a wider gap ("c o b l o s   n o m o r") or, failing that, the known
    words they spell ("c o b l o s n o m o r") split them into words; a name stays whole."""
    run = match.group()
    if not match.group(1):  # apart by spaces
        narrow = min(len(g) for g in re.findall(r"\s+", run))
        words = re.split(rf"\s{{{narrow + 1},}}", run)
        if len(words) > 1:
            return " ".join(w.replace(" ", "") for w in words)
    joined = "".join(c for c in run if c.isalpha())
    known = _known_words()
    if joined.lower() in known or len(joined) > 40:
        return joined
    return " ".join(_split_known(joined, known) or [joined])


def _split_known(word: str, known: frozenset[str]) -> list[str] | None:
    """`word` as the fewest known words, keeping its case; None when it is not made of them
    (the dynamic programme of the normaliser's hashtag splitting)."""
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 20), end):
            prev, current = best[start], best[end]
            if prev is None or word[start:end].lower() not in known:
                continue
            if current is None or len(prev) + 1 < len(current):
                best[end] = [*prev, word[start:end]]
    found = best[-1]
    # Two or more words of four letters or more: "tidaklah" is not "tidak lah", nor "nyatakan"
    # "nyata kan" (suffixes and particles are short).
    return found if found and len(found) > 1 and min(map(len, found)) >= 4 else None


def _unleet(match: re.Match[str]) -> str:
    token = match.group()
    if not any(c in _LEET_CHARS for c in token):
        return token
    letters = [i for i, c in enumerate(token) if c.isalpha()]
    whole = token.translate(_LEET)
    # A short known word ("g@s", "0ke"); not "S1" or "b4", whose one letter says nothing.
    if len(letters) >= 2 and whole.lower() in _known_words():
        return whole.upper() if token.upper() == token else whole
    first, last = letters[0], letters[-1]
    inner = token[first : last + 1]
    # The reduplication "2" ("mentri2nya") is kept as it is.
    runs = [r for r in _NOT_LETTERS.finditer(inner) if r.group() != "2"]
    # Inside the letters of a word of three letters or more, as many letters as substitutes,
    # runs of one or two characters (or of one character held), and never a number: another digit
    # ("A1B2"), a ballot number ("tutup01tusuk02") or, in a hashtag, a CamelCase joint
    # ("#Debat5Pilpres"; the normaliser splits hashtags there anyway). Case decides nothing else,
    # so lower-casing a result never makes it change again.
    hashtag = match.start() > 0 and match.string[match.start() - 1] == "#"
    # Two letters around one 4, 1, 0 or @ read as a word ("l4h", "t4k"); around a 3 they are how
    # acronyms count ("P3K", "K3"), so they stay.
    short = len(token) == 3 and token[1] in "410@"
    if (len(letters) < 3 and not short) or sum(len(r.group()) for r in runs) > len(letters):
        return token
    for run in runs:
        chars, before, after = run.group(), inner[run.start() - 1], inner[run.end()]
        if any(c not in _LEET_CHARS for c in chars) or _BALLOT_IN_WORD.search(chars):
            return token
        if (len(chars) > 2 and len(set(chars)) > 1) or (
            hashtag and before.islower() and after.isupper()
        ):
            return token
    chars = list(inner)
    for run in runs:  # in the case of the letters around: "PR4BOWO" -> "PRABOWO"
        upper = inner[run.start() - 1].isupper() and inner[run.end()].isupper()
        for i in range(run.start(), run.end()):
            chars[i] = chars[i].translate(_LEET).upper() if upper else chars[i].translate(_LEET)
    return token[:first] + "".join(chars) + token[last + 1 :]


def _collapse(word: str, keep: int) -> str:
    """Runs of three or more of one letter written `keep` times, except where they are not
    stretching: a consonant run opening a word ("PPPK", "www", "xxx") and mixed case inside a
    word ("masyaaAllah"; "Aaaayo" is stretched)."""

    def one(match: re.Match[str]) -> str:
        run = match.group()
        if run[1:] != run[1] * (len(run) - 1) or (run[0] != run[1] and match.start()):
            return run
        if not match.start() and run[0].lower() not in "aiueo":
            return run
        return run[:keep]

    return _RUN.sub(one, word)


def _unstretch(match: re.Match[str]) -> str:
    word = match.group()
    if _ROMAN.fullmatch(word) or not _RUN.search(word):
        return word
    once, twice = _collapse(word, 1), _collapse(word, 2)
    known = _known_words()
    return twice if once.lower() not in known and twice.lower() in known else once


def _outside_protected(
    text: str, pattern: re.Pattern[str], change: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub(change, ...)` on the text between URLs, e-mail addresses and mentions."""
    if not ("/" in text or "@" in text or "www" in text or _DOMAIN.search(text)):
        return pattern.sub(change, text)  # nothing to protect (most posts); the scan is slow
    out, pos = [], 0
    for protected in _PROTECTED.finditer(text):
        out += [pattern.sub(change, text[pos : protected.start()]), protected.group()]
        pos = protected.end()
    out.append(pattern.sub(change, text[pos:]))
    return "".join(out)


# (kind, a cheap test that the rule may apply, the rule), in order. The tests (ASCII letters,
# spaces and marks) are several times faster than the rules' patterns; most posts pass none.
_WORD_RULES = (
    ("spaced", re.compile(r"[ .\-*_][A-Za-z][ .\-*_]+[A-Za-z][ .\-*_]"), _SPACED, _join_spaced),
    ("leet", re.compile(r"[013456789@$][A-Za-z]"), _LEET_TOKEN, _unleet),
    ("stretched", re.compile(r"(.)\1\1"), _STRETCHED_WORD, _unstretch),
)  # fmt: skip


# A post is read through twice when it is scored: by the model's text view, then by the Scorer
# for the reviewers' signal (`obfuscation_signal`); the second read of a batch's posts is a cache
# hit. Bounded: a batch of posts and their contexts fits, a stream of posts does not pile up.
@functools.lru_cache(maxsize=4096)
def deobfuscate(text: str) -> tuple[str, tuple[str, ...]]:
    """`text` with every kind of obfuscation undone, and the kinds found (in `KINDS` order).

    >>> deobfuscate("Pak Hendro 👍 c0bl0s ｎｏｍｏｒ 2")
    ('Pak Hendro 👍 coblos nomor 2', ('styled', 'leet'))
    """
    kinds: set[str] = set()
    if not text.isascii():
        text = _characters(text, kinds)
    for kind, hint, pattern, change in _WORD_RULES:
        if hint.search(text):
            new = _outside_protected(text, pattern, change)
            if new != text:
                kinds.add(kind)
                text = new
    return text, tuple(k for k in KINDS if k in kinds) if kinds else ()


def obfuscation_signal(text: str) -> tuple[str, ...]:
    """The kinds of obfuscation in `text` worth a reviewer's attention (`SIGNALS`)."""
    return tuple(kind for kind in deobfuscate(text)[1] if kind in SIGNALS)
