"""Case files: the rows `netralitas score` wrote, grouped by account into evidence for people.

One file per account (HTML and JSON) holds each flagged (and, by default, review) item with its
text, context, action, time, link, score and decision, the explanation's words highlighted in the
text as written, the obfuscation undone and the text as the model read it where that differs, and
the model and thresholds that decided; `index.html` and `index.json` list the accounts by flags,
then reviews. Every page says that a flag is a reason for a person to look, never a verdict.

The scored file must carry the posts' text (and context): `score` keeps the input's columns by
default (`--keep-columns all`). Explanations come from the file's `explanation` column when it has
one, or are computed for the included items with the model given (`Scorer.explain_scored`, the
same rule as the API's), which also supplies the thresholds.

>>> case_stem("Budi Santoso (Dinas PU)")
'budi-santoso-dinas-pu-f223ab227f'
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netralitas.data.errors import DataError
from netralitas.data.readers import read_raw
from netralitas.data.records import json_default
from netralitas.model.records import WITHOUT_TEXT, Record
from netralitas.model.text.deobfuscate import SIGNALS, deobfuscate
from netralitas.serve.case_pages import NO_ACCOUNT, NOTICE, case_page, index_page

__all__ = [
    "NOTICE",
    "NO_ACCOUNT",
    "Case",
    "CaseSet",
    "build_cases",
    "case_stem",
    "describe",
    "read_scored",
    "write_cases",
]

_RERUN = (
    "rerun `netralitas score MODEL INPUT --output SCORED` with the default `--keep-columns all` "
    "(or a list that includes {cols})"
)
_DECISIONS = {"flag": ("flag",), "review": ("flag", "review")}
Log = Callable[[str], None]


@dataclass
class Case:
    """One account's included items, strongest first."""

    account: str | None
    items: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.account if self.account is not None else NO_ACCOUNT

    @property
    def flags(self) -> int:
        return sum(item["decision"] == "flag" for item in self.items)

    @property
    def reviews(self) -> int:
        return sum(item["decision"] == "review" for item in self.items)

    @property
    def stem(self) -> str:
        return case_stem(self.account)


@dataclass
class CaseSet:
    """Every case of one scored file, in index order, and what they were made from."""

    source: str
    cases: list[Case]
    models: list[dict[str, str]]
    thresholds: dict[str, float] | None
    explained_by: dict[str, str] | None  # the model that computed explanations, if not the file
    include: str
    min_flags: int
    by: str
    rows_read: int
    notes: list[str] = field(default_factory=list)


def case_stem(account: str | None) -> str:
    """A file name stem safe on every system: a readable slug and a short hash of the account,
    so that two accounts never share a file."""
    key = account or ""
    ascii_name = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug or ('akun' if key else 'tanpa-akun')}-{digest}"


# -- reading -------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _list(value: Any) -> list[Any]:
    """A list cell as JSON Lines, CSV ("a; b" or JSON) or Parquet (an array) write it."""
    if _blank(value):
        return []
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                return []
            return parsed if isinstance(parsed, list) else []
        return [part.strip() for part in value.split(";") if part.strip()]
    try:
        return list(value)
    except TypeError:
        return []


def _spans(value: Any, field_name: str) -> list[dict[str, Any]]:
    spans = []
    for span in _list(value):
        if not isinstance(span, dict):
            continue
        start, end, weight = (_number(span.get(k)) for k in ("start", "end", "weight"))
        if start is None or end is None:
            continue
        spans.append(
            {
                "start": int(start),
                "end": int(end),
                "weight": weight or 0.0,
                "text": _text(span.get("text")) or "",
                "field": span.get("field")
                if span.get("field") in ("text", "context")
                else field_name,
            }
        )
    return spans


