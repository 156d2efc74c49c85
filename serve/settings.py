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

from pydantic import Field, field_validator, model_validator
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
    max_batch_size: int = Field(
        default=64, ge=1, description="items per model call; more work is split into chunks"
    )
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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="uvicorn worker processes sharing the port, each with its own model in memory",
    )
    # Reviewer feedback store: a SQLite file path, or a SQLAlchemy URL (postgresql+psycopg://...).
    feedback_db: str = Field(default="feedback.sqlite3", description="SQLite path or DB URL")
    log_text: bool = Field(
        default=False, description="log the scored texts (off: posts are personal data)"
    )
    # -- HTTP hardening (issue 15): timeouts and caps so that one caller cannot stall the server.
    body_timeout_s: float = Field(
        default=30.0,
        gt=0.0,
        le=3_600.0,
        description="seconds a request's whole body may take to arrive before a 408",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        le=600.0,
        description="seconds a request's line and headers may take from their first byte (from "
        "the connection's opening for its first request) before a 408 and a closed connection",
    )
    keep_alive_s: int = Field(
        default=5, ge=1, le=300, description="seconds an idle keep-alive connection stays open"
    )
    limit_concurrency: int = Field(
        default=1_024,
        ge=1,
        description="open connections plus tasks before uvicorn answers 503 (a hard ceiling)",
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1_024,
        le=1_048_576,
        description="largest request line plus headers uvicorn (h11) buffers before a 400",
    )
    trusted_hosts: tuple[str, ...] = Field(
        default=(),
        description='Host header values accepted (e.g. ["api.example.go.id", "*.example.go.id"]); '
        "empty: any host",
    )

    @field_validator("trusted_hosts")
    @classmethod
    def _host_patterns(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            wildcard = host.startswith("*.") or host == "*"
            if not host or "*" in (host[2:] if wildcard else host):
                raise ValueError(
                    f"trusted host {host!r}: expected a host name, '*.domain' (a leading wildcard "
                    "only) or '*'; fix NETRALITAS_TRUSTED_HOSTS (a JSON list)"
                )
        return hosts

    # -- end of HTTP hardening settings.

    # -- Admission, deadlines and quotas (issue 15): work is charged by its cost in tokens, one
    # token ~ 4 characters; an explained item costs its tokens once per occluded variant plus one.
    max_request_tokens: int = Field(
        default=2_000_000,
        ge=1_000,
        description="estimated tokens of work one score request may cost before a 413",
    )
    max_inflight_tokens: int = Field(
        default=8_000_000,
        ge=1_000,
        description="estimated tokens of work admitted at once, all requests; beyond it 503",
    )
    explain_max_words: int = Field(
        default=2_048,
        ge=1,
        description="occluded variants (words, grouped for long texts) per request with `explain`",
    )
    max_batch_chars: int = Field(
        default=320_000,
        ge=1_000,
        description="characters per model call past its first item; longer work is split in chunks",
    )
    max_chunk_ms: float = Field(
        default=150.0,
        ge=0.0,
        le=60_000.0,
        description="a model call's target length: longer work is split so that a request that "
        "arrives meanwhile waits about this long (speed measured as the server runs; 0: off)",
    )
    request_timeout_s: float = Field(
        default=30.0,
        gt=0.0,
        le=3_600.0,
        description="seconds a score request may take before a 504; X-Request-Timeout may shorten it",
    )
    rate_requests_per_minute: int = Field(
        default=1_200, ge=0, description="score requests per key per minute (0: no limit)"
    )
    rate_items_per_minute: int = Field(
        default=60_000, ge=0, description="items scored per key per minute (0: no limit)"
    )
    rate_limit_store: str = Field(
        default="",
        description="where the per-key quota buckets live: empty, in this process; a SQLite path "
        "or a postgresql+psycopg:// URL shared by every worker and machine serving the same keys "
        "(`--workers N` uses a SQLite file of its own when empty)",
    )
    # -- end of admission settings.

    # -- The self-check page for civil servants, /cek (issue 17; serve/pages/selfcheck.py).
    self_check: bool = Field(default=True, description="serve the self-check page /cek")
    self_check_key_required: bool = Field(
        default=False,
        description="the self-check page asks for a key with the `score` scope (off: open to all, "
        "limited per client address)",
    )
    self_check_per_minute: int = Field(
        default=20,
        ge=0,
        description="self-checks per client address per minute without a key (0: no limit); "
        "with a key, the key's score quota applies",
    )
    # -- end of self-check settings.

    @model_validator(mode="after")
    def _coherent(self) -> ServeSettings:
        if self.max_items > self.max_body_bytes:
            raise ValueError(
                f"max_items ({self.max_items}) cannot exceed max_body_bytes "
                f"({self.max_body_bytes}); raise NETRALITAS_MAX_BODY_BYTES"
            )
        if self.max_request_tokens > self.max_inflight_tokens:
            raise ValueError(
                f"max_request_tokens ({self.max_request_tokens}) cannot exceed "
                f"max_inflight_tokens ({self.max_inflight_tokens}): such a request could never "
                "be admitted; raise NETRALITAS_MAX_INFLIGHT_TOKENS"
            )
        return self

    def inline_key_entries(self) -> list[str]:
        """The key entries of `api_keys` (not of the file), blanks and comments dropped."""
        from netralitas.serve.auth import entry_lines

        return entry_lines(self.api_keys.replace(";", "\n"))

    def key_entries(self) -> list[str]:
        """Every configured key entry (from `api_keys` and `api_keys_file`), blanks dropped."""
        from netralitas.serve.auth import read_key_file

        file_entries = read_key_file(self.api_keys_file) if self.api_keys_file else []
        return self.inline_key_entries() + file_entries

    def feedback_url(self) -> str:
        """The SQLAlchemy URL of the feedback store (a bare path means a SQLite file)."""
        from netralitas.serve.feedback import database_url

        return database_url(self.feedback_db)


@functools.cache
def get_settings() -> ServeSettings:
    """The process-wide settings, read from the environment on first use."""
    return ServeSettings()
