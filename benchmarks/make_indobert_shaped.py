"""Write an IndoBERT-base-shaped sequence classifier with random weights, for speed measurements.

12 layers, hidden 768, 12 heads, feed-forward 3072, 512 positions, the vocabulary at `--vocab`
(e.g. ../shared/models/indolem-indobert-base-uncased-tokenizer/vocab.txt) plus the role tokens that
fine-tuning adds. Its scores are random: it measures time and memory, never accuracy.

    python benchmarks/make_indobert_shaped.py \\
        --vocab ../shared/models/indolem-indobert-base-uncased-tokenizer/vocab.txt \\
        --output /tmp/indobert-shaped --artifact
    netralitas score /tmp/indobert-shaped data/examples.jsonl --table   # with --artifact

Without `--artifact` the folder is a plain Hugging Face checkpoint (config.json with id2label,
model.safetensors, tokenizer files); with it, also a netralitas artifact (netralitas.json with
thresholds 0.5/0.5).
"""

from __future__ import annotations

import argparse
import datetime as dt
from importlib.metadata import version
from pathlib import Path


def _labels(n: int) -> tuple[str, ...]:
    return ("neutral", "supportive") if n == 2 else ("neutral", *(f"side_{i}" for i in range(1, n)))


def build(vocab: Path, num_labels: int, seed: int = 0):
    """A TransformerClassifier holding the random IndoBERT-shaped network and its tokenizer."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from netralitas.model.backends.transformer.classifier import TransformerClassifier
    from netralitas.model.backends.transformer.hf_loading import add_role_tokens

    if not vocab.is_file():
        raise SystemExit(f"vocabulary {vocab} does not exist; pass --vocab PATH/TO/vocab.txt")
    tokenizer = BertTokenizer(vocab=str(vocab), do_lower_case=True)
    add_role_tokens(tokenizer)
    labels = _labels(num_labels)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        type_vocab_size=2,
        num_labels=num_labels,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    model = TransformerClassifier(base_model=f"random-indobert-base-shaped ({vocab.name})")
    model.attach(tokenizer, BertForSequenceClassification(config).eval(), labels, vocab.parent)
    model.temperature_ = 1.0
    return model


def _metadata(model, name: str):
    from netralitas.model.artifact import FORMAT_VERSION, ArtifactMetadata, Thresholds

    return ArtifactMetadata(
        format_version=FORMAT_VERSION,
        kind="transformer",
        name=name,
        version="random",
        labels=model.labels,
        neutral_label="neutral",
        thresholds=Thresholds(
            flag=0.5, review=0.5, precision_target=0.9, precision_target_met=False
        ),
        mask_profiles=True,
        package_version=version("netralitas"),
        created_at=dt.datetime.now(dt.UTC),
        extra={"note": "random weights, for speed measurements only"},
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", type=Path, required=True, help="a BERT WordPiece vocab.txt")
    parser.add_argument("--output", type=Path, required=True, help="folder to write")
    parser.add_argument("--num-labels", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--artifact", action="store_true", help="also write netralitas.json (a netralitas artifact)"
    )
    args = parser.parse_args(argv)
    if args.num_labels < 2:
        parser.error("--num-labels must be at least 2")
    model = build(args.vocab, args.num_labels, args.seed)
    if args.artifact:
        model.metadata_ = _metadata(model, args.output.name)
        model.save_pretrained(args.output)
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        model.network_.save_pretrained(args.output)
        model.tokenizer_.save_pretrained(args.output)
    params = sum(p.numel() for p in model.network_.parameters())
    print(
        f"wrote {args.output}: {params / 1e6:.1f}M parameters, vocabulary {len(model.tokenizer_)}"
    )


if __name__ == "__main__":
    main()