def read_scored(
    path: str | Path,
    *,
    by: str = "account",
    include: str = "review",
    text_column: str = "text",
    context_column: str = "context",
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """The included items of a scored file (rows `netralitas score` wrote), the rows read, and
    notes; `DataError` when the file lacks what a case file needs."""
    if include not in _DECISIONS:
        raise DataError(f"--include {include!r}: use review (flags and reviews) or flag")
    path = Path(path)
    raw = read_raw(path)
    columns = set(raw.columns)
    notes: list[str] = []
    missing = [c for c in ("decision", "score") if c not in columns]
    if missing:
        raise DataError(
            f"{path}: no {' or '.join(repr(c) for c in missing)} column; expected the rows "
            "`netralitas score` writes (run it first: netralitas score MODEL INPUT --output SCORED)"
        )
    if by not in columns:
        if by != "account":
            raise DataError(
                f"{path}: no column {by!r} to group by; its columns are "
                f"{', '.join(repr(c) for c in raw.columns)}"
            )
        notes.append(f"{path}: no 'account' column; every item is under {NO_ACCOUNT}")
    wanted = _DECISIONS[include]
    items = []
    for where, row in raw.rows:
        decision = _text(row.get("decision"))
        if decision not in wanted:
            continue
        action = (_text(row.get("action")) or "").strip().lower() or None
        field_name = _text(row.get("judged_field")) or (
            "context" if action in WITHOUT_TEXT else "text"
        )
        needs = {"text": action not in WITHOUT_TEXT, "context": field_name == "context"}
        for need, column in (("text", text_column), ("context", context_column)):
            if needs[need] and column not in columns:
                cols = f"{text_column},{context_column}"
                raise DataError(
                    f"{path}, {where}: no {column!r} column, so the {need} of a "
                    f"{decision} cannot be shown; {_RERUN.format(cols=cols)}"
                )
        items.append(
            {
                "id": row.get("id"),
                "where": where,
                "account": _text(row.get(by)),
                "decision": decision,
                "score": _number(row.get("score")),
                "label": _text(row.get("label")),
                "action": action,
                "judged": _text(row.get("judged"))
                or ("liked post" if action in WITHOUT_TEXT else "post"),
                "judged_field": field_name,
                "text": _text(row.get(text_column)) or "",
                "context": _text(row.get(context_column)),
                "posted_at": _text(row.get("posted_at")),
                "url": _text(row.get("url")),
                "obfuscation": [str(k) for k in _list(row.get("obfuscation"))],
                "explanation": _spans(row.get("explanation"), field_name)
                if "explanation" in columns
                else None,
                "model": {
                    "name": _text(row.get("model_name")) or "",
                    "version": _text(row.get("model_version")) or "",
                },
            }
        )
    return items, len(raw.rows), notes


# -- building ------------------------------------------------------------------------------------


def _explain_with(scorer: Any, items: list[dict[str, Any]], log: Log) -> None:
    """Explanations of `items` by `scorer` (the API's rule), for a file that has none."""
    failed = 0
    for item in items:
        try:
            record = Record(text=item["text"], context=item["context"], action=item["action"])
        except ValueError:
            failed += 1
            item["explanation"] = []
            continue
        post = scorer.explain_scored(record)
        item["judged"], item["judged_field"] = post.judged, post.judged_field
        item["explanation"] = [
            {"start": a.start, "end": a.end, "weight": a.weight, "text": a.text}
            | {"field": post.judged_field}
            for a in post.explanation or ()
        ]
    if failed:
        log(f"{failed} item(s) could not be explained (no text, or a like without its post)")


def _read_as(item: dict[str, Any]) -> None:
    """The judged text as the model read it, when reading through obfuscation changed it."""
    judged = item["context"] if item["judged_field"] == "context" else item["text"]
    read, kinds = deobfuscate(judged or "")
    item["read_as"] = read if read != judged else None
    if not item["obfuscation"]:  # a file without the column: the Scorer's signal, as it lists it
        item["obfuscation"] = [kind for kind in kinds if kind in SIGNALS]


def build_cases(
    path: str | Path,
    *,
    by: str = "account",
    include: str = "review",
    min_flags: int = 0,
    scorer: Any = None,
    text_column: str = "text",
    context_column: str = "context",
    log: Log = lambda line: print(line, file=sys.stderr),
) -> CaseSet:
    """The cases of a scored file; `scorer` (a `Scorer`) explains items and gives thresholds."""
    items, rows_read, notes = read_scored(
        path, by=by, include=include, text_column=text_column, context_column=context_column
    )
    for note in notes:
        log(note)
    models = sorted({(i["model"]["name"], i["model"]["version"]) for i in items})
    thresholds = explained_by = None
    if scorer is not None:
        meta = scorer.metadata
        same = models == [(meta.name, meta.version)] or not models
        if same:
            thresholds = {"flag": meta.thresholds.flag, "review": meta.thresholds.review}
        else:
            log(
                f"the scored file was scored by {models}, not {meta.name} {meta.version}: its "
                "thresholds are not shown, and the explanations are that model's"
            )
        if any(item["explanation"] is None for item in items):
            _explain_with(scorer, [i for i in items if i["explanation"] is None], log)
            explained_by = {"name": meta.name, "version": meta.version}
    for item in items:
        _read_as(item)
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["account"], []).append(item)
    cases = [
        Case(account, sorted(group, key=lambda i: (i["decision"] != "flag", -(i["score"] or 0))))
        for account, group in groups.items()
    ]
    cases = [c for c in cases if c.flags >= min_flags]
    cases.sort(key=lambda c: (-c.flags, -c.reviews, c.name.casefold(), c.name))
    return CaseSet(
        str(path),
        cases,
        [{"name": n, "version": v} for n, v in models],
        thresholds,
        explained_by,
        include,
        min_flags,
        by,
        rows_read,
        notes,
    )


