"""A new backend is one module in `model/backends/` registered in one line, plus one training
recipe: nothing else is edited. This file is that module and that recipe (a toy word-weight model)
and shows that the untouched config reader, `netralitas train`, the artifact format, loading, the
Scorer, `netralitas score` and the API all take it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from fastapi.testclient import TestClient

from netralitas.cli.main import main
from netralitas.model import registry
from netralitas.model.artifact import (
    ArtifactError,
    atomic_directory,
    read_metadata,
    read_profiles,
    write_metadata,
    write_profiles,
)
from netralitas.model.backend import Classifier, ProfileReading, check_inputs
from netralitas.model.loading import load_classifier
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer
from netralitas.serve.app import create_app
from netralitas.serve.settings import ServeSettings
from netralitas.training import recipes
from netralitas.training.config import ConfigError, ModelSettings, load_config
from netralitas.training.recipes import FitJob, Fitted, Recipe

from .sample_data import labelled_rows, write_jsonl
from .serve_support import auth, key_entries


# -- the backend module (would be model/backends/toy.py) -----------------------------------------
class ToyClassifier(ProfileReading):
    """p(label) from summed per-word log-odds learned by counting (a tiny naive Bayes)."""

    kind = "toy"

    def __init__(self, profiles=(), mask_profiles: bool = True, smoothing: float = 1.0) -> None:
        self.profiles = tuple(profiles)
        self.mask_profiles = mask_profiles
        self.smoothing = smoothing

    def get_settings(self) -> dict:
        return {"mask_profiles": self.mask_profiles, "smoothing": self.smoothing}

    def fit(self, texts, labels, contexts=None) -> ToyClassifier:
        self.labels_ = tuple(sorted(set(labels)))
        counts = {label: Counter() for label in self.labels_}
        for text, label in zip(texts, labels, strict=True):
            counts[label].update(self.normalizer(text).split())
        vocab = sorted(set().union(*counts.values()))
        self.weights_ = {
            label: {
                w: math.log((c[w] + self.smoothing) / (c.total() + self.smoothing * len(vocab)))
                for w in vocab
            }
            for label, c in counts.items()
        }
        return self

    def raw_proba(self, texts, contexts=None) -> np.ndarray:
        texts, _ = check_inputs(texts, contexts)
        unseen = math.log(1e-6)
        logits = np.array(
            [
                [
                    sum(self.weights_[label].get(w, unseen) for w in self.normalizer(t).split())
                    for label in self.labels_
                ]
                for t in texts
            ]
        ).reshape(len(texts), len(self.labels_))
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def truncated(self, texts, contexts=None) -> np.ndarray:
        return np.zeros(len(check_inputs(texts, contexts)[0]), dtype=bool)

    def save_pretrained(self, directory) -> Path:
        with atomic_directory(directory) as tmp:
            (tmp / "weights.json").write_text(json.dumps(self.weights_), encoding="utf-8")
            write_profiles(tmp, self.profiles)
            write_metadata(tmp, self.metadata_)
        return Path(directory)

    @classmethod
    def from_pretrained(cls, directory, profiles=None, inference: str = "auto") -> ToyClassifier:
        directory = Path(directory)
        metadata = read_metadata(directory, kind=cls.kind)
        stored = read_profiles(directory, metadata.profiles)
        model = cls(stored if profiles is None else profiles, **metadata.extra["settings"])
        model.weights_ = json.loads((directory / "weights.json").read_text(encoding="utf-8"))
        model.labels_ = metadata.labels
        model.metadata_ = metadata
        return model


# -- the recipe module (would be training/recipes/toy.py) -----------------------------------------
class ToySettings(ModelSettings):
    kind: Literal["toy"] = "toy"
    smoothing: float = 1.0


class ToyRecipe(Recipe):
    settings_type = ToySettings

    def fit(self, job: FitJob) -> Fitted:
        model = ToyClassifier(job.profiles, job.config.profiles.mask, job.settings.smoothing)
        return Fitted(model.fit([r.text for r in job.train], [r.label for r in job.train]))


# -- the two registration lines, undone after each test ------------------------------------------
@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setattr(registry, "_BACKENDS", dict(registry._BACKENDS))
    monkeypatch.setattr(recipes, "_RECIPES", dict(recipes._RECIPES))
    registry.register_backend("toy", ToyClassifier)
    recipes.register_recipe("toy", ToyRecipe())


@pytest.fixture
def toy_config(tmp_path, profile_path) -> Path:
    write_jsonl(tmp_path / "train.jsonl", labelled_rows())
    config = tmp_path / "toy.toml"
    config.write_text(
        f"""
name = "mainan"
version = "0.1"
output_dir = "{tmp_path / "toy-model"}"
[data]
train = "{tmp_path / "train.jsonl"}"
validation = "{tmp_path / "train.jsonl"}"
[profiles]
paths = ["{profile_path}"]
[model]
kind = "toy"
smoothing = 0.5
""",
        encoding="utf-8",
    )
    return config


def test_a_registered_toy_backend_trains_saves_loads_and_scores(
    toy_registered, toy_config, tmp_path, capsys
):
    assert main(["train", str(toy_config)]) == 0
    model_dir = tmp_path / "toy-model"
    meta = read_metadata(model_dir)
    assert meta.kind == "toy" and meta.extra["settings"] == {
        "mask_profiles": True,
        "smoothing": 0.5,
    }
    # Cross-fitted (the default): the thresholds rest on every training post, scored out of fold.
    assert meta.summary.out_of_fold is not None
    assert meta.summary.out_of_fold.n == 2 * len(labelled_rows())  # train + validation files

    model = load_classifier(model_dir)
    assert type(model) is ToyClassifier and isinstance(model, Classifier)
    posts = [
        Record(text="Ayo coblos nomor 2, Pak Hendro paling peduli!", id="a"),
        Record(text="Jadwal posyandu bulan ini hari Kamis.", id="b"),
    ]
    scored = list(Scorer(model).score(posts, explain=True))
    assert [p.id for p in scored] == ["a", "b"]
    assert scored[0].score > scored[1].score
    assert scored[0].decision != "clear" and scored[0].explanation  # explained by the one rule

    write_jsonl(tmp_path / "posts.jsonl", [{"id": p.id, "text": p.text} for p in posts])
    capsys.readouterr()
    assert main(["score", str(model_dir), str(tmp_path / "posts.jsonl")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["decision"] for r in rows] == [p.decision for p in scored]

    settings = ServeSettings(api_keys=key_entries(), feedback_db=str(tmp_path / "f.db"))
    with TestClient(create_app(settings, model=model)) as client:
        response = client.post(
            "/v1/score", json={"items": [{"text": posts[0].text}]}, headers=auth()
        )
    assert response.status_code == 200
    assert response.json()["results"][0]["score"] == pytest.approx(scored[0].score)


def test_an_unregistered_kind_is_a_clear_error(toy_config, tmp_path):
    with pytest.raises(ConfigError, match=r"no training recipe for model\.kind 'toy'"):
        load_config(toy_config)
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "netralitas.json").write_text(
        json.dumps({"format_version": 1, "kind": "toy"}), encoding="utf-8"
    )
    with pytest.raises(ArtifactError, match="no backend of kind 'toy'"):
        load_classifier(tmp_path / "fake")
