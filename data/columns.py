"""How to read a user's data file: which column is what, and what its label values mean.

One `ReadOptions` serves every reader and every command: `--text-column`, `--context-column`,
`--label-column`, `--id-column`, `--map SRC=DST` and `--format` on the command line, the `[data]`
keys `columns`, `label_map` and `format` in a training config. Example: a `;`-separated export with
columns `tweet;kelas` and labels `dukung`/`netral`::

    ReadOptions(
        columns=ColumnMap(text="tweet", label="kelas"),
        label_map={"dukung": "supportive", "netral": "neutral"},
    )

Columns the record schema does not name are kept (`Record.extra`), never an error: the file is the
user's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netralitas.data.errors import DataError

__all__ = ["ColumnMap", "ReadOptions", "map_label", "parse_label_map"]


class ColumnMap(BaseModel):
    """The file's column names for the record's text, label, context and id.

    `context` and `id` are optional: left unset, a column named `context` (`id`) is used when the
    file has one; set, the column must exist.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(default="text", min_length=1, description="the post as written")
    label: str = Field(default="label", min_length=1, description="the class label")
    context: str | None = Field(default=None, min_length=1, description="the post answered/shared")
    id: str | None = Field(default=None, min_length=1, description="the row's identifier")

    @field_validator("text", "label", "context", "id")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        # Header cells are read stripped (Excel headers often end in a space), so names are too.
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _distinct(self) -> ColumnMap:
        named = [(role, getattr(self, role)) for role in ("text", "label", "context", "id")]
        named = [(role, name) for role, name in named if name is not None]
        seen: dict[str, str] = {}
        for role, name in named:
            if name in seen:
                raise ValueError(
                    f"column {name!r} is named both as the {seen[name]} and the {role} column; "
                    "each role needs its own column"
                )
            seen[name] = role
        return self


class ReadOptions(BaseModel):
    """Everything a reader needs besides the path: format, column names, label mapping.

    `label_map` maps a label value in the file to the label to train on (`{"dukung":
    "supportive"}`); an empty target drops those rows from labelled data. Keys match label values
    ignoring surrounding spaces (`"Netral"` also maps `"Netral "`), case and accents count.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = "auto"
    columns: ColumnMap = ColumnMap()
    label_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("label_map")
    @classmethod
    def _clean_map(cls, value: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for src, dst in value.items():
            if not str(src).strip():
                raise ValueError("a label_map key is empty; write the label value to map")
            out[str(src).strip()] = str(dst).strip()
        return out


def map_label(value: str, label_map: Mapping[str, str]) -> str:
    """The label `value` stands for under `label_map` (unchanged when it has no entry)."""
    return label_map.get(value.strip(), value) if label_map else value


def parse_label_map(items: Sequence[str]) -> dict[str, str]:
    """`["dukung=supportive", "ragu="]` -> `{"dukung": "supportive", "ragu": ""}` ("": drop).

    The label value may itself contain `=`: the last `=` separates it from the target.
    """
    out: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.rpartition("=")
        if not sep or not src.strip():
            raise DataError(
                f"--map {item!r} must look like VALUE=LABEL, e.g. --map dukung=supportive "
                "(or VALUE= to drop those rows)"
            )
        out[src.strip()] = dst.strip()
    return out
