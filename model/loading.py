"""`load_classifier`: any artifact directory (or a plain Hugging Face checkpoint) to a backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netralitas.model.artifact import METADATA_FILE, read_metadata
from netralitas.model.backend import Classifier
from netralitas.model.inference import check_inference
from netralitas.model.registry import backend_class
from netralitas.model.text.profiles import ElectionProfile

__all__ = ["load_classifier"]


def load_classifier(
    directory: str | Path,
    profiles: Sequence[ElectionProfile] | None = None,
    inference: str = "auto",
) -> Classifier:
    """Load any netralitas artifact; `profiles` replaces the stored election profiles.

    The artifact's `kind` picks the backend through the registry. A directory without
    `netralitas.json` but with a Hugging Face `config.json` is loaded as a plain
    sequence-classification checkpoint by the transformer backend. `inference` ("auto", "fp32",
    "int8", "bf16", "fp16") picks how a model computes; backends without choices ignore it.
    """
    check_inference(inference)
    directory = Path(directory)
    if not (directory / METADATA_FILE).exists() and (directory / "config.json").exists():
        transformer = backend_class("transformer")
        return transformer.from_hf_checkpoint(directory, profiles=profiles, inference=inference)  # type: ignore[attr-defined]
    kind = read_metadata(directory).kind
    return backend_class(kind).from_pretrained(directory, profiles=profiles, inference=inference)
