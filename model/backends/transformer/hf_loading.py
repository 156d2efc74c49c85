"""Loading Hugging Face tokenizers and sequence-classification networks from local directories.

Imports torch and transformers: only the transformer backend and fine-tuning use this module.
Two ways in: `load_for_finetuning` (a base checkpoint gets a new head and, for the normalised text
view, the role tokens) and `load_for_scoring` (a trained checkpoint; a missing or untrained head is
an error, never a random one, because random scores about real people are worse than no scores).
Both take the head (`pooling`): "cls" is `AutoModelForSequenceClassification`, "mean" the
mean-pooling head of model/backends/transformer/heads.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netralitas.model.artifact import ArtifactError
from netralitas.model.text.normalize import ROLE_TOKENS

__all__ = [
    "POOLINGS",
    "add_role_tokens",
    "best_device",
    "load_for_finetuning",
    "load_for_scoring",
]

POOLINGS = ("cls", "mean")  # the head: [CLS] through the pooler, or the mean over the mask

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


def _check_pooling(pooling: str) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, found {pooling!r}")


def load_for_finetuning(
    directory: str | Path,
    labels: Sequence[str],
    *,
    pooling: str = "cls",
    role_tokens: bool = True,
) -> tuple[Any, Any, list[str]]:
    """Tokenizer and network for fine-tuning a base checkpoint on `labels`.

    The classification head is new (or replaced when the checkpoint has one of another size):
    `pooling` "cls" is `AutoModelForSequenceClassification` ([CLS] through the pooler), "mean" a
    `MeanPoolingClassifier`. With `role_tokens` (the normalised text view) the role tokens are
    added to the tokenizer and the embedding matrix grows to match. Returns
    `(tokenizer, network, added_role_tokens)`.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    _check_pooling(pooling)
    directory = Path(directory)
    _require_weights(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    added = add_role_tokens(tokenizer) if role_tokens else []
    if pooling == "mean":
        from netralitas.model.backends.transformer.heads import MeanPoolingClassifier

        network = MeanPoolingClassifier.from_base_model(directory, labels)
    else:
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


def load_for_scoring(directory: str | Path, pooling: str = "cls") -> tuple[Any, Any]:
    """Tokenizer and network (eval mode, on the best device) of a trained checkpoint.

    `pooling` is the head the artifact was trained with ("cls": a Hugging Face
    sequence-classification checkpoint; "mean": model/backends/transformer/heads.py). Raises
    `ArtifactError` when the checkpoint has no trained classification head: a base model such as
    `indobenchmark/indobert-base-p1` must be fine-tuned before it can score.
    """
    from transformers import AutoTokenizer

    from netralitas.model.backends.transformer.heads import is_mean_pooling_folder

    _check_pooling(pooling)
    directory = Path(directory)
    _require_weights(directory)
    if pooling == "mean":
        from netralitas.model.backends.transformer.heads import MeanPoolingClassifier

        network = MeanPoolingClassifier.load(directory)
    elif is_mean_pooling_folder(directory):
        raise ArtifactError(
            f"{directory} holds a mean-pooling classifier (config.json), but its settings say "
            "pooling = 'cls'; the folder and its netralitas.json disagree"
        )
    else:
        network = _sequence_classifier(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    if len(tokenizer) > network.get_input_embeddings().num_embeddings:
        raise ArtifactError(
            f"{directory}: the tokenizer has {len(tokenizer)} tokens but the network only "
            f"{network.get_input_embeddings().num_embeddings} embeddings; the folder mixes files "
            "of two models"
        )
    return tokenizer, network.to(best_device()).eval()


def _sequence_classifier(directory: Path) -> Any:
    """A Hugging Face sequence-classification network whose head is trained."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

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
    return network
