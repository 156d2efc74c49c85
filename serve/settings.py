"""Service settings, read from `NETRALITAS_*` environment variables when first asked for.

Nothing is read at import time: `get_settings()` builds the settings on first call and caches them;
tests build a `ServeSettings(...)` themselves and pass it to `create_app`, or call
`get_settings.cache_clear()` after changing the environment.

API keys are never stored in clear: each entry is `name:scope1,scope2:sha256hex` (see
`netralitas.serve.auth.hash_key` or `netralitas api-key`), given in `NETRALITAS_API_KEYS` (entries
separated by `;` or new lines) and/or one per line in the file named by `NETRALITAS_API_KEYS_FILE`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServeSettings", "get_settings"]


class ServeSettings(BaseSettings):
    """Everything the scoring service can be configured with (env prefix `NETRALITAS_`)."""

    model_config = SettingsConfigDict(
        env_prefix="NETRALITAS_", frozen=True, extra="forbid", protected_namespaces=()
    )

    model_dir: str | None = Field(
        default=None, description="artifact directory written by `netralitas train`"
    )
    profiles: tuple[str, ...] = Field(
        default=(), description="election profile TOML files used instead of the stored ones"
    )
    api_keys: str = Field(
        default="",
        description="hashed keys, `name:scope1,scope2:sha256hex`, separated by ';' or new lines",
    )
    api_keys_file: Path | None = Field(
        default=None, description="file with one hashed key entry per line ('#' starts a comment)"
    )
    # Request limits. The body limit also bounds what a client can make the server buffer.
    max_items: int = Field(default=256, ge=1, le=10_000, description="items per score request")
    max_text_chars: int = Field(
        default=5_000, ge=10, le=1_000_000, description="characters per text and per context"
    )
    max_body_bytes: int = Field(default=2_000_000, ge=1_000, description="request body size")
    # Micro-batching and backpressure.
    batching: bool = Field(default=True, description="gather concurrent requests into batches")
    max_batch_size: int = Field(default=64, ge=1, description="items per model call (soft cap)")
    # 2 ms: under load batches form anyway while the model is busy; the wait only matters for a
    # request that finds the model idle (benchmarks/api_load.py measured 0, 2 and 5 ms).
    max_wait_ms: float = Field(
        default=2.0, ge=0.0, le=1_000.0, description="longest a request waits for batch-mates"
    )
    queue_size: int = Field(
        default=256, ge=1, description="requests waiting for the model before 503s start"
    )
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After sent with a 503")
    # Explanations.
    explain_top_k: int = Field(default=5, ge=1, le=50, description="spans per explanation")
    explain_max_items: int = Field(
        default=32,
        ge=1,
        description="items per request when `explain` is on (each costs a model row per word)",
    )
    explain_max_spans: int = Field(
        default=128, ge=4, le=2_000, description="occluded variants per text; words are grouped"
    )
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        description="intra-op threads for the transformer backend (default: torch's choice); 1 "
        "avoids thread stalls on a shared or busy CPU",
    )
    inference: Literal["auto", "fp32", "int8", "bf16", "fp16"] = Field(
        default="auto",
        description="inference path of a transformer or frozen-encoder model; auto: on CPU the "
        "path the artifact's accuracy guard passed (int8 or bf16), else fp32; bf16/fp16 on CUDA",
    )
    # Reviewer feedback store: a SQLite file path, or a SQLAlchemy URL (postgresql+psycopg://...).
    feedback_db: str = Field(default="feedback.sqlite3", description="SQLite path or DB URL")
    log_text: bool = Field(
        default=False, description="log the scored texts (off: posts are personal data)"
    )

    @model_validator(mode="after")
    def _coherent(self) -> ServeSettings:
        if self.max_items > self.max_body_bytes:
            raise ValueError(
                f"max_items ({self.max_items}) cannot exceed max_body_bytes "
                f"({self.max_body_bytes}); raise NETRALITAS_MAX_BODY_BYTES"
            )
        return self

    def key_entries(self) -> list[str]:
        """Every configured key entry (from `api_keys` and `api_keys_file`), blanks dropped."""
        lines = self.api_keys.replace(";", "\n").splitlines()
        if self.api_keys_file is not None:
            if not self.api_keys_file.is_file():
                raise ValueError(
                    f"NETRALITAS_API_KEYS_FILE={self.api_keys_file} does not exist; create it with "
                    "one `name:scopes:sha256hex` line per key (see `netralitas api-key`)"
                )
            lines += self.api_keys_file.read_text(encoding="utf-8").splitlines()
        return [s for line in lines if (s := line.split("#", 1)[0].strip())]

    def feedback_url(self) -> str:
        """The SQLAlchemy URL of the feedback store (a bare path means a SQLite file)."""
        from netralitas.serve.feedback import database_url

        return database_url(self.feedback_db)


@functools.cache
def get_settings() -> ServeSettings:
    """The process-wide settings, read from the environment on first use."""
    return ServeSettings()
