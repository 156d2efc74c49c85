"""API keys: stored as SHA-256 digests, checked in constant time, each with a set of scopes.

A client sends its key as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Keys are random tokens
(see `new_key`), so a fast unsalted hash is enough: there is nothing to brute-force that a
dictionary would find. Every stored digest is compared, whatever matches first, so the time taken
does not tell which key (or how much of one) was right.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

__all__ = [
    "MIN_KEY_BITS",
    "MIN_KEY_CHARS",
    "SCOPES",
    "ApiKey",
    "KeyFileRing",
    "KeyRing",
    "Scope",
    "check_key_strength",
    "entry_lines",
    "hash_key",
    "new_key",
    "parse_key_entry",
    "read_key_file",
]

log = logging.getLogger("netralitas.serve")

Scope = Literal["score", "feedback", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
_HEX = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# A chosen key is hashed without salt or stretching (see the module docstring), so it must be as
# hard to guess as a generated one: long, and drawn from a wide alphabet without much repetition.
MIN_KEY_CHARS = 24
MIN_KEY_BITS = 100
_MIN_BITS_PER_CHAR = 3.0  # empirical (Shannon) entropy: "passwordpassword..." has ~2.8


def hash_key(key: str) -> str:
    """The hex SHA-256 digest stored for `key`.

    >>> hash_key("rahasia")[:12]
    '541e984103d4'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return "ntr_" + secrets.token_urlsafe(32)


def _key_bits(key: str) -> float:
    """A generous estimate of a key's entropy in bits: length times log2 of its alphabet size
    (the character classes it uses: lower, upper, digits, other printable)."""
    pool = sum(
        size
        for size, present in (
            (26, any(c.islower() for c in key)),
            (26, any(c.isupper() for c in key)),
            (10, any(c.isdigit() for c in key)),
            (32, any(not c.isalnum() for c in key)),
        )
        if present
    )
    return len(key) * math.log2(pool) if pool > 1 else 0.0


def _bits_per_char(key: str) -> float:
    counts = Counter(key)
    return -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values()) if key else 0.0


def check_key_strength(key: str) -> None:
    """Raise ValueError unless `key` is long and varied enough to serve as an API key.

    >>> check_key_strength(new_key())  # passes; "a" * 40 or a 20-character key would not
    """
    fix = "leave out --key and a random key is made for you"
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(
            f"the key has {len(key)} characters; at least {MIN_KEY_CHARS} are expected; {fix}"
        )
    per_char = _bits_per_char(key)
    if per_char < _MIN_BITS_PER_CHAR:
        raise ValueError(
            f"the key repeats a few characters ({per_char:.1f} bits of entropy per character; "
            f"at least {_MIN_BITS_PER_CHAR} expected); {fix}"
        )
    bits = _key_bits(key)
    if bits < MIN_KEY_BITS:
        raise ValueError(
            f"the key has about {bits:.0f} bits of entropy; at least {MIN_KEY_BITS} are expected "
            f"(make it longer or mix letters, digits and symbols); {fix}"
        )


@dataclass(frozen=True)
class ApiKey:
    """One configured key: who holds it, what it may do, and the digest of its secret."""

    name: str
    scopes: frozenset[str]
    digest: str
    # Reviewer names (stripped, casefolded) this key may record feedback verdicts for, besides
    # its own name: a team key used by several reviewers. Optional 4th part of the entry.
    acts_for: frozenset[str] = frozenset()

    def entry(self) -> str:
        """The `name:scopes:digest[:acts_for]` line that configures this key."""
        line = f"{self.name}:{','.join(sorted(self.scopes))}:{self.digest}"
        return f"{line}:{','.join(sorted(self.acts_for))}" if self.acts_for else line


def parse_key_entry(entry: str) -> ApiKey:
    """Parse `name:scope1,scope2:sha256hex[:reviewer1,reviewer2]`; errors say which part is wrong
    and how to fix it. The optional last part names the reviewers the key may act for."""
    parts = entry.strip().split(":")
    if len(parts) not in (3, 4):
        raise ValueError(
            f"API key entry {_redact(entry)!r} must look like name:scope1,scope2:sha256hex "
            "(optionally followed by :reviewer1,reviewer2) "
            f"(found {len(parts)} ':'-separated parts); create one with `netralitas api-key NAME`"
        )
    name, scopes_text, digest = (p.strip() for p in parts[:3])
    acts_for = frozenset(
        " ".join(r.split()).casefold() for r in (parts[3] if len(parts) == 4 else "").split(",")
    ) - {""}
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
    return ApiKey(name, scopes, digest, acts_for)


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


def entry_lines(text: str) -> list[str]:
    """The key entries in `text`, one per line ('#' starts a comment), blanks dropped."""
    return [s for line in text.splitlines() if (s := line.split("#", 1)[0].strip())]


def read_key_file(path: Path) -> list[str]:
    """The key entries of a keys file; a missing file is an error that says how to make one."""
    if not path.is_file():
        raise ValueError(
            f"NETRALITAS_API_KEYS_FILE={path} does not exist; create it with one "
            "`name:scopes:sha256hex` line per key (see `netralitas api-key`)"
        )
    return entry_lines(path.read_text(encoding="utf-8"))


class KeyFileRing(KeyRing):
    """Fixed entries plus those of a keys file that is re-read when it changes: no restart needed.

    Each `find` stats the file (one system call) and re-reads it when its modification time, size
    or inode changed, so a key removed from the file stops working at the next request; `reload()`
    (SIGHUP) re-reads it unconditionally. A file that cannot be read or holds a bad entry keeps the
    previous keys and logs the error: a half-saved edit does not lock every client out.
    """

    def __init__(self, fixed: Sequence[str], path: Path) -> None:
        self.fixed = tuple(fixed)
        self.path = path
        self._stamp = self._stat()
        super().__init__(self._parse())  # at start-up a bad file is an error, not a log line

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _parse(self) -> tuple[ApiKey, ...]:
        entries = [*self.fixed, *read_key_file(self.path)]
        return KeyRing.from_entries(entries).keys  # checks the names are unique too

    def reload(self, force: bool = True) -> None:
        """Re-read the keys file (only if it changed, unless `force`)."""
        stamp = self._stat()
        if not force and stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.keys = self._parse()
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.error("keys file %s not reloaded, previous keys kept: %s", self.path, exc)
            return
        log.info("keys file %s reloaded: %d key(s)", self.path, len(self.keys))

    def find(self, presented: str) -> ApiKey | None:
        self.reload(force=False)
        return super().find(presented)
