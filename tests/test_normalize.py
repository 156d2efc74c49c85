"""The one normalisation function: examples, profile masking, idempotency, the lexicon's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netralitas.model.text.normalize import (
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
