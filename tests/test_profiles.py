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


_TWO_CONTESTANTS = """
id = "x-2030"
title = "X"
election_type = "pilbup"
region = "X"
year = 2030
[[contestants]]
number = 1
names = ["Budi Santoso"]
aliases = {aliases_1}
hashtags = {hashtags_1}
[[contestants]]
number = 2
names = ["Siti Lestari"]
aliases = {aliases_2}
hashtags = {hashtags_2}
"""


def _two(aliases_1="[]", hashtags_1="[]", aliases_2="[]", hashtags_2="[]") -> str:
    return _TWO_CONTESTANTS.format(
        aliases_1=aliases_1, hashtags_1=hashtags_1, aliases_2=aliases_2, hashtags_2=hashtags_2
    )


def test_hashtags_are_stored_without_the_hash_and_mask_like_bare_ones():
    from netralitas.model.text.normalize import TextNormalizer

    profile = profile_from_toml(_two(hashtags_1='["#BudiMenang", " #Budi2030 "]'), "x.toml")
    assert profile.contestants[0].hashtags == ("BudiMenang", "Budi2030")
    assert TextNormalizer([profile])("ayo #budimenang #Budi2030") == "ayo [tagar] [tagar]"


@pytest.mark.parametrize(
    ("tag", "found", "fix"),
    [("Budi Menang", "' '", "'BudiMenang'"), ("#Budi-2030", "'-'", "'Budi2030'")],
)
def test_a_hashtag_that_cannot_match_says_how_to_write_it(tag, found, fix):
    with pytest.raises(
        ProfileError,
        match=rf"x\.toml.*field contestants\.0\.hashtags: hashtag .*can never match a post.*"
        rf"found {found} in it.*e\.g\. {fix}",
    ):
        profile_from_toml(_two(hashtags_1=f'["{tag}"]'), "x.toml")
    with pytest.raises(ProfileError, match="is empty; write the tag without '#'"):
        profile_from_toml(_two(hashtags_1='["#"]'), "x.toml")


@pytest.mark.parametrize(
    ("fields", "written"),
    [
        (
            {"aliases_1": '["Kang Budi"]', "aliases_2": '["kang-budi"]'},
            ["'Kang Budi'", "'kang-budi'"],
        ),
        ({"aliases_1": '["SL"]', "aliases_2": '["sl"]'}, ["'SL'", "'sl'"]),
        ({"hashtags_1": '["#BudiMenang"]', "hashtags_2": '["budimenang"]'}, ["'budimenang'"]),
        ({"aliases_1": '["Siti Lestari"]'}, ["'Siti Lestari' in aliases", "in names"]),
    ],
)
def test_the_same_phrase_under_two_contestants_names_both_places(fields, written):
    with pytest.raises(ProfileError) as info:
        profile_from_toml(_two(**fields), "x.toml")
    message = str(info.value)
    assert "x.toml" in message and "must belong to one contestant only" in message
    assert "contestant 1 (number 1, 'Budi Santoso')" in message
    assert "contestant 2 (number 2, 'Siti Lestari')" in message
    assert all(w in message for w in written), message
    assert "remove it from the other" in message
    assert "found {" not in message  # not the whole file


def test_one_contestant_may_repeat_a_phrase_and_shipped_profiles_are_unambiguous():
    profile = profile_from_toml(
        _two(aliases_1='["Budi", "budi", "BudiSantoso"]', hashtags_1='["BudiSantoso"]'), "x.toml"
    )
    assert profile.contestants[0].aliases == ("Budi", "budi", "BudiSantoso")
    # Every shipped profile passes the checks (they run on load).
    assert len(load_profiles([ELECTIONS])) >= 20
