"""`netralitas feedback export`: the reviewed items as training JSON Lines; and `feedback audit`:
who changed which verdict when.

The rows carry the field names the training loaders read (`id`, `text`, `context`, `label`,
`source`): one row per item whose reviewers agree (each reviewer counted once, with their latest
verdict) or that an administrator adjudicated, and never one text twice: a text (text and context
normalised as `netralitas.data.split.deduplicate` judges duplicates) under several ids is written
once when their labels agree and left out, counted, when they do not.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from netralitas.data.records import write_jsonl
from netralitas.serve.feedback import (
    FeedbackStore,
    FeedbackStoreError,
    database_url,
    feedback_table,
    normalize_reviewer,
)

__all__ = ["ExportSummary", "audit_trail", "export_feedback", "open_existing"]


@dataclass(frozen=True)
class ExportSummary:
    written: int
    disagreements: int  # items whose reviewers disagree and that no adjudication settled
    path: Path
    adjudicated: int = 0  # items written with their adjudicated label
    repeated: int = 0  # items left out because an earlier item has the same text and label
    conflicting_texts: int = 0  # texts labelled differently under different ids: left out
    conflicting_items: int = 0  # the items holding those texts


def _record(group: list[dict[str, Any]], adjudicated: str | None) -> dict[str, Any] | None:
    """The training record for one item, or None when its reviewers disagree unadjudicated.

    Rows written before names were normalised may spell one reviewer twice (`Rina`, `rina`):
    each reviewer counts once, with their latest verdict."""
    group = sorted(group, key=lambda r: r["created_at"])
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(group, key=lambda r: r["updated_at"]):
        latest[normalize_reviewer(row["reviewer"])] = row
    verdicts = {(r["label"], r["text"], r["context"]) for r in latest.values()}
    if adjudicated is None and len(verdicts) != 1:
        return None
    # The agreed verdict, or the first one written when an adjudication gives the label.
    first = next(iter(latest.values())) if adjudicated is None else group[0]
    label = adjudicated if adjudicated is not None else first["label"]
    record = {"id": first["item_id"], "text": first["text"], "label": label}
    if first["context"] is not None:
        record["context"] = first["context"]
    record["source"] = "feedback"
    return record


def _text_key(record: dict[str, Any]) -> str:
    """Text + context normalised as `netralitas.data.split.deduplicate` judges duplicates."""
    from netralitas.model.text.normalize import normalize_text

    context = record.get("context")
    return normalize_text(record["text"]) + " || " + (normalize_text(context) if context else "")


def open_existing(url: str, what: str) -> FeedbackStore:
    """The store of a database the service wrote (upgraded to this version's tables, rows kept);
    `FeedbackStoreError` saying which database to pass when there is none. `what` is the task."""
    url = database_url(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise FeedbackStoreError(
            f"feedback database {url.removeprefix('sqlite:///')} does not exist; pass the file "
            "named by NETRALITAS_FEEDBACK_DB (default feedback.sqlite3) or a database URL"
        )
    store = FeedbackStore(url)
    if not inspect(store.engine).has_table(feedback_table.name):
        store.close()
        raise FeedbackStoreError(
            f"{url} has no {feedback_table.name!r} table: nothing to {what}; pass the database "
            "the service writes (NETRALITAS_FEEDBACK_DB)"
        )
    return store.create()


def audit_trail(
    url: str,
    item_id: str | None = None,
    key_name: str | None = None,
    reviewer: str | None = None,
    since: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The audit rows (who, when, old and new label, note), oldest first, filtered by item, key,
    reviewer (spelled any way: names are compared normalised) and time."""
    store = open_existing(url, "audit")
    try:
        rows = store.audit(item_id)
    finally:
        store.close()
    wanted = normalize_reviewer(reviewer) if reviewer is not None else None
    return [
        row
        for row in rows
        if (key_name is None or row["key_name"] == key_name)
        and (wanted is None or row["reviewer"] == wanted)
        and (since is None or row["at"] >= since)
    ]


def export_feedback(url: str, output: str | Path) -> ExportSummary:
    """Write the reviewed items as training JSONL (atomically). Items in dispute are left out
    unless adjudicated; a text is written once, or not at all when its items disagree."""
    store = open_existing(url, "export")
    try:
        adjudications = {k: v["label"] for k, v in store.adjudications().items()}
        disagreements = adjudicated = 0
        by_text: dict[str, list[dict[str, Any]]] = {}
        for item_id, rows in itertools.groupby(store.rows(), key=lambda r: r["item_id"]):
            record = _record(list(rows), adjudications.get(item_id))
            if record is None:
                disagreements += 1
                continue
            adjudicated += item_id in adjudications
            by_text.setdefault(_text_key(record), []).append(record)
    finally:
        store.close()
    records, repeated, conflicting_texts, conflicting_items = [], 0, 0, 0
    for same_text in by_text.values():
        if len({r["label"] for r in same_text}) > 1:
            conflicting_texts += 1
            conflicting_items += len(same_text)
        else:
            records.append(same_text[0])
            repeated += len(same_text) - 1
    records.sort(key=lambda r: r["id"])
    output = Path(output)
    write_jsonl(records, output)
    return ExportSummary(
        len(records),
        disagreements,
        output,
        adjudicated=adjudicated,
        repeated=repeated,
        conflicting_texts=conflicting_texts,
        conflicting_items=conflicting_items,
    )
