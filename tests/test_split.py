"""Deduplication and leakage-free, stratified, deterministic splits."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from netralitas.data.split import deduplicate, near_duplicate_pairs, split_records
from netralitas.model.records import Record

_OPEN = [
    "Ayo",
    "Yuk",
    "Mari",
    "Pokoknya",
    "Wajib",
    "Jangan ragu,",
    "Saudara-saudara,",
    "Warga sekalian,",
]
_CAND = [
    "Pak Hendro",
    "Kang Sukma",
    "Bu Rosma",
    "Mas Dimas",
    "paslon nomor satu",
    "calon nomor dua",
]
_VERB = [
    "coblos",
    "menangkan",
    "dukung penuh",
    "kawal sampai menang",
    "pilih lagi",
    "antar ke kursi bupati",
]
_WHY = [
    "karena jalan desa sudah mulus",
    "demi guru honorer",
    "supaya pasar tradisional hidup lagi",
    "karena terbukti jujur",
    "biar petani sejahtera",
    "sebab puskesmas kini buka 24 jam",
    "agar anak muda dapat kerja",
]
_TOPIC = [
    "Apel pagi",
    "Rapat koordinasi",
    "Kerja bakti",
    "Senam bersama",
    "Posyandu balita",
    "Vaksinasi anak",
]
_WHEN = ["hari Senin", "besok pagi", "Jumat sore", "minggu depan", "tanggal 14", "akhir bulan"]
_WHERE = [
    "di aula kecamatan",
    "di balai desa",
    "di lapangan RT 03",
    "di kantor dinas",
    "di puskesmas",
]
_NOTE = [
    "mohon hadir tepat waktu",
    "bawa alat tulis sendiri",
    "terbuka untuk umum",
    "gratis tanpa biaya",
]

LONG = (
    "Kemarin sore saya ikut rapat warga di balai desa membahas perbaikan saluran air yang sudah "
    "lama tersumbat, dan semua sepakat kerja bakti hari Minggu depan mulai jam tujuh pagi."
)
LONG_ONE_WORD_CHANGED = LONG.replace("Minggu", "Sabtu")


def varied_records(n_supportive: int = 80, n_neutral: int = 120, seed: int = 0) -> list[Record]:
    """Distinct sentences from slot combinations (40% supportive); ids s0.. and n0.."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Record] = []
    for label, n, make in (
        (
            "supportive",
            n_supportive,
            lambda: (
                f"{rng.choice(_OPEN)} {rng.choice(_VERB)} {rng.choice(_CAND)} {rng.choice(_WHY)}!"
            ),
        ),
        (
            "neutral",
            n_neutral,
            lambda: (
                f"{rng.choice(_TOPIC)} {rng.choice(_WHEN)} {rng.choice(_WHERE)}, {rng.choice(_NOTE)}."
            ),
        ),
    ):
        count = 0
        while count < n:
            text = make()
            if text not in seen:
                seen.add(text)
                out.append(Record(text=text, label=label, id=f"{label[0]}{count}"))
                count += 1
    return out


def _side(result) -> dict[str, str]:
    return {r.id: name for name in ("train", "validation", "test") for r in getattr(result, name)}


# -- deduplicate -----------------------------------------------------------------------------------


def test_deduplicate_drops_normalisation_equal_rows():
    records = [
        Record(text="Mantaaap pak!!", label="supportive", id="1"),
        Record(text="mantap pak!", label="supportive", id="2"),
        Record(text="Apel pagi diundur", label="neutral", id="3"),
        Record(text="MANTAP   PAK!", label="neutral", id="4"),
    ]
    kept, dropped = deduplicate(records)
    assert dropped == 2
    # The first copy wins, even when a later copy has another label.
    assert [r.id for r in kept] == ["1", "3"]


def test_deduplicate_keeps_the_same_reply_under_different_posts():
    records = [
        Record(
            text="Siap pak, gas terus!", context="Relawan paslon 1 kumpul besok", label="supportive"
        ),
        Record(text="Siap pak, gas terus!", context="Kerja bakti besok jam 7", label="neutral"),
        Record(text="Siap pak, gas terus!", context="Kerja bakti besok jam 7", label="neutral"),
    ]
    kept, dropped = deduplicate(records)
    assert (len(kept), dropped) == (2, 1)


# -- near duplicates -------------------------------------------------------------------------------


def test_near_duplicate_pairs_finds_a_one_word_change_in_a_long_text():
    texts = [
        "Apel pagi diundur jam 8.",
        LONG,
        "Nasi goreng pak Kumis memang juara.",
        LONG_ONE_WORD_CHANGED,
    ]
    pairs = near_duplicate_pairs(texts)
    assert [(i, j) for i, j, _ in pairs] == [(1, 3)]
    assert 0.8 < pairs[0][2] < 1.0


