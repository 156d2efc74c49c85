"""Quality gates of the bundled starter set (data/starter): schema, balance, duplicates, leakage,
coverage of the election profiles. The bounds are the ones stated in data/README.md."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from netralitas.data.records import load_records
from netralitas.data.split import deduplicate, near_duplicate_pairs
from netralitas.model.text.profiles import load_profiles

DATA = Path(__file__).resolve().parents[1] / "data"
SPLITS = ("train", "validation", "test")
FIELDS = {
    "id",
    "text",
    "label",
    "tag",
    "context",
    "platform",
    "action",
    "election",
    "group",
    "source",
}


@pytest.fixture(scope="module")
def splits():
    return {name: load_records(DATA / "starter" / f"{name}.jsonl") for name in SPLITS}


@pytest.fixture(scope="module")
def rows(splits):
    return [r for name in SPLITS for r in splits[name]]


def test_every_row_has_every_field(rows):
    import json

    for name in SPLITS:
        for line in (DATA / "starter" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            assert set(json.loads(line)) == FIELDS
    assert {r.source for r in rows} == {"authored"}
    assert len({r.id for r in rows}) == len(rows)


def test_size_and_label_balance(rows):
    assert len(rows) >= 2000
    labels = Counter(r.label for r in rows)
    assert set(labels) == {"supportive", "neutral"}
    assert 0.35 <= labels["supportive"] / len(rows) <= 0.45


def test_tags_match_labels_and_are_balanced(rows):
    allowed = {
        "supportive": {"support", "attack"},
        "neutral": {"political-neutral", "non-political"},
    }
    for r in rows:
        assert r.tag in allowed[r.label], r.id
    tags = Counter(r.tag for r in rows)
    supportive = tags["support"] + tags["attack"]
    neutral = tags["political-neutral"] + tags["non-political"]
    assert 0.30 <= tags["attack"] / supportive <= 0.60  # attacks are a fair share of the class
    assert tags["political-neutral"] / neutral >= 1 / 3  # hard negatives


def test_context_rows_and_flip_pairs(rows):
    with_context = [r for r in rows if r.context]
    assert len(with_context) / len(rows) >= 0.20
    assert all(r.action in ("comment", "share") for r in with_context)
    by_text = {}
    for r in with_context:
        by_text.setdefault(r.text, set()).add(r.label)
    flips = [t for t, labels in by_text.items() if labels == {"supportive", "neutral"}]
    assert len(flips) >= 30  # the same reply is partisan under one post and neutral under another


def test_every_split_has_both_labels_in_similar_shares(splits):
    shares = [Counter(r.label for r in part)["supportive"] / len(part) for part in splits.values()]
    assert max(shares) - min(shares) < 0.05


def test_no_exact_or_near_duplicates(rows):
    _, dropped = deduplicate(rows)
    assert dropped == 0
    pairs = near_duplicate_pairs([f"{r.text} || {r.context or ''}" for r in rows], threshold=0.8)
    assert pairs == [], [(rows[i].id, rows[j].id, round(s, 2)) for i, j, s in pairs[:10]]


def test_no_leakage_between_splits(splits):
    rows = [(name, r) for name in SPLITS for r in splits[name]]
    pairs = near_duplicate_pairs([r.text for _, r in rows], threshold=0.8)
    crossing = [(rows[i][1].id, rows[j][1].id) for i, j, _ in pairs if rows[i][0] != rows[j][0]]
    assert crossing == []
    group_split = {}
    for name, r in rows:
        if r.group:
            assert group_split.setdefault(r.group, name) == name, r.group


def test_every_profile_contestant_appears(rows):
    profiles = load_profiles([DATA / "elections"])
    blob = "\n".join(f"{r.text}\n{r.context or ''}" for r in rows).lower()
    missing = [
        (p.id, c.names[0])
        for p in profiles
        for c in p.contestants
        if not any(form.lower() in blob for form in (*c.names, *c.aliases, *c.hashtags))
    ]
    assert missing == []
    assert {r.election for r in rows if r.election} <= {p.id for p in profiles}
    types = {p.election_type for p in profiles if any(r.election == p.id for r in rows)}
    assert types == {"pilpres", "pileg", "pilgub", "pilbup", "pilwalkot", "dpd"}
