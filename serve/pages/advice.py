"""What the self-check page says about a draft: the model's decision phrased as advice, and the
guideline rule that fits it.

The decision is the Scorer's (`flag`, `review`, `clear` with the artifact's thresholds); nothing
here scores or decides. The rule is picked by a short, fixed table from the decision and whether
the draft names a contestant of the loaded election profiles (`TextNormalizer.mentions_contestant`,
the project's one definition of a mention), and quoted from the shipped guideline.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADVICE", "Advice", "Rule", "pick_rule"]


@dataclass(frozen=True)
class Advice:
    headline: str
    detail: str
    tone: str  # a CSS class: "side", "care" or "neutral"


# Advice, never a verdict: the page says how the draft reads and what to do, not what it "is".
ADVICE = {
    "flag": Advice(
        "Terbaca memihak — sebaiknya jangan diunggah",
        "Kata-kata dalam draf ini mirip dengan unggahan yang memihak salah satu peserta "
        "pemilihan. Sebagai ASN, sebaiknya draf ini tidak diunggah, disukai, atau dibagikan.",
        "side",
    ),
    "review": Advice(
        "Perlu hati-hati",
        "Sebagian kata dalam draf ini bisa terbaca memihak. Baca ulang kata yang ditandai dan "
        "pertimbangkan untuk mengubah atau tidak mengunggahnya.",
        "care",
    ),
    "clear": Advice(
        "Terbaca netral",
        "Model tidak menemukan kata yang membuat draf ini terbaca memihak. Tetap periksa "
        "sendiri: model bisa keliru, dan gambar, tautan, atau tagar yang tidak tertulis di sini "
        "tidak ikut dinilai.",
        "neutral",
    ),
}


@dataclass(frozen=True)
class Rule:
    section: str  # the guideline's section number, e.g. "4.1"
    title: str
    why: str  # why this rule is shown for this draft


# (reads as taking a side?, names a contestant?) -> the rule shown.
_RULES = {
    (True, True): Rule(
        "4.1",
        "Label `supportive` (berpihak)",
        "Draf ini menyebut peserta pemilihan dan terbaca mendukung atau menyerangnya.",
    ),
    (True, False): Rule(
        "7.11",
        "Dukungan terselubung: nomor, gestur, emoji",
        "Draf ini tidak menyebut nama peserta yang dikenal, tetapi kata, nomor, atau emoji di "
        "dalamnya mirip kode dukungan.",
    ),
    (False, True): Rule(
        "4.2",
        "Label `neutral` (netral)",
        "Draf ini menyebut peserta pemilihan. Menyampaikan fakta atau informasi tetap netral "
        "selama tidak memuji, mengajak memilih, atau menyerang.",
    ),
    (False, False): Rule(
        "1",
        "Tujuan: ASN wajib netral",
        "Pengingat umum tentang netralitas ASN.",
    ),
}


def pick_rule(decision: str, mentions_contestant: bool) -> Rule:
    """The guideline rule for a draft with this decision.

    >>> pick_rule("flag", True).section
    '4.1'
    """
    return _RULES[(decision != "clear", mentions_contestant)]
