"""The backend registry: artifact kind -> backend class (and through it, its settings type).

The artifact format, training configs and loading all read this one table, so a new backend is
one module in `model/backends/` plus one `register_backend` line below (and a training recipe in
`training/recipes/`). Entries name the class by import path and are imported on first use: the
TF-IDF path never imports torch, and registering costs nothing at import time.

Each backend class has a `kind` and a `settings_type`: the pydantic model of the constructor
settings it stores in its artifact (`extra.settings`), checked when the artifact is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netralitas.model.backend import Classifier

__all__ = ["UnknownBackendError", "backend_class", "backend_kinds", "register_backend"]


class UnknownBackendError(ValueError):
    """No backend is registered under a kind (a typo in a config, or an artifact from a newer
    netralitas or a plugin that is not installed)."""


_BACKENDS: dict[str, str | type] = {}


def register_backend(kind: str, backend: str | type) -> None:
    """Register `backend` ("module:Class", or the class itself) as the loader of `kind`."""
    if not kind or not kind.isidentifier():
        raise ValueError(f"a backend kind must be a short identifier like 'tfidf'; found {kind!r}")
    _BACKENDS[kind] = backend


def backend_kinds() -> tuple[str, ...]:
    """The registered kinds, in registration order."""
    return tuple(_BACKENDS)


def backend_class(kind: str) -> type[Classifier]:
    """The backend class registered for `kind` (imported now if it was named by path)."""
    try:
        entry = _BACKENDS[kind]
    except KeyError:
        raise UnknownBackendError(
            f"no backend of kind {kind!r}; this netralitas has {', '.join(backend_kinds())}. "
            "Check the kind's spelling, or install the netralitas version or plugin that wrote it"
        ) from None
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = _BACKENDS[kind] = getattr(importlib.import_module(module), name)
    return entry


register_backend("tfidf", "netralitas.model.backends.tfidf:TfidfClassifier")
register_backend(
    "transformer", "netralitas.model.backends.transformer.classifier:TransformerClassifier"
)
register_backend("cascade", "netralitas.model.backends.cascade:CascadeClassifier")
register_backend("embedding", "netralitas.model.backends.embedding.classifier:EmbeddingClassifier")
