"""The one error of base-model lookup and building (a `ConfigError`: the CLI exits 2 with it)."""

from __future__ import annotations

from netralitas.training.config import ConfigError

__all__ = ["BaseModelError", "E5FormatError", "VerificationError"]


class BaseModelError(ConfigError):
    """The configured base model is neither a local directory, nor cached, nor reachable, nor
    buildable here."""


class E5FormatError(BaseModelError):
    """A packed `E5S1` model file is corrupt, truncated or of an unknown version or layout."""


class VerificationError(BaseModelError):
    """A converted checkpoint does not reproduce its source's embeddings closely enough."""
