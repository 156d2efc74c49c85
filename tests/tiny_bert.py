"""A tiny BERT base model built offline, shaped like an IndoBERT checkpoint folder.

A WordPiece vocabulary is trained with `tokenizers` on the bundled data (the `text` and `context`
fields of data/starter/**/*.jsonl, normalised) plus the test rows; the network is a 2-layer BERT
of width 32 with random weights, saved as `BertForPreTraining` (like indobert-base-p1: pooler and
pre-training heads, no classification head) next to `vocab.txt` only, so the tokenizer is built
from the vocabulary as it is for the real checkpoints and has no maximum length of its own.

Also a command, for measurements outside the tests: `python -m tests.tiny_bert OUT_DIR`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from .sample_data import CONTEXT_ROWS, labelled_rows

REPO = Path(__file__).resolve().parents[1]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def corpus(repo: Path = REPO) -> Iterator[str]:
    """Normalised texts and contexts of the bundled data and of the test rows."""
    from netralitas.model.text.normalize import normalize_text

    rows: list[dict] = list(labelled_rows())
    for path in sorted((repo / "data" / "starter").glob("**/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a row being written by someone else; the vocabulary does not need it
    rows += [{"text": text, "context": context} for text, context, _ in CONTEXT_ROWS]
    for row in rows:
        for field in ("text", "context"):
            if isinstance(row.get(field), str) and row[field].strip():
                yield normalize_text(row[field])


def build_tiny_bert(
    directory: Path, hidden: int = 32, layers: int = 2, vocab_size: int = 3000, seed: int = 0
) -> Path:
    """Write the tiny base model (config.json, model.safetensors, vocab.txt) to `directory`."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForPreTraining

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(
        corpus(),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL,
        show_progress=False,
    )
    wordpiece.save_model(str(directory))  # vocab.txt
    config = BertConfig(
        vocab_size=wordpiece.get_vocab_size(),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertForPreTraining(config).save_pretrained(directory)
    return directory


if __name__ == "__main__":
    print(build_tiny_bert(Path(sys.argv[1])))
