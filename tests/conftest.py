"""Shared fixtures: a small profile and a small labelled set written here, never read from outside
the repository, and one TF-IDF artifact trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

# The PostgreSQL server fixture lives in postgres_support.py; registered here, once, so that every
# module shares one cluster per session (a fixture imported into two test modules would be two).
from .postgres_support import postgres_url  # noqa: F401
from .sample_data import PROFILE_TOML, labelled_rows, write_jsonl


@pytest.fixture(scope="session")
def profile_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("profiles") / "pilbup-uji-2030.toml"
    path.write_text(PROFILE_TOML, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def profile(profile_path):
    from netralitas.model.text.profiles import load_profile

    return load_profile(profile_path)


@pytest.fixture(scope="session")
def tfidf_artifact(tmp_path_factory, profile_path) -> Path:
    """A TF-IDF artifact trained through the real training entry point (train/validation split)."""
    from netralitas.training.config import load_config
    from netralitas.training.train import train

    root = tmp_path_factory.mktemp("tfidf")
    rows = labelled_rows()
    write_jsonl(root / "train.jsonl", rows)
    # Validation: the same rows (tiny data; the fixture exercises the pipeline, not accuracy).
    write_jsonl(root / "validation.jsonl", rows)
    (root / "config.toml").write_text(
        f"""
name = "uji"
version = "1.0"
[data]
train = "{root / "train.jsonl"}"
validation = "{root / "validation.jsonl"}"
[profiles]
paths = ["{profile_path}"]
[model]
kind = "tfidf"
C = 4.0
""",
        encoding="utf-8",
    )
    return train(load_config(root / "config.toml"), output_dir=root / "model", log=lambda _: None)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny random BERT base model folder (vocabulary trained on the bundled data)."""
    from .tiny_bert import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
