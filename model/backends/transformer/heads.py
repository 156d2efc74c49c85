"""The mean-pooling classification head of the transformer backend (`pooling = "mean"`).

`pooling = "cls"` (the default) is transformers' `AutoModelForSequenceClassification`: the [CLS]
vector through the checkpoint's pooler (dense + tanh), dropout, a linear layer. A checkpoint built
for embeddings, such as multilingual-e5-small, has no trained pooler: e5 was trained on the mean of
its last hidden states over the attention mask (special tokens included, padding excluded), and
that is what `MeanPoolingClassifier` classifies: mean, dropout, one linear layer.

It is a plain `torch.nn.Module` that behaves where it matters like a Hugging Face classifier:
`forward(input_ids, attention_mask, token_type_ids, labels)` returns a `SequenceClassifierOutput`
(`.logits`, and `.loss` when labels are given), `.config` is the encoder's config with `id2label`
and `label2id`, and `get_input_embeddings` / `resize_token_embeddings` reach the encoder. So the
Trainer (which saves and restores its state dict as safetensors), `batched_logits` and
`prepare_network` (int8 dynamic quantisation of every `nn.Linear`, bf16/fp16 casts) work on it
unchanged.

Files (the artifact's top level, beside the tokenizer files and `netralitas.json`)::

    config.json         the encoder's config (model_type, sizes), id2label / label2id,
                        "architectures": ["MeanPoolingClassifier"], "netralitas_head": "mean"
    model.safetensors   float32: "encoder.<the base model's own keys>" (no pooler),
                        "classifier.weight" (n_labels, hidden), "classifier.bias" (n_labels,)

Loading builds the encoder from config.json (no weights downloaded, no hub) and loads every tensor
strictly: a missing or unexpected key is an error. The folder is not a plain Hugging Face
checkpoint (no Auto class reads a mean-pooling head); a "cls" artifact still is.

Imports torch and transformers: the classifier and fine-tuning import this module on first use.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from netralitas.model.artifact import ArtifactError

__all__ = [
    "ARCHITECTURE",
    "HEAD_KEY",
    "WEIGHTS_FILE",
    "MeanPoolingClassifier",
    "is_mean_pooling_folder",
]

ARCHITECTURE = "MeanPoolingClassifier"
HEAD_KEY = "netralitas_head"  # in config.json: which head the weights belong to
WEIGHTS_FILE = "model.safetensors"


def _quiet_auto_model(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """`AutoModel` without its pooler where the architecture has one, without load reports."""
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # a base model's unused pooler/pre-training heads are expected
    try:
        try:
            return factory(*args, add_pooling_layer=False, **kwargs)
        except TypeError:  # an architecture without a pooler option has no pooler to drop
            return factory(*args, **kwargs)
    finally:
        logging.set_verbosity(verbosity)


class MeanPoolingClassifier(torch.nn.Module):
    """An encoder, the mean of its last hidden states over the attention mask, dropout, a linear
    layer to `num_labels` logits (module docstring)."""

    pooling = "mean"

    def __init__(self, encoder: Any, labels: Sequence[str], dropout: float | None = None) -> None:
        super().__init__()
        config = encoder.config
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        self.encoder = encoder
        if dropout is None:
            dropout = getattr(config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(config, "hidden_dropout_prob", 0.1)
        self.dropout = torch.nn.Dropout(float(dropout))
        self.classifier = torch.nn.Linear(int(config.hidden_size), len(labels))
        std = float(getattr(config, "initializer_range", 0.02))
        with torch.no_grad():  # as a BERT head: N(0, initializer_range), zero bias
            self.classifier.weight.normal_(0.0, std)
            self.classifier.bias.zero_()

    # -- what callers of a Hugging Face classifier use -------------------------------------------
    @property
    def config(self) -> Any:
        """The encoder's config, with id2label / label2id / num_labels of this head."""
        return self.encoder.config

    def get_input_embeddings(self) -> Any:
        return self.encoder.get_input_embeddings()

    def resize_token_embeddings(self, n: int) -> Any:
        return self.encoder.resize_token_embeddings(n)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> Any:
        """Logits `(batch, num_labels)`; with `labels`, also the (unweighted) cross-entropy."""
        from transformers.modeling_outputs import SequenceClassifierOutput

        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state  # (batch, seq, hidden)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, hidden)
        logits = self.classifier(self.dropout(pooled))  # (batch, num_labels)
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    # -- files ----------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> None:
        """config.json and model.safetensors (float32) into `directory` (module docstring)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = copy.deepcopy(self.config)
        config.architectures = [ARCHITECTURE]
        setattr(config, HEAD_KEY, self.pooling)
        config.save_pretrained(directory)
        state = {
            k: v.detach().to(device="cpu", dtype=torch.float32).contiguous()
            for k, v in self.state_dict().items()
        }
        save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})

    @classmethod
    def from_base_model(cls, directory: str | Path, labels: Sequence[str]) -> MeanPoolingClassifier:
        """A base checkpoint's encoder (its pooler, if any, left out) and a new head for `labels`.

        The head is drawn from torch's current seed (fine-tuning sets it first).
        """
        from transformers import AutoModel

        directory = Path(directory)
        encoder, info = _quiet_auto_model(
            AutoModel.from_pretrained, directory, dtype=torch.float32, output_loading_info=True
        )
        missing = sorted(map(str, info.get("missing_keys") or []))
        if missing:
            raise ArtifactError(
                f"the base model in {directory} lacks weights for {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''}: fine-tuning would start from random layers"
            )
        return cls(encoder, labels)

    @classmethod
    def load(cls, directory: str | Path) -> MeanPoolingClassifier:
        """The network saved by `save_pretrained`, in float32 and eval mode (on the CPU)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel

        directory = Path(directory)
        config = AutoConfig.from_pretrained(directory)
        if getattr(config, HEAD_KEY, None) != cls.pooling:
            raise ArtifactError(
                f"{directory}/config.json does not describe a mean-pooling classifier "
                f'("{HEAD_KEY}": "{cls.pooling}" is missing); the folder and its netralitas.json '
                "disagree about the network's head"
            )
        labels = [str(config.id2label[i]) for i in range(config.num_labels)]
        try:
            from transformers.initialization import no_init_weights
        except ImportError:  # another transformers: initialise, then overwrite (slower)
            import contextlib

            no_init_weights = contextlib.nullcontext
        with no_init_weights():  # every weight is loaded below; skip drawing random ones
            encoder = _quiet_auto_model(AutoModel.from_config, config, dtype=torch.float32)
            network = cls(encoder, labels)
        try:
            state = load_file(str(directory / WEIGHTS_FILE))
        except (OSError, SafetensorError) as exc:
            raise ArtifactError(f"{directory}/{WEIGHTS_FILE} cannot be read ({exc})") from exc
        # assign: the parameters become the tensors read from the file instead of being copied
        # into (a second 236 MB for e5-small, ~1 s of a ~10 s load); only when the file's dtypes
        # are the network's, so the network stays float32 whatever the file holds.
        own = dict(network.named_parameters())
        assign = all(k not in own or own[k].dtype == v.dtype for k, v in state.items())
        problems = network.load_state_dict(state, strict=False, assign=assign)
        if problems.missing_keys or problems.unexpected_keys:
            raise ArtifactError(
                f"{directory}/{WEIGHTS_FILE} does not fit its config.json: missing "
                f"{sorted(problems.missing_keys)[:5]}, unexpected "
                f"{sorted(problems.unexpected_keys)[:5]}; retrain or copy the whole folder again"
            )
        return network.eval()


def is_mean_pooling_folder(directory: str | Path) -> bool:
    """Whether `directory/config.json` says its weights are a mean-pooling classifier."""
    try:
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get(HEAD_KEY) == MeanPoolingClassifier.pooling
