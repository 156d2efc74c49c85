"""The data layer's one error type (re-exported by `netralitas.data.records`)."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data file, or how it is to be read, is not usable; the message says what to change."""
