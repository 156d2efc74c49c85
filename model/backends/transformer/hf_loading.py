"""Loading Hugging Face tokenizers and sequence-classification networks from local directories.

Imports torch and transformers: only the transformer backend and fine-tuning use this module.
Two ways in: `load_for_finetuning` (a base checkpoint gets a new head and the role tokens) and
`load_for_scoring` (a trained checkpoint; a missing or untrained head is an error, never a random
one, because random scores about real people are worse than no scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netralitas.model.artifact import ArtifactError
from netralitas.model.text.normalize import ROLE_TOKENS

__all__ = ["add_role_tokens", "best_device", "load_for_finetuning", "load_for_scoring"]

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def best_device():
    """CUDA when there is a GPU, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def add_role_tokens(tokenizer: Any) -> list[str]:
    """Make each role token ("[calon]", "[nomor]", ...) a single token; return those added.

    Normalisation writes contestants as role tokens; a WordPiece vocabulary would cut "[calon]"
    into "[", "calon", "]" and blur it with the word "calon". Added as special tokens they are
    matched before the tokenizer's own lower-casing and splitting, and never split.
    """
    split = [token for token in ROLE_TOKENS if tokenizer.tokenize(token) != [token]]
    if split:
        tokenizer.add_special_tokens(
            {"extra_special_tokens": split}, replace_extra_special_tokens=False
        )
    return split


def _require_weights(directory: Path) -> None:
    if not (directory / "config.json").is_file():
        raise ArtifactError(f"{directory} has no config.json; it is not a Hugging Face checkpoint")
    if not any((directory / name).is_file() for name in WEIGHT_FILES):
        raise ArtifactError(
            f"{directory} is incomplete: none of {', '.join(WEIGHT_FILES)} is there; "
            "retrain it or copy the whole folder again"
        )


def load_for_finetuning(directory: str | Path, labels: Sequence[str]) -> tuple[Any, Any, list[str]]:
    """Tokenizer and network for fine-tuning a base checkpoint on `labels`.

    The classification head is new (or replaced when the checkpoint has one of another size);
    role tokens are added to the tokenizer and the embedding matrix grows to match. Returns
    `(tokenizer, network, added_role_tokens)`.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(directory)
    _require_weights(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    added = add_role_tokens(tokenizer)
    network = AutoModelForSequenceClassification.from_pretrained(
        directory,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,
    )
    if added:
        network.resize_token_embeddings(len(tokenizer))
    return tokenizer, network, added


def load_for_scoring(directory: str | Path) -> tuple[Any, Any]:
    """Tokenizer and network (eval mode, on the best device) of a trained checkpoint.

    Raises `ArtifactError` when the checkpoint has no trained classification head: a base model
    such as `indobenchmark/indobert-base-p1` must be fine-tuned before it can score.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(directory)
    _require_weights(directory)
    config = AutoConfig.from_pretrained(directory)
    architectures = config.architectures or []
    if architectures and not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise ArtifactError(
            f"{directory} is a {', '.join(architectures)} checkpoint without a trained "
            "classification head; fine-tune it first (set model.base_model to this folder in "
            "training/configs/indobert.toml and run `netralitas train`)"
        )
    network, info = AutoModelForSequenceClassification.from_pretrained(
        directory, output_loading_info=True
    )
    missing = sorted(info["missing_keys"])
    if missing:
        raise ArtifactError(
            f"{directory} lacks trained weights for {', '.join(missing)}: its classification head "
            "would be random. Fine-tune it first with `netralitas train` (model.kind = "
            "'transformer', model.base_model = this folder)"
        )
    tokenizer = AutoTokenizer.from_pretrained(directory)
    if len(tokenizer) > network.get_input_embeddings().num_embeddings:
        raise ArtifactError(
            f"{directory}: the tokenizer has {len(tokenizer)} tokens but the network only "
            f"{network.get_input_embeddings().num_embeddings} embeddings; the folder mixes files "
            "of two models"
        )
    return tokenizer, network.to(best_device()).eval()
