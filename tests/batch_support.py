"""Posts split into parts for the batch-scoring tests, and the whole-file path to compare with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .sample_data import labelled_rows, write_jsonl


def posts(n: int, *, prefix: str = "b") -> list[dict[str, Any]]:
    """`n` posts made from the bundled test texts, with ids on most rows (some rows have none,
    so they are numbered), a context and an action on a few, and a column of the user's."""
    base = labelled_rows()
    rows = []
    for i in range(n):
        source = base[i % len(base)]
        row: dict[str, Any] = {"text": f"{source['text']} #{i}", "region": f"kab-{i % 7}"}
        if i % 5 != 3:
            row["id"] = f"{prefix}{i:05d}"
        if "context" in source:
            row["context"] = source["context"]
            row["action"] = "Comment" if i % 2 else "comment"
        rows.append(row)
    return rows


def write_parts(folder: Path, rows: list[dict[str, Any]], parts: int) -> list[Path]:
    """`rows` split into `parts` JSON Lines files `part-000.jsonl`, ... in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // parts)
    return [
        write_jsonl(folder / f"part-{k:03d}.jsonl", rows[k * size : (k + 1) * size])
        for k in range(parts)
    ]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an output file (JSON Lines or Parquet)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def whole_file_rows(model_dir: Path, path: Path, options=None, keep: str = "all") -> list[dict]:
    """Today's path of `netralitas score FILE`: every row in memory, scored, then the rows."""
    from netralitas.data.output import keep_columns, scored_rows
    from netralitas.data.table import load_table
    from netralitas.model.scorer import Scorer

    table = load_table(path, options, require_label=False)
    scorer = Scorer.from_pretrained(model_dir)
    found = list(scorer.score(table.records))
    return scored_rows(table, found, scorer.metadata.labels, keep_columns(keep, table))
