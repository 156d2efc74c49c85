"""Readers for public Indonesian datasets, as published upstream (see `convert.py` for the labels).

Each reader yields `(where, source_label, fields)`: a location for error messages, the dataset's own
label (lower case, stripped) and the record fields it can fill. Mapping source labels to ours is
`convert.py`'s job, so that every mapping is documented in one place and can be overridden.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netralitas.data.records import DataError, load_records

__all__ = ["READERS"]

Row = tuple[str, str, dict[str, Any]]

# Election ids of the id-stance "Event" column that have a profile in data/elections.
_STANCE_EVENTS = {
    "pilgub dki 2016": "pilkada-dki-2017",
    "pilpres 2014": "pilpres-2014",
    "pilpres 2019": "pilpres-2019",
}


def _dict_rows(path: Path, encoding: str = "utf-8-sig", delimiter: str = ",") -> Iterator[dict]:
    csv.field_size_limit(1 << 24)  # blog articles are longer than csv's 128 KiB default
    with open(path, encoding=encoding, newline="") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter)


def _require(row: dict, columns: tuple[str, ...], path: Path, name: str) -> None:
    missing = [c for c in columns if c not in row]
    if missing:
        raise DataError(
            f"{path}: this does not look like the {name} file: columns {missing} are missing "
            f"(found {list(row)}); check the FORMAT argument"
        )


def _label(value: Any) -> str:
    return str(value or "").strip().lower()


def pilkada_dki_2017(path: Path) -> Iterator[Row]:
    """`Id,Sentiment,Pasangan Calon,Text Tweet`: sentiment toward a named candidate pair."""
    for number, row in enumerate(_dict_rows(path), 2):
        _require(row, ("Id", "Sentiment", "Text Tweet"), path, "Pilkada DKI 2017")
        fields = {
            "id": f"pilkada-dki-2017-{row['Id'].strip()}",
            "text": row["Text Tweet"],
            "platform": "x",
            "election": "pilkada-dki-2017",
            "source": "pilkada-dki-2017",
        }
        yield f"line {number}", _label(row["Sentiment"]), fields


def pilpres_2019_sentiment(path: Path) -> Iterator[Row]:
    """`,sentimen,tweet` (first column a row number); text is UTF-8 read as cp1252, repaired."""
    import ftfy

    for number, row in enumerate(_dict_rows(path), 2):
        _require(row, ("sentimen", "tweet"), path, "Pilpres 2019 sentiment")
        fields = {
            "id": f"pilpres-2019-sentiment-{(row.get('') or str(number - 2)).strip()}",
            "text": ftfy.fix_text(row["tweet"]),
            "platform": "x",
            "election": "pilpres-2019",
            "source": "pilpres-2019-sentiment",
        }
        yield f"line {number}", _label(row["sentimen"]), fields


def _article(title: str, content: str) -> str:
    """Title and paragraphs; the content column is a JSON list of paragraphs."""
    try:
        paragraphs = json.loads(content)
    except json.JSONDecodeError:
        paragraphs = [content]
    if not isinstance(paragraphs, list):
        paragraphs = [str(paragraphs)]
    body = "\n\n".join(str(p).strip() for p in paragraphs if str(p).strip())
    return f"{title.strip()}\n\n{body}".strip()


def id_stance(path: Path) -> Iterator[Row]:
    """Both id-stance files: the 2-label one (`;`-separated, `stance final`) and the 3-label one.

    Articles appear in both files; `group` is the article title so that a split keeps copies
    together (never train on one file and test on the other).
    """
    with open(path, encoding="utf-8-sig") as fh:
        header = fh.readline()
    two_label = "stance final" in header
    rows = _dict_rows(path, delimiter=";" if two_label else ",")
    for number, row in enumerate(rows, 2):
        if two_label:
            _require(row, ("Judul Artikel", "Isi Artikel", "stance final"), path, "id-stance")
            title, content, stance = row["Judul Artikel"], row["Isi Artikel"], row["stance final"]
            election = _STANCE_EVENTS.get(_label(row.get("Event")))
            row_id = f"id-stance-2label-{number - 1}"
        else:
            _require(row, ("title", "content", "stance"), path, "id-stance")
            title, content, stance = row["title"], row["content"], row["stance"]
            election, row_id = None, f"id-stance-3label-{(row.get('no') or '').strip()}"
        fields = {
            "id": row_id,
            "text": _article(title, content),
            "platform": "blog",
            "election": election,
            "group": "id-stance:" + " ".join(title.lower().split()),
            "source": "id-stance-2018",
        }
        yield f"line {number}", _label(stance), fields


_BYTE_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")


def _clean_ibrohim(text: str) -> str:
    """Undo the upstream export: Python byte escapes, literal "\\n", HTML entities, USER/URL masks."""
    import ftfy

    text = text.removesuffix("'")  # the closing quote of a Python bytes literal was kept
    text = _BYTE_ESCAPES.sub(
        lambda m: bytes.fromhex(m.group().replace("\\x", "")).decode("utf-8", "replace"), text
    )
    text = html.unescape(text.replace("\\n", "\n"))
    text = ftfy.fix_text(text)
    text = re.sub(r"\bUSER\b", "[USER]", text)
    return re.sub(r"\bURL\b", "[URL]", text)


def ibrohim_hatespeech(path: Path) -> Iterator[Row]:
    """`Tweet,HS,Abusive,...` (latin-1): source label hate-speech, abusive or clean."""
    for number, row in enumerate(_dict_rows(path, encoding="latin-1"), 2):
        _require(row, ("Tweet", "HS", "Abusive"), path, "Ibrohim hate-speech")
        label = (
            "hate-speech" if row["HS"] == "1" else "abusive" if row["Abusive"] == "1" else "clean"
        )
        fields = {
            "id": f"ibrohim-{number - 1}",
            "text": _clean_ibrohim(row["Tweet"]),
            "platform": "x",
            "source": "ibrohim-hatespeech-2019",
        }
        yield f"line {number}", label, fields


def nusax(path: Path) -> Iterator[Row]:
    """NusaX sentiment (Indonesian): `id,text,label`."""
    for number, row in enumerate(_dict_rows(path), 2):
        _require(row, ("id", "text", "label"), path, "NusaX")
        fields = {"id": f"nusax-{path.stem}-{row['id'].strip()}", "text": row["text"]}
        yield f"line {number}", _label(row["label"]), {**fields, "source": "nusax-senti-ind"}


def indonlu_emot(path: Path) -> Iterator[Row]:
    """IndoNLU EmoT: `label,tweet` (emotions: anger, fear, happy, love, sadness)."""
    for number, row in enumerate(_dict_rows(path), 2):
        _require(row, ("label", "tweet"), path, "IndoNLU EmoT")
        fields = {"id": f"emot-{path.stem}-{number - 2}", "text": row["tweet"], "platform": "x"}
        yield f"line {number}", _label(row["label"]), {**fields, "source": "indonlu-emot"}


def indonlu_smsa(path: Path) -> Iterator[Row]:
    """IndoNLU SmSA: tab-separated `text<TAB>label`, no header."""
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            text, sep, label = line.rstrip("\n").rpartition("\t")
            if not sep:
                raise DataError(
                    f"{path}, line {number}: expected 'text<TAB>label' (IndoNLU SmSA), found no tab"
                )
            fields = {"id": f"smsa-{path.stem}-{number}", "text": text, "source": "indonlu-smsa"}
            yield f"line {number}", _label(label), fields


def _annotation_export(format: str):
    """Label Studio and doccano exports, read by the record loaders (their labels are mapped)."""

    def read(path: Path) -> Iterator[Row]:
        for number, record in enumerate(load_records(path, require_label=False, format=format), 1):
            fields = record.model_dump(exclude_defaults=True, exclude={"label"})
            yield f"item {number}", _label(record.label), fields

    return read


READERS = {
    "pilkada-dki-2017": pilkada_dki_2017,
    "pilpres-2019-sentiment": pilpres_2019_sentiment,
    "id-stance": id_stance,
    "ibrohim-hatespeech": ibrohim_hatespeech,
    "nusax": nusax,
    "indonlu-emot": indonlu_emot,
    "indonlu-smsa": indonlu_smsa,
    "label-studio": _annotation_export("label-studio"),
    "doccano": _annotation_export("doccano"),
}
