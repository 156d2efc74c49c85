"""`netralitas data convert`: public datasets and annotation exports to training records.

Every format has a documented default label mapping (source label -> our label) that `--map
SRC=DST` overrides one label at a time; `--map SRC=` drops the rows with that source label. A source
label with no mapping is an error, never a silent guess. Rows whose labels are a proxy (sentiment,
emotion, hate speech: not stance) are written with `weak: true`; training skips them unless
`data.include_weak` is set.

| format | source labels -> label | weak | why |
|---|---|---|---|
| pilkada-dki-2017 | positive, negative -> supportive | no | praise or attack of a named pair both take a side |
| pilpres-2019-sentiment | positif, negatif -> supportive; netral -> neutral | yes | sentiment is not stance: many `netral` tweets are partisan |
| id-stance | for, against (againts) -> supportive; unknown, no -> neutral | no | stance toward a political figure |
| ibrohim-hatespeech | hate-speech, abusive, clean -> neutral | yes | hard negatives: rude is not partisan; political attacks among them need review |
| nusax | positive, negative, neutral -> neutral | yes | reviews and comments, nearly all non-political |
| indonlu-emot | anger, fear, happy, love, sadness -> neutral | yes | tweets, about 4% touch politics |
| indonlu-smsa | positive, negative, neutral -> neutral | yes | reviews and comments |
| label-studio, doccano | supportive, support, attack, berpihak -> supportive; neutral, netral -> neutral; unlabelled: dropped | no | our own annotation exports |

Tags follow the source label where the mapping is the default one (positive -> `support`, negative
-> `attack`, ...); an overridden label gets no tag, since the default tag may no longer hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netralitas.data.errors import DataError
from netralitas.data.public_formats import READERS
from netralitas.data.table import _validate
from netralitas.model.records import Record

__all__ = ["CONVERTERS", "Conversion", "Converter", "convert", "parse_mapping"]

SUPPORTIVE, NEUTRAL = "supportive", "neutral"


@dataclass(frozen=True)
class Converter:
    """One input format: its default label mapping, tags, and whether its labels are weak."""

    description: str
    mapping: Mapping[str, str | None]  # None: drop the rows
    weak: bool
    tags: Mapping[str, str] = field(default_factory=dict)


_ANNOTATION: dict[str, str | None] = {
    "": None,  # tasks nobody has labelled yet are dropped
    "supportive": SUPPORTIVE,
    "support": SUPPORTIVE,
    "attack": SUPPORTIVE,
    "berpihak": SUPPORTIVE,
    "neutral": NEUTRAL,
    "netral": NEUTRAL,
}
_ANNOTATION_TAGS = {"support": "support", "attack": "attack"}

CONVERTERS: dict[str, Converter] = {
    "pilkada-dki-2017": Converter(
        "Pilkada DKI 2017 tweets, sentiment toward a named pair (CSV)",
        {"positive": SUPPORTIVE, "negative": SUPPORTIVE},
        weak=False,
        tags={"positive": "support", "negative": "attack"},
    ),
    "pilpres-2019-sentiment": Converter(
        "Pilpres 2019 sentiment tweets (CSV, mojibake repaired)",
        {"positif": SUPPORTIVE, "negatif": SUPPORTIVE, "netral": NEUTRAL},
        weak=True,
    ),
    "id-stance": Converter(
        "id-stance Kompasiana articles, 2- or 3-label file (CSV)",
        {
            "for": SUPPORTIVE,
            "against": SUPPORTIVE,
            "againts": SUPPORTIVE,
            "unknown": NEUTRAL,
            "no": NEUTRAL,
        },
        weak=False,
        tags={"for": "support", "against": "attack", "againts": "attack"},
    ),
    "ibrohim-hatespeech": Converter(
        "Ibrohim & Budi multi-label hate speech tweets (latin-1 CSV)",
        {"hate-speech": NEUTRAL, "abusive": NEUTRAL, "clean": NEUTRAL},
        weak=True,
    ),
    "nusax": Converter(
        "NusaX sentiment, Indonesian (CSV)",
        {"positive": NEUTRAL, "negative": NEUTRAL, "neutral": NEUTRAL},
        weak=True,
    ),
    "indonlu-emot": Converter(
        "IndoNLU EmoT emotion tweets (CSV)",
        {e: NEUTRAL for e in ("anger", "fear", "happy", "love", "sadness")},
        weak=True,
    ),
    "indonlu-smsa": Converter(
        "IndoNLU SmSA sentiment (TSV, no header)",
        {"positive": NEUTRAL, "negative": NEUTRAL, "neutral": NEUTRAL},
        weak=True,
    ),
    "label-studio": Converter(
        "Label Studio JSON export (choices)", _ANNOTATION, weak=False, tags=_ANNOTATION_TAGS
    ),
    "doccano": Converter(
        "doccano text-classification JSONL", _ANNOTATION, weak=False, tags=_ANNOTATION_TAGS
    ),
}


@dataclass
class Conversion:
    """The converted records and what happened to the rest."""

    records: list[Record]
    source_counts: Counter[str]  # rows per source label, as read
    dropped: Counter[str]  # rows dropped by a `SRC=` mapping, per source label
    empty: int  # rows without text (skipped)


def parse_mapping(items: Sequence[str]) -> dict[str, str | None]:
    """`["netral=supportive", "clean="]` -> `{"netral": "supportive", "clean": None}` (None: drop)."""
    out: dict[str, str | None] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip():
            raise DataError(
                f"label mapping {item!r} must look like SOURCE=LABEL (e.g. netral=neutral), or "
                "SOURCE= to drop those rows"
            )
        out[src.strip().lower()] = dst.strip() or None
    return out


def convert(
    format: str, path: str | Path, overrides: Mapping[str, str | None] | None = None
) -> Conversion:
    """Read `path` in `format` and return validated records with mapped labels.

    Raises `DataError` for an unknown format, a source label without a mapping, or rows that do
    not validate as records (nothing is returned half-converted).
    """
    if format not in CONVERTERS:
        raise DataError(f"unknown format {format!r}; expected one of {', '.join(CONVERTERS)}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    converter = CONVERTERS[format]
    overrides = dict(overrides or {})
    mapping: dict[str, str | None] = {**converter.mapping, **overrides}
    rows, counts, dropped, empty = [], Counter(), Counter(), 0
    unmapped: Counter[str] = Counter()
    try:
        for where, source_label, fields in READERS[format](path):
            counts[source_label] += 1
            if source_label not in mapping:
                unmapped[source_label] += 1
                continue
            label = mapping[source_label]
            if label is None:
                dropped[source_label] += 1
                continue
            if not str(fields.get("text") or "").strip():
                empty += 1
                continue
            row = {**fields, "label": label, "weak": converter.weak or fields.get("weak", False)}
            if source_label in converter.tags and source_label not in overrides:
                row["tag"] = converter.tags[source_label]
            rows.append((where, row))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: cannot decode the file as the {format} format expects ({exc})"
        ) from exc
    if unmapped:
        shown = ", ".join(
            f"{label or '(empty)'!r} ({n} rows)" for label, n in unmapped.most_common()
        )
        raise DataError(
            f"{path}: source labels without a mapping for {format}: {shown}. Known: "
            f"{sorted(converter.mapping)}. Add --map LABEL=supportive|neutral, or --map LABEL= "
            "to drop them"
        )
    if not rows:
        raise DataError(f"{path}: no rows left to convert (read {sum(counts.values())})")
    return Conversion(_validate(rows, path, require_label=True), counts, dropped, empty)
