"""The transformer backend: a fine-tuned BERT-family sequence classifier behind the Classifier
interface.

How a post is read, in one place for training and scoring (`encode`), set by three settings that
the artifact stores (`extra.settings`):

- `text_view`: "normalized" (default) reads the post through the same `TextNormalizer` as the
  TF-IDF baseline: lower case, slang replaced, contestants masked to role tokens ("[calon]", ...)
  when `mask_profiles` is on; the role tokens are added to the tokenizer as special tokens.
  "raw" is for a pretrained encoder that knows names, case, emoji and slang (multilingual-e5):
  the post as written, only tidied (model/text/light.py: NFC, plain apostrophes, no invisible
  characters, single spaces); no masking, no role tokens in the vocabulary.
- `prefix`: prepended to the post's text ("query: " is the e5 convention for a text to classify;
  default ""). Only to the post, never to its context: the (post, context) pair is one input
  sequence to the encoder, and e5 puts one prefix at the start of each input.
- `pooling`: the head. "cls" (default) is `AutoModelForSequenceClassification` ([CLS] through the
  pooler); "mean" classifies the mean of the last hidden states over the attention mask, as e5
  was trained (model/backends/transformer/heads.py).

Then the tokenizer; with a context the network reads the pair (post, context) as one sequence.
Probabilities are calibrated by the artifact's calibration map (`ProfileReading.predict_proba`;
format-2 artifacts divide the logits by their stored temperature instead). Stored as
safetensors weights + tokenizer files + `netralitas.json`; with `pooling = "cls"` the folder is
also a plain Hugging Face checkpoint, with "mean" its layout is in heads.py. Importing this module
imports neither torch nor transformers: they load on first use.

How it computes when scoring (fp32, int8, bf16, fp16; threads; batch size) is the `inference`
setting, resolved when the model is loaded (model/backends/transformer/fast_inference.py); it is a choice of the
machine that scores, not part of the artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.model.artifact import (
    FORMAT_VERSION,
    ArtifactError,
    ArtifactMetadata,
    Thresholds,
    atomic_directory,
    read_metadata,
    read_profiles,
    write_metadata,
    write_profiles,
)
from netralitas.model.backend import ProfileReading, check_inputs
from netralitas.model.backends.transformer.encoding import Features, batched_logits, tokenize
from netralitas.model.backends.transformer.fast_inference import GuardedInference
from netralitas.model.backends.transformer.hf_loading import POOLINGS
from netralitas.model.inference import check_inference
from netralitas.model.model_card import render_model_card
from netralitas.model.text.light import light_text
from netralitas.model.text.profiles import ElectionProfile

__all__ = ["DEFAULT_BASE_MODEL", "POOLINGS", "TEXT_VIEWS", "TransformerClassifier"]

DEFAULT_BASE_MODEL = "indobenchmark/indobert-base-p1"
TEXT_VIEWS = ("normalized", "raw")  # what the encoder reads (module docstring)
NEUTRAL_NAMES = ("neutral", "netral")
logger = logging.getLogger(__name__)


class TransformerClassifier(GuardedInference, ProfileReading):
    """A sequence-classification network and its tokenizer, reading normalised text.

    The constructor only stores settings; the learned state (`tokenizer_`, `network_`,
    `labels_`, `temperature_`) is set by fine-tuning (`netralitas.training.finetune`) or by
    `from_pretrained` / `from_hf_checkpoint`.
    """

    kind = "transformer"

    def __init__(
        self,
        base_model: str = DEFAULT_BASE_MODEL,
        profiles: Sequence[ElectionProfile] = (),
        mask_profiles: bool = True,
        max_length: int = 128,
        use_context: bool = True,
        batch_size: int = 32,
        inference: str = "auto",
        pooling: str = "cls",
        prefix: str = "",
        text_view: str = "normalized",
    ) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, found {pooling!r}")
        if text_view not in TEXT_VIEWS:
            raise ValueError(f"text_view must be one of {TEXT_VIEWS}, found {text_view!r}")
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a string, found {prefix!r}")
        self.base_model = base_model
        self.profiles = tuple(profiles)
        self.mask_profiles = mask_profiles
        self.max_length = max_length
        self.use_context = use_context
        self.batch_size = batch_size
        self.inference = inference
        self.pooling = pooling
        self.prefix = prefix
        self.text_view = text_view

    def get_settings(self) -> dict[str, Any]:
        """Constructor settings other than profiles and `inference` (stored in the artifact)."""
        return {
            "base_model": self.base_model,
            "mask_profiles": self.mask_profiles,
            "max_length": self.max_length,
            "use_context": self.use_context,
            "batch_size": self.batch_size,
            "pooling": self.pooling,
            "prefix": self.prefix,
            "text_view": self.text_view,
        }

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError(
                "this TransformerClassifier has no network; fine-tune it with `netralitas train` "
                "or load one with from_pretrained()"
            )

    # -- text -> features -> logits ---------------------------------------------------------------
    def read_text(self, text: str) -> str:
        """A post or context as the encoder reads it under `text_view` (no prefix)."""
        return self.normalizer(text) if self.text_view == "normalized" else light_text(text)

    def encoder_inputs(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> tuple[list[str], list[str]]:
        """The strings the tokenizer gets: `prefix` + the post as read, and the context as read
        ("" without one, or when `use_context` is off: the post is then a single sequence)."""
        texts, contexts = check_inputs(texts, contexts)
        first = [self.prefix + self.read_text(t) for t in texts]
        second = [self.read_text(c) if c and self.use_context else "" for c in contexts]
        return first, second

    def encode(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> tuple[Features, np.ndarray]:
        """Read (`encoder_inputs`) and tokenize: one feature dict per input (input order) and a
        bool `(n,)` array of the inputs that were truncated. Used for training and scoring alike."""
        self._check_fitted()
        first, second = self.encoder_inputs(texts, contexts)
        return tokenize(self.tokenizer_, first, second, self.max_length)

    def logits_from_features(self, features: Features) -> np.ndarray:
        """Raw logits `(n, len(labels))`, before temperature, in the order of `features`."""
        plan = self.prepare_inference()
        return batched_logits(
            self._scoring.network,
            self.tokenizer_,
            features,
            len(self.labels_),
            plan.batch_size(self.batch_size),
        )

    def logits(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Raw logits `(n, len(labels))` before temperature scaling (used to fit it)."""
        features, cut = self.encode(texts, contexts)
        if cut.any():
            logger.warning(
                "%d of %d inputs are longer than max_length=%d tokens and were truncated",
                int(cut.sum()),
                len(cut),
                self.max_length,
            )
        return self.logits_from_features(features)

    def raw_proba(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The network's probabilities `(n, len(labels))`, columns in `labels` order; a format-2
        artifact's temperature (`temperature_`) is applied here, a calibration map by
        `predict_proba`."""
        from scipy.special import softmax

        return softmax(self.logits(texts, contexts) / self.temperature_, axis=1)

    def truncated(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Boolean `(n,)`: which inputs are longer than `max_length` tokens and were cut."""
        return self.encode(texts, contexts)[1]

    # -- inference path ------------------------------------------------------------------------
    def _inference_network(self) -> Any:
        self._check_fitted()
        return self.network_

    # -- persistence -----------------------------------------------------------------------------
    def _metadata_to_save(self) -> ArtifactMetadata:
        metadata: ArtifactMetadata | None = getattr(self, "metadata_", None)
        if metadata is None or not hasattr(self, "network_"):
            raise RuntimeError(
                "save_pretrained needs a trained model with metadata_ (see training)"
            )
        extra = {
            **metadata.extra,
            "settings": self.get_settings(),
            "temperature": float(self.temperature_),
        }
        if getattr(self, "base_model_revision_", None):
            extra["base_model_revision"] = self.base_model_revision_
        return metadata.model_copy(
            update={"profiles": tuple(p.id for p in self.profiles), "extra": extra}
        )

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the artifact atomically: safetensors weights, tokenizer, profiles, the resolved
        training config, evaluation results, the model card, and `netralitas.json` last."""
        metadata = self._metadata_to_save()
        with atomic_directory(directory) as tmp:
            self.network_.save_pretrained(tmp)  # config.json + model.safetensors
            self.tokenizer_.save_pretrained(tmp)
            write_profiles(tmp, self.profiles)
            (tmp / "training_config.json").write_text(
                json.dumps(metadata.training_config, indent=2), encoding="utf-8"
            )
            (tmp / "eval_results.json").write_text(
                json.dumps(metadata.metrics, indent=2), encoding="utf-8"
            )
            (tmp / "README.md").write_text(render_model_card(metadata), encoding="utf-8")
            write_metadata(tmp, metadata)
        return Path(directory)

    def attach(
        self, tokenizer: Any, network: Any, labels: tuple[str, ...], source: str | Path
    ) -> None:
        """Set the learned tokenizer and network after checking that they fit these settings."""
        head = getattr(network, "pooling", "cls")
        if head != self.pooling:
            raise ArtifactError(
                f"{source}: the network has a {head!r}-pooling head but the settings say "
                f"pooling = {self.pooling!r}"
            )
        id2label = tuple(network.config.id2label[i] for i in range(network.config.num_labels))
        if id2label != labels:
            raise ArtifactError(
                f"{source}/config.json id2label {id2label} differs from the labels {labels}"
            )
        limit = getattr(network.config, "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise ArtifactError(
                f"{source}: max_length {self.max_length} exceeds the network's "
                f"max_position_embeddings {limit}"
            )
        self.tokenizer_, self.network_, self.labels_ = tokenizer, network, labels
        # Format-2 artifacts stored a temperature; newer ones calibrate in the metadata.
        self.temperature_ = getattr(self, "temperature_", 1.0)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> TransformerClassifier:
        """Load an artifact written by `save_pretrained`; `profiles` overrides the stored ones;
        `inference` picks the scoring path (module docstring of fast_inference)."""
        from netralitas.model.backends.transformer.hf_loading import load_for_scoring

        check_inference(inference)
        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        stored = read_profiles(directory, metadata.profiles)
        model = cls(
            profiles=stored if profiles is None else profiles,
            inference=inference,
            **metadata.extra.get("settings", {}),
        )
        tokenizer, network = load_for_scoring(directory, pooling=model.pooling)
        model.attach(tokenizer, network, metadata.labels, directory)
        model.temperature_ = float(metadata.extra.get("temperature", 1.0))
        model.base_model_revision_ = metadata.extra.get("base_model_revision")
        model.metadata_ = metadata
        model.prepare_inference()
        return model

    @classmethod
    def from_hf_checkpoint(
        cls,
        directory: str | Path,
        profiles: Sequence[ElectionProfile] | None = None,
        inference: str = "auto",
    ) -> TransformerClassifier:
        """Load a plain Hugging Face sequence-classification folder trained elsewhere.

        Its `config.json` must name the classes in `id2label`, one of them "neutral". It has no
        thresholds chosen on validation data: flag and review are both 0.5 until it is
        re-evaluated; the metadata says so.
        """
        from netralitas.model.backends.transformer.hf_loading import load_for_scoring

        check_inference(inference)
        directory = Path(directory)
        tokenizer, network = load_for_scoring(directory)
        config = network.config
        labels = tuple(str(config.id2label[i]) for i in range(config.num_labels))
        neutral = [label for label in labels if label.lower() in NEUTRAL_NAMES]
        if len(neutral) != 1:
            raise ArtifactError(
                f"{directory}/config.json id2label is {dict(enumerate(labels))}: expected exactly "
                "one class named 'neutral' (the class that takes no side); edit id2label and "
                "label2id in config.json to the real class names"
            )
        limits = [512, getattr(config, "max_position_embeddings", 512), tokenizer.model_max_length]
        model = cls(
            base_model=str(directory),
            profiles=profiles or (),
            mask_profiles=bool(profiles),
            max_length=int(min(limits)),
            inference=inference,
        )
        model.attach(tokenizer, network, labels, directory)
        model.temperature_ = 1.0
        model.base_model_revision_ = None
        model.metadata_ = ArtifactMetadata(
            format_version=FORMAT_VERSION,
            kind="transformer",
            name=directory.name,
            version="unversioned",
            labels=labels,
            neutral_label=neutral[0],
            thresholds=Thresholds(
                flag=0.5, review=0.5, precision_target=0.9, precision_target_met=False
            ),
            mask_profiles=model.mask_profiles,
            profiles=tuple(p.id for p in model.profiles),
            package_version=package_version("netralitas"),
            created_at=dt.datetime.now(dt.UTC),
            extra={
                "source": "hf-checkpoint",
                "settings": model.get_settings(),
                "note": "thresholds are 0.5 defaults, not chosen on validation data",
            },
        )
        model.prepare_inference()
        return model