# -- writing -------------------------------------------------------------------------------------


def _case_json(case: Case, cases: CaseSet) -> dict[str, Any]:
    return {
        "notice": NOTICE,
        "account": case.account,
        "flags": case.flags,
        "reviews": case.reviews,
        "models": cases.models,
        "thresholds": cases.thresholds,
        "explained_by": cases.explained_by,
        "items": [{k: v for k, v in item.items() if k != "account"} for item in case.items],
    }


def _index_json(cases: CaseSet) -> dict[str, Any]:
    return {
        "notice": NOTICE,
        "source": cases.source,
        "by": cases.by,
        "include": cases.include,
        "min_flags": cases.min_flags,
        "rows_read": cases.rows_read,
        "models": cases.models,
        "thresholds": cases.thresholds,
        "explained_by": cases.explained_by,
        "accounts": [
            {
                "account": case.account,
                "flags": case.flags,
                "reviews": case.reviews,
                "html": f"{case.stem}.html",
                "json": f"{case.stem}.json",
            }
            for case in cases.cases
        ],
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=json_default) + "\n"


def write_cases(cases: CaseSet, output: str | Path) -> Path:
    """Write every case file and the index into `output`, whole or not at all: the files are
    written to a new folder beside it, which then replaces it. An `output` that exists must be
    empty or an earlier case-file folder (it has an `index.json`)."""
    out = Path(output)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "index.json").is_file())
    ):
        raise DataError(
            f"{out} exists and is not a case-file folder (no index.json); name a new or empty "
            "folder, or an earlier `netralitas cases` output to replace"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for case in cases.cases:
            (staging / f"{case.stem}.json").write_text(
                _dump(_case_json(case, cases)), encoding="utf-8"
            )
            (staging / f"{case.stem}.html").write_text(case_page(case, cases), encoding="utf-8")
        (staging / "index.json").write_text(_dump(_index_json(cases)), encoding="utf-8")
        (staging / "index.html").write_text(index_page(cases), encoding="utf-8")
        staging.chmod(0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            out.rename(old / out.name)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def describe(cases: CaseSet) -> Sequence[str]:
    """Lines for the terminal: how many accounts and items, the top accounts."""
    items = sum(len(c.items) for c in cases.cases)
    lines = [
        f"{len(cases.cases)} account(s), {items} item(s) "
        f"({sum(c.flags for c in cases.cases)} flagged, {sum(c.reviews for c in cases.cases)} "
        f"for review) from {cases.rows_read} scored rows"
    ]
    lines += [f"  {c.flags:>4} flag(s) {c.reviews:>4} review  {c.name}" for c in cases.cases[:10]]
    return lines