def test_near_duplicate_pairs_none_among_clearly_different_texts():
    texts = [r.text for r in varied_records(20, 20)] + [LONG]
    assert near_duplicate_pairs(texts) == []


def test_near_duplicate_pairs_is_deterministic_and_exact():
    texts = [LONG, LONG_ONE_WORD_CHANGED, LONG]
    pairs = near_duplicate_pairs(texts)
    assert pairs == near_duplicate_pairs(texts)
    assert {(i, j) for i, j, _ in pairs} == {(0, 1), (0, 2), (1, 2)}
    assert dict(((i, j), s) for i, j, s in pairs)[(0, 2)] == 1.0


# -- split_records ---------------------------------------------------------------------------------


def test_split_is_stratified_and_covers_every_row():
    records = varied_records()
    result = split_records(records, validation=0.1, test=0.1, seed=13)
    sides = _side(result)
    assert sorted(sides) == sorted(r.id for r in records)
    assert result.duplicates_dropped == 0
    assert 15 <= len(result.test) <= 25 and 15 <= len(result.validation) <= 25
    for part in (result.train, result.validation, result.test):
        counts = Counter(r.label for r in part)
        assert set(counts) == {"supportive", "neutral"}
        assert counts["supportive"] / len(part) == pytest.approx(0.4, abs=0.12)


def test_split_is_deterministic_for_a_seed():
    records = varied_records()
    first = _side(split_records(records, seed=5))
    assert _side(split_records(records, seed=5)) == first
    assert _side(split_records(records, seed=6)) != first


def test_split_reports_duplicates_dropped():
    records = [
        *varied_records(),
        Record(text="Mantaaap pak!!", label="supportive"),
        Record(text="mantap pak!", label="supportive"),
    ]
    result = split_records(records)
    assert result.duplicates_dropped == 1
    assert len(result.train) + len(result.validation) + len(result.test) == len(records) - 1


_PLACES = [
    "Cibodas",
    "Sukamaju",
    "Tanjung",
    "Karangasem",
    "Lembah",
    "Pasirluhur",
    "Sidoarjo",
    "Mekar",
    "Talang",
    "Bojong",
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_keeps_groups_and_near_duplicates_on_one_side(seed):
    records = varied_records()
    # Ten groups of three rewordings of one idea (texts too different to be near-duplicates).
    for g, place in enumerate(_PLACES):
        rewordings = [
            f"Warga {place}, pilih calon yang membangun jembatan kita",
            f"Jembatan {place} jadi bukti, jangan pindah ke lain hati",
            f"Siapa lagi kalau bukan dia untuk {place}?",
        ]
        for k, text in enumerate(rewordings):
            label = "supportive" if g % 2 else "neutral"
            records.append(Record(text=text, label=label, group=f"g{g}", id=f"g{g}-{k}"))
    # Ten near-duplicate pairs: a long text and the same text with one word changed.
    rng = random.Random(seed)
    for p, place in enumerate(_PLACES):
        base = f"Dari {place}: {rng.choice(_TOPIC)} {rng.choice(_WHEN)}. {' '.join(rng.sample(LONG.split(), 20))}"
        records.append(Record(text=base, label="neutral", id=f"d{p}-a"))
        records.append(
            Record(text=base.replace(place, place + "an"), label="neutral", id=f"d{p}-b")
        )
    result = split_records(records, seed=seed)
    sides = _side(result)
    assert len(sides) == len(records), "no row of this set is a duplicate"
    # About 200 + 10 + 10 components: the pairs and groups are not lumped into one big block.
    assert 210 <= result.groups <= 220
    for g in range(len(_PLACES)):
        assert len({sides[f"g{g}-{k}"] for k in range(3)}) == 1, f"group g{g} was split"
    for p in range(len(_PLACES)):
        assert sides[f"d{p}-a"] == sides[f"d{p}-b"], f"near-duplicate pair {p} was split"


def test_split_rejects_unlabelled_rows():
    records = [*varied_records(10, 10), Record(text="belum dilabeli")]
    with pytest.raises(ValueError, match=r"needs a label.*\[20\]"):
        split_records(records)


@pytest.mark.parametrize(("validation", "test"), [(0.0, 0.1), (0.1, 0.5), (-0.1, 0.1)])
def test_split_rejects_bad_fractions(validation, test):
    with pytest.raises(ValueError, match="fractions in"):
        split_records(varied_records(10, 10), validation=validation, test=test)
