"""Fitting recipes: how a model of each backend kind is trained, one module per kind.

`train()` knows no backend: it asks this registry for the recipe of `config.model.kind`, which
brings its settings type (the `[model]` table of a config), a check that runs before any data is
read, the fitting itself, and a last step before saving (the transformer's accuracy guard). A new
backend is one module in `model/backends/` registered in `model/registry.py`, and one recipe
module here registered below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from netralitas.model.backend import Classifier
from netralitas.model.records import Record
from netralitas.model.text.profiles import ElectionProfile

if TYPE_CHECKING:
    from netralitas.training.config import ModelSettings, TrainConfig

__all__ = ["FitJob", "Fitted", "Recipe", "recipe_for", "recipe_kinds", "register_recipe"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class FitJob:
    """Everything a recipe may read: its settings, the whole config, profiles and the splits."""

    settings: ModelSettings
    config: TrainConfig
    profiles: tuple[ElectionProfile, ...]
    train: Sequence[Record]
    validation: Sequence[Record]
    log: Log = print


@dataclass
class Fitted:
    """A fitted model and what fitting measured or chose besides the splits (`report`, stored in
    the artifact's metrics; `Recipe.settle` reads the choices of cross-fit fold models)."""

    model: Classifier
    report: dict[str, Any] = field(default_factory=dict)


class Recipe:
    """The base of every recipe: `settings_type` and `fit` are required, the rest optional."""

    settings_type: ClassVar[type[ModelSettings]]

    def check(self, settings: ModelSettings, log: Log) -> None:
        """Fail fast, before any data is read (e.g. an unreachable base model)."""

    def fit(self, job: FitJob) -> Fitted:
        raise NotImplementedError

    def settle(
        self, settings: ModelSettings, reports: Sequence[dict[str, Any]]
    ) -> ModelSettings | None:
        """Settings that fit without a validation split, from what the cross-fit fold models chose
        on theirs (`Fitted.report`): the shipped model is then fitted on all the training data.
        None: this recipe needs a validation split, so the shipped model is fitted on the train
        split and validated on the validation split as without cross-fitting."""
        return None

    def finish(self, fitted: Fitted, job: FitJob, validation_proba: np.ndarray) -> None:
        """Last step before saving, with `metadata_` attached (e.g. the accuracy guard)."""


_RECIPES: dict[str, str | Recipe] = {}


def register_recipe(kind: str, recipe: str | Recipe) -> None:
    """Register `recipe` ("module:Class", or an instance) as the way to train `kind`."""
    _RECIPES[kind] = recipe


def recipe_kinds() -> tuple[str, ...]:
    return tuple(_RECIPES)


def recipe_for(kind: str) -> Recipe:
    """The recipe that trains `kind` (imported on first use)."""
    try:
        entry = _RECIPES[kind]
    except KeyError:
        raise ValueError(
            f"no training recipe for model.kind {kind!r}; trainable kinds: "
            f"{', '.join(recipe_kinds())}"
        ) from None
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = _RECIPES[kind] = getattr(importlib.import_module(module), name)()
    return entry


register_recipe("tfidf", "netralitas.training.recipes.tfidf:TfidfRecipe")
register_recipe("transformer", "netralitas.training.recipes.transformer:TransformerRecipe")
register_recipe("embedding", "netralitas.training.recipes.embedding:EmbeddingRecipe")
