"""Token features and batched inference for the transformer backend.

`tokenize` turns normalised (post, context) strings into token ids cut to a maximum length and
says which inputs were cut; `batched_logits` runs a network over such features in batches of
similar length and puts each row back in input order. Both are shared by training and scoring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Features", "batched_logits", "tokenize"]

Features = list[dict[str, list[int]]]


def _tokenize_group(
    tokenizer: Any, first: list[str], second: list[str] | None, max_length: int
) -> tuple[Features, list[bool]]:
    """Token ids cut to `max_length` (longest side first) and whether each input was cut.

    Tokenizing to `max_length + 1` tells which inputs are too long without a second pass over the
    others; only those are tokenized again at `max_length`.
    """
    enc = tokenizer(first, second, truncation="longest_first", max_length=max_length + 1)
    rows = [{k: enc[k][i] for k in enc} for i in range(len(first))]
    cut = [len(r["input_ids"]) > max_length for r in rows]
    long = [i for i, c in enumerate(cut) if c]
    if long:
        again = tokenizer(
            [first[i] for i in long],
            [second[i] for i in long] if second is not None else None,
            truncation="longest_first",
            max_length=max_length,
        )
        for j, i in enumerate(long):
            rows[i] = {k: again[k][j] for k in again}
    return rows, cut


def tokenize(
    tokenizer: Any, first: list[str], second: list[str], max_length: int
) -> tuple[Features, np.ndarray]:
    """One feature dict per input, in input order, and a bool `(n,)` array of the inputs cut.

    An input with a non-empty `second` (its context) becomes the pair (first, second) in one
    sequence; one without stays a single sequence, as a checkpoint trained elsewhere expects.
    """
    features: list[dict[str, list[int]] | None] = [None] * len(first)
    cut = np.zeros(len(first), dtype=bool)
    singles = [i for i, c in enumerate(second) if not c]
    pairs = [i for i, c in enumerate(second) if c]
    for idx, pair in ((singles, False), (pairs, True)):
        if idx:
            rows, was_cut = _tokenize_group(
                tokenizer,
                [first[i] for i in idx],
                [second[i] for i in idx] if pair else None,
                max_length,
            )
            for i, row, c in zip(idx, rows, was_cut, strict=True):
                features[i], cut[i] = row, c
    return features, cut  # type: ignore[return-value]


def batched_logits(
    network: Any, tokenizer: Any, features: Features, n_labels: int, batch_size: int
) -> np.ndarray:
    """Logits `(n, n_labels)` in the order of `features`, under `torch.inference_mode()`.

    Batches are formed from inputs of similar length (less padding); each row is written back
    to its own position.
    """
    import torch
    from transformers import DataCollatorWithPadding

    out = np.zeros((len(features), n_labels), dtype=np.float64)
    if not features:
        return out
    collate = DataCollatorWithPadding(tokenizer)
    order = np.argsort([-len(f["input_ids"]) for f in features], kind="stable")
    network = network.eval()
    device = next(network.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = {k: v.to(device) for k, v in collate([features[i] for i in idx]).items()}
            out[idx] = network(**batch).logits.float().cpu().numpy()  # (batch, n_labels)
    return out
