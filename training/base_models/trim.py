"""Trimming a unigram vocabulary to the pieces a language and some text need.

Kept, in every rule but "full": the special pieces, every single-character piece (so that any
text made of known characters still tokenizes without `<unk>`, if into shorter pieces) and every
piece the full tokenizer produces on the given text (the bundled data). The "ascii" rule also
keeps every piece whose letters are all ASCII: Indonesian (and its slang, names and hashtags) is
written in the basic Latin alphabet, and a real post uses rare pieces of it that a few thousand
bundled posts never do. Kept pieces keep their relative order, so `<s>`, `<pad>`, `</s>` and
`<unk>` stay 0-3. The Viterbi path of a text over the full vocabulary uses only pieces the text
produced, so it is also the best path over the kept ones: the trimmed tokenizer tokenizes that
text to the same pieces (ties aside; the tests check it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["VOCABULARIES", "Trimmed", "ascii_letter_pieces", "select_pieces", "used_piece_ids"]

# rule -> what it keeps (the default first)
VOCABULARIES = {
    "ascii": "specials, single characters, pieces of the bundled data and every piece whose "
    "letters are ASCII (a-z, A-Z)",
    "bundled": "specials, single characters and the pieces of the bundled data only",
    "full": "all pieces",
}


@dataclass(frozen=True)
class Trimmed:
    keep: np.ndarray  # int64 ids of the full vocabulary, ascending; new id = position here
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32
    single_character: int  # how many pieces are one character
    used: int  # how many pieces the text produced
    ascii_letters: int  # how many pieces have only ASCII letters (0 unless kept for that)


def used_piece_ids(tokenizer, texts: Sequence[str], batch: int = 4096) -> set[int]:
    """Ids the (full) `tokenizers.Tokenizer` produces on `texts`, specials excluded."""
    used: set[int] = set()
    for start in range(0, len(texts), batch):
        chunk = list(texts[start : start + batch])
        for encoding in tokenizer.encode_batch(chunk, add_special_tokens=False):
            used.update(encoding.ids)
    return used


def _ascii_letters(piece: str) -> bool:
    return all(ch.isascii() or unicodedata.category(ch)[0] not in "LM" for ch in piece)


def ascii_letter_pieces(pieces: Sequence[str]) -> set[int]:
    """Ids of the pieces whose letters (and marks) are all ASCII; digits, "▁", punctuation and
    symbols may be anything."""
    return {i for i, piece in enumerate(pieces) if _ascii_letters(piece)}


def select_pieces(
    pieces: Sequence[str],
    scores: Sequence[float],
    used: Iterable[int],
    specials: Iterable[int],
    *,
    ascii_letters: bool = False,
) -> Trimmed:
    """The trimmed vocabulary: specials, single-character pieces, `used` ids and, with
    `ascii_letters`, every piece whose letters are ASCII."""
    used = set(used)
    single = {i for i, piece in enumerate(pieces) if len(piece) == 1}
    latin = ascii_letter_pieces(pieces) if ascii_letters else set()
    keep = np.array(sorted(set(specials) | single | used | latin), dtype=np.int64)
    if len(keep) and (keep[0] < 0 or keep[-1] >= len(pieces)):
        raise ValueError("a kept id is outside the vocabulary")
    return Trimmed(
        keep=keep,
        pieces=tuple(pieces[i] for i in keep),
        scores=np.asarray(scores, dtype=np.float32)[keep],
        single_character=len(single),
        used=len(used),
        ascii_letters=len(latin),
    )
