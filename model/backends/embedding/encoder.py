"""The frozen encoder: a pretrained transformer whose mean-pooled output is the feature vector.

`PooledEncoder` wraps a Hugging Face base model (`AutoModel`, no pooler) as a torch module whose
output `.logits` is the pooled embedding `(batch, hidden)`, so that the transformer backend's
length-sorted `batched_logits` and its `prepare_network` (int8 dynamic quantisation of every
`nn.Linear`, bf16/fp16 casts) work on it unchanged.

Storage: `encoder/` in the artifact holds `config.json`, the tokenizer files and `model.safetensors`
in the storage dtype (float16 by default: half the size of float32). Loading upcasts to float32.
Fitting rounds the float32 weights through the storage dtype first (`round_to_storage`), so that
the model that is fitted and measured is exactly the one that is saved and loaded.

Imports torch and transformers: the classifier imports this module on first use only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from netralitas.model.artifact import ArtifactError

__all__ = [
    "STORAGE_DTYPES",
    "WEIGHTS_FILE",
    "PooledEncoder",
    "PooledOutput",
    "load_encoder",
    "round_to_storage",
    "save_encoder",
]

WEIGHTS_FILE = "model.safetensors"
STORAGE_DTYPES = {"float16": torch.float16, "float32": torch.float32}


@dataclass
class PooledOutput:
    logits: torch.Tensor  # (batch, hidden): the pooled embedding, named as batched_logits reads it


class PooledEncoder(torch.nn.Module):
    """Mean over the attention mask of the last hidden states, optionally L2-normalised (the e5
    convention: special tokens included, padding excluded)."""

    def __init__(self, encoder: Any, normalize: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.normalize = normalize

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> PooledOutput:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state  # (batch, seq, hidden)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, hidden)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return PooledOutput(logits=pooled)


def _from_pretrained(directory: Path) -> tuple[Any, dict[str, list[str]]]:
    """A base model (no pooler) in float32, and transformers' loading report."""
    from transformers import AutoModel
    from transformers.utils import logging

    # No "Loading weights" bar and no load report (a base model's unused pooler and pre-training
    # heads are expected; missing weights are checked by the caller, with a clearer message).
    bar, verbosity = logging.is_progress_bar_enabled(), logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        try:
            return AutoModel.from_pretrained(
                directory, dtype=torch.float32, add_pooling_layer=False, output_loading_info=True
            )
        except TypeError:  # an architecture without a pooler option (no pooler to drop)
            return AutoModel.from_pretrained(
                directory, dtype=torch.float32, output_loading_info=True
            )
    finally:
        logging.set_verbosity(verbosity)
        if bar:
            logging.enable_progress_bar()


def load_encoder(
    directory: str | Path, normalize: bool = True, stored: bool = False
) -> tuple[Any, PooledEncoder]:
    """Tokenizer and `PooledEncoder` (float32, eval mode) of a base model or a stored `encoder/`.

    A base model may carry weights that are not used (a pooler, pre-training heads); a stored
    encoder must match its config exactly. Missing weights are always an error: a frozen encoder
    with random layers would give random scores.
    """
    from transformers import AutoTokenizer

    directory = Path(directory)
    what = "the stored encoder" if stored else "the base model"
    if not (directory / "config.json").is_file():
        raise ArtifactError(f"{directory} has no config.json: {what} is incomplete")
    if stored and not (directory / WEIGHTS_FILE).is_file():
        raise ArtifactError(f"{directory} is incomplete: {WEIGHTS_FILE} is missing")
    try:
        network, info = _from_pretrained(directory)
    except (OSError, RuntimeError, ValueError, SafetensorError) as exc:  # none, or damaged
        raise ArtifactError(f"{what} in {directory} cannot be read ({exc})") from exc
    problems = ["missing_keys"] + (["unexpected_keys", "mismatched_keys"] if stored else [])
    found = {k: sorted(map(str, info.get(k) or [])) for k in problems if info.get(k)}
    if found:
        raise ArtifactError(
            f"{what} in {directory} does not load cleanly: {found}; a frozen encoder with "
            "random or missing weights cannot score"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as exc:
        raise ArtifactError(
            f"the tokenizer of {what} in {directory} cannot be read ({exc})"
        ) from exc
    # transformers builds a tokenizer of special tokens only when a folder has no tokenizer files:
    # every word would become one unknown token.
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)):
        raise ArtifactError(
            f"{directory} holds no tokenizer vocabulary (tokenizer.json, vocab.txt, ...): "
            f"{what} is incomplete"
        )
    if len(tokenizer) > network.get_input_embeddings().num_embeddings:
        raise ArtifactError(
            f"{directory}: the tokenizer has {len(tokenizer)} tokens but the network only "
            f"{network.get_input_embeddings().num_embeddings} embeddings; the folder mixes files "
            "of two models"
        )
    return tokenizer, PooledEncoder(network, normalize=normalize).eval()


def round_to_storage(network: PooledEncoder, dtype: str) -> None:
    """Round the float32 weights in place to what `dtype` storage keeps (still float32 in memory).

    Raises ValueError when a weight does not fit the storage type (beyond float16's 65504).
    """
    target = STORAGE_DTYPES[dtype]
    if target == torch.float32:
        return
    with torch.no_grad():
        for name, param in network.named_parameters():
            rounded = param.to(target).to(torch.float32)
            if not torch.isfinite(rounded).all():
                raise ValueError(
                    f"encoder weight {name} does not fit {dtype}; store it as float32 "
                    "(model.storage_dtype = 'float32')"
                )
            param.copy_(rounded)


def save_encoder(network: PooledEncoder, tokenizer: Any, directory: Path, dtype: str) -> None:
    """Write config.json, the tokenizer files and the weights in `dtype` into `directory`."""
    import copy

    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    encoder = network.encoder
    config = copy.deepcopy(encoder.config)
    config.architectures = [type(encoder).__name__]
    config.save_pretrained(directory)
    state = {
        k: v.detach().to(device="cpu", dtype=STORAGE_DTYPES[dtype]).contiguous()
        for k, v in encoder.state_dict().items()
    }
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    tokenizer.save_pretrained(directory)
