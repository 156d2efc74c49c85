"""Election profiles: the shipped files validate; broken ones fail with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from netralitas.model.text.profiles import (
    ProfileError,
    load_profile,
    load_profiles,
    profile_from_toml,
)

ELECTIONS = Path(__file__).resolve().parents[1] / "data" / "elections"


def test_shipped_profiles_load_and_include_real_elections():
    profiles = load_profiles([ELECTIONS])
    ids = {p.id for p in profiles}
    assert {"pilkada-dki-2017", "pilpres-2019", "pilpres-2024"} <= ids
    assert load_profile(ELECTIONS / "template-regional.toml").election_type == "pilbup"
    for p in profiles:
        assert p.contestants, p.id


def test_unknown_party_reference_is_an_error():
    text = """
id = "x-2030"
title = "X"
election_type = "pilbup"
region = "X"
year = 2030
[[contestants]]
names = ["Budi"]
parties = ["Partai Hilang"]
"""
    with pytest.raises(ProfileError, match=r"Partai Hilang.*\[\[parties\]\]"):
        profile_from_toml(text, source="x.toml")


def test_unknown_key_and_bad_type_name_the_field():
    base = (
        'id = "x-2030"\ntitle = "X"\nregion = "X"\nyear = 2030\n[[contestants]]\nnames = ["Budi"]\n'
    )
    with pytest.raises(ProfileError, match=r"x\.toml.*field election_type"):
        profile_from_toml(base, source="x.toml")
    with pytest.raises(
        ProfileError, match=r"field contestants.0.colour: Extra inputs.*found 'red'"
    ):
        profile_from_toml(base + 'colour = "red"\n', source="x.toml")
    with pytest.raises(ProfileError, match="not valid TOML"):
        profile_from_toml("id = ", source="x.toml")


def test_missing_file_and_duplicate_ids(tmp_path, profile_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nope.toml")
    with pytest.raises(ProfileError, match="unique"):
        load_profiles([profile_path, profile_path])
