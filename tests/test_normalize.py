"""The one normalisation function: examples, profile masking, idempotency, the lexicon's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netralitas.model.text.normalize import (
    CONTESTANT_TOKENS,
    ROLE_TOKENS,
    TextNormalizer,
    load_lexicon,
    normalize_text,
)

REPO = Path(__file__).resolve().parents[1]

EXAMPLES = [
    ("Mantaaap bangettt!!!", "mantap banget!"),
    ("Cek https://t.co/abc123 dan www.kpu.go.id ya", "cek [url] dan [url] ya"),
    ("@budi_s setuju gk?", "[user] setuju tidak?"),
    ("[USERNAME] [USERNAME] hadir", "[user] [user] hadir"),
    ("RT @kpu_ri: Jadwal debat malam ini", "jadwal debat malam ini"),
    ("#PilihOrangBaik", "pilih orang baik"),
    ("#pilihorangbaik", "pilih orang baik"),
    ("#2019GantiPresiden", "2019 ganti presiden"),
    ("Hati2 di jalan", "hati-hati di jalan"),
    ("Mantap 👍", "mantap jempol ke atas"),
    ("Ã¢â‚¬Å“mantap", '"mantap'),
]


@pytest.mark.parametrize(("raw", "expected"), EXAMPLES)
def test_examples(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("coblos no urut 2!", "coblos no urut [nomor]!"),
        ("paslon 3 pasti menang", "paslon [nomor] pasti menang"),
        ("salam dua jari ✌️", "salam [nomor] jari isyarat kemenangan"),
        ("Gas pol 02!", "gas pol [nomor]!"),
        # Numbers that are not ballot numbers stay.
        ("TPS 01 RT 02 buka jam 07.00", "tps 01 rt 02 buka jam 07.00"),
        ("pilih 2 orang saksi", "pilih 2 orang saksi"),
        ("naik 10 persen", "naik 10 persen"),
    ],
)
def test_ballot_numbers(raw, expected):
    assert normalize_text(raw) == expected


def test_profile_masks_names_aliases_parties_slogans_hashtags(profile):
    norm = TextNormalizer([profile])
    assert norm("Kang Sukma dan Lestari Ayu pasti menang") == "[calon] dan [calon] pasti menang"
    assert norm("Sukma-Lestari!!") == "[calon]!"
    assert norm("dukung Pak Hendro dari Partai Samudra") == "dukung [calon] dari [partai]"
    assert norm("Uji Makmur Bareng!") == "[slogan]!"
    assert norm("#SukmaLestari #sukmalestari #HendroWibisono") == "[tagar] [tagar] [calon]"
    # Ambiguous short aliases count only in capitals: "PAN" the party, "pan" the word.
    assert norm("PAN menang") == "[partai] menang"
    assert norm("pan goreng") == "pan goreng"


def test_masking_off_keeps_names(profile):
    norm = TextNormalizer([profile], mask=False)
    assert norm("Kang Sukma no urut 1") == "kang sukma no urut 1"


def test_without_profile_names_stay():
    assert normalize_text("Kang Sukma hebat") == "kang sukma hebat"


# -- the one rule for "this text mentions a contestant" ------------------------------------------
MENTIONS = [
    ("Raden Sukmajaya pantas jadi bupati", True),  # a name
    ("hendro wibisono hadir", True),  # a name, any case
    ("Gas pol Kang Sukma!", True),  # an alias
    ("dukung Sukma-Lestari", True),  # a hyphenated alias
    ("SL menang telak", True),  # a short alias, in capitals
    ("sl itu singkatan apa", False),  # the same letters in lower case are not a mention
    ("PAN menang", True),  # an ambiguous party alias, in capitals
    ("pan goreng gosong", False),  # ... and the ordinary word
    ("Ayo coblos Partai Lumbung", True),  # a party
    ("demi Uji Makmur Bareng!", True),  # a slogan
    ("#HendroJuara bupati idaman", True),  # a campaign hashtag
    ("#ujimakmur", True),  # a campaign hashtag, lower case
    ("#HendroWibisono", True),  # a name written as a hashtag
    ("coblos nomor 2", True),  # ballot numbers
    ("siap menangkan no 02", True),
    ("salam dua jari", True),
    ("nomor telepon 0812", False),  # numbers that are not ballot numbers
    ("TPS 01 RT 02 buka jam 07.00", False),
    ("Asal bukan Hendro deh", False),  # a bare first name the profile does not list
    ("Apel pagi diundur, cek https://t.co/x @budi", False),  # only [url] and [user]
    ("", False),
]


@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize(("text", "expected"), MENTIONS)
def test_mentions_contestant(profile, mask, text, expected):
    assert TextNormalizer([profile], mask=mask).mentions_contestant(text) is expected


def test_mentions_contestant_is_what_masking_replaces(profile):
    assert set(CONTESTANT_TOKENS) == set(ROLE_TOKENS) - {"[url]", "[user]"}
    masked = TextNormalizer([profile])
    unmasked = TextNormalizer([profile], mask=False)
    texts = [t for t, _ in MENTIONS] + _corpus()
    for text in texts:
        once = masked(text)
        expected = bool(set(re.findall(r"\[[a-z]+\]", once)) & set(CONTESTANT_TOKENS))
        assert masked.mentions_contestant(text) is expected, text
        assert unmasked.mentions_contestant(text) is expected, text
        # A text and its normalised form get the same answer.
        assert masked.mentions_contestant(once) is expected, text
    # Asking does not switch masking on for a mask=False normaliser.
    assert unmasked("Kang Sukma no urut 1") == "kang sukma no urut 1"


def test_mentions_contestant_without_profiles_sees_only_ballot_numbers():
    norm = TextNormalizer(mask=False)
    assert norm.mentions_contestant("coblos no urut 2")
    assert not norm.mentions_contestant("Kang Sukma hebat")


def _corpus() -> list[str]:
    texts = [raw for raw, _ in EXAMPLES]
    for path in sorted((REPO / "data" / "starter").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["text"])
            if row.get("context"):
                texts.append(row["context"])
    return texts


def test_idempotent_on_examples_and_bundled_data(profile):
    from netralitas.model.text.profiles import load_profiles

    norm = TextNormalizer([profile, *load_profiles([REPO / "data" / "elections"])])
    texts = _corpus()
    assert len(texts) > len(EXAMPLES)
    for text in texts:
        once = norm(text)
        assert norm(once) == once, text


def test_lexicon_rules():
    lexicon = load_lexicon()
    assert len(lexicon) >= 300
    forbidden = {
        "calon",
        "nomor",
        "partai",
        "pilih",
        "jangan",
        "tidak",
        "bukan",
        "belum",
        "harus",
        "akan",
    }
    assert not forbidden & set(lexicon)
    for informal, formal in lexicon.items():
        assert informal == informal.lower() and informal.isalnum(), informal
        assert not informal.isdigit(), informal
        # Idempotency of the whole normaliser rests on this: no output word is itself a key.
        assert not set(formal.replace("-", " ").split()) & set(lexicon), (informal, formal)


def test_role_tokens_survive_normalisation():
    for token in ROLE_TOKENS:
        assert normalize_text(f"halo {token} ya") == f"halo {token} ya"
