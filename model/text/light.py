"""Light text preparation for pretrained encoders: the post as written, tidied, nothing rewritten.

The `TextNormalizer` (model/text/normalize.py) rewrites a post for TF-IDF: lower case, slang
replaced, emoji spelled out, contestants masked to role tokens such as "[calon]". A pretrained
encoder (e5, IndoBERT) learned its language from text as people write it: case, names, emoji and
slang carry meaning it knows, and a role token means nothing to it. `light_text` therefore only
reads through obfuscation (`deobfuscate`: invisible characters, look-alike and "fancy" letters,
spaced-out letters, leetspeak, stretched letters, number emoji; the same first step as the
`TextNormalizer`) and makes the text canonical:

- Unicode NFC (a composed "é" and "e" + combining accent become one form);
- typographic apostrophes become "'";
- zero-width and other invisible format characters are removed, control characters become spaces;
- runs of whitespace (tabs, newlines, NBSP) become one space, and the ends are stripped.

>>> light_text("  Mantaaap\\u200b  Pak\\u2019e!\\n\\n#PilihOrangBaik c0bl0s")
"Mantap Pak'e! #PilihOrangBaik coblos"

Idempotent, needs no torch, and keeps every word, emoji and mention as written once obfuscation is
undone.
"""

from __future__ import annotations

import re
import unicodedata

from netralitas.model.text.deobfuscate import deobfuscate

__all__ = ["light_text"]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
# Format characters (Cf: zero-width space/joiners, BOM, direction marks) carry no text of their own.
# Variation selectors and the zero-width joiner are kept: they belong to emoji the tokenizer reads.
_KEEP_FORMAT = frozenset("\u200d\ufe0f\ufe0e")
_SPACES = re.compile(r"\s+")


def _visible(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cf" and char not in _KEEP_FORMAT:
        return ""
    if category == "Cc":
        return " "
    return char


def light_text(text: str) -> str:
    """Obfuscation undone, NFC, plain apostrophes, no invisible characters, single spaces."""
    text = deobfuscate(text)[0]
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
        text = "".join(_visible(c) for c in text)
    elif any(c < " " for c in text):
        text = "".join(_visible(c) for c in text)
    return _SPACES.sub(" ", text).strip()
