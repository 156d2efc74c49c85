"""API keys: stored as SHA-256 digests, checked in constant time, each with a set of scopes.

A client sends its key as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Keys are random tokens
(see `new_key`), so a fast unsalted hash is enough: there is nothing to brute-force that a
dictionary would find. Every stored digest is compared, whatever matches first, so the time taken
does not tell which key (or how much of one) was right.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["SCOPES", "ApiKey", "KeyRing", "Scope", "hash_key", "new_key", "parse_key_entry"]

Scope = Literal["score", "feedback", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
_HEX = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def hash_key(key: str) -> str:
    """The hex SHA-256 digest stored for `key`.

    >>> hash_key("rahasia")[:12]
    '541e984103d4'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return "ntr_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiKey:
    """One configured key: who holds it, what it may do, and the digest of its secret."""

    name: str
    scopes: frozenset[str]
    digest: str

    def entry(self) -> str:
        """The `name:scopes:digest` line that configures this key."""
        return f"{self.name}:{','.join(sorted(self.scopes))}:{self.digest}"


def parse_key_entry(entry: str) -> ApiKey:
    """Parse `name:scope1,scope2:sha256hex`; errors say which part is wrong and how to fix it."""
    parts = entry.strip().split(":")
    if len(parts) != 3:
        raise ValueError(
            f"API key entry {_redact(entry)!r} must look like name:scope1,scope2:sha256hex "
            f"(found {len(parts)} ':'-separated parts); create one with `netralitas api-key NAME`"
        )
    name, scopes_text, digest = (p.strip() for p in parts)
    if not _NAME.fullmatch(name):
        raise ValueError(f"API key name {name!r} must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
    scopes = frozenset(s.strip() for s in scopes_text.split(",") if s.strip())
    unknown = sorted(scopes - set(SCOPES))
    if not scopes or unknown:
        raise ValueError(
            f"API key {name!r}: scopes must be a comma-separated subset of {', '.join(SCOPES)}; "
            f"found {scopes_text!r}"
        )
    digest = digest.lower()
    if not _HEX.fullmatch(digest):
        raise ValueError(
            f"API key {name!r}: expected the 64-hex-digit SHA-256 of the key, not the key itself; "
            "hash it with `netralitas api-key NAME --key KEY`"
        )
    return ApiKey(name, scopes, digest)


def _redact(entry: str) -> str:
    # A malformed entry might be a pasted secret: never echo it whole.
    return entry[:6] + "..." if len(entry) > 8 else "..."


class KeyRing:
    """The configured keys; `find` returns the key a presented secret belongs to, or None."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys: tuple[ApiKey, ...] = tuple(keys)
        names = [k.name for k in self.keys]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"API key names must be unique; repeated: {duplicates}")

    @classmethod
    def from_entries(cls, entries: Sequence[str]) -> KeyRing:
        return cls(parse_key_entry(e) for e in entries)

    def find(self, presented: str) -> ApiKey | None:
        digest = hash_key(presented).encode()
        found = None
        for key in self.keys:  # no early exit: constant work whichever key matches
            if hmac.compare_digest(digest, key.digest.encode()):
                found = key
        return found
