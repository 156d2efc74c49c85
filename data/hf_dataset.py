"""Hugging Face `datasets` interop: records from a `Dataset`, and the `Dataset` back with scores.

    from datasets import load_dataset
    from netralitas.data.hf_dataset import records_from_dataset, score_dataset
    from netralitas.model.scorer import Scorer

    ds = load_dataset("csv", data_files="export.csv", split="train")  # columns tweet, kelas
    records = records_from_dataset(
        ds, text_column="tweet", label_column="kelas", label_map={"dukung": "supportive"}
    )                                       # labelled records for `evaluate_model` or training
    scored = score_dataset(Scorer.from_pretrained("artifacts/default"), ds, text_column="tweet")
    scored.to_pandas()                      # ds's columns + label, decision, score, score_<label>, ...

The columns `score_dataset` adds are those of `netralitas score`'s flat output (data/output.py):
`label` (the decided label), `decision`, `score`, `score_<label>` per model label, `truncated`,
`obfuscation` (when the scorer reports it), `model_name`, `model_version`. An input column with
one of those names is kept renamed `input_<name>` (a gold `label` becomes `input_label`), as in
the command's output. A `ClassLabel` column is read as its label names, not its integers.

`datasets` is imported by neither this module nor the package: only a `Dataset` passed in brings
it, so importing netralitas stays light.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from netralitas.data.columns import ColumnMap, ReadOptions, map_label
from netralitas.data.errors import DataError
from netralitas.data.labels import check_label_spellings
from netralitas.model.records import Record

if TYPE_CHECKING:
    from datasets import Dataset

    from netralitas.model.scorer import Scorer

__all__ = ["records_from_dataset", "score_dataset"]

MAX_ERRORS_SHOWN = 20
# Record fields read from a column of their own name (the roles text/label/context/id are named).
_OWN_NAME = ("platform", "action", "election", "tag", "group", "source", "weak")


def _check_dataset(dataset: Any) -> None:
    if isinstance(dataset, Mapping):  # a DatasetDict is a dict of splits
        raise DataError(
            "expected one datasets.Dataset, found a mapping of splits "
            f"({', '.join(map(str, dataset.keys()))}); pass one split, e.g. ds['test']"
        )
    if not hasattr(dataset, "column_names") or not hasattr(dataset, "features"):
        raise DataError(
            f"expected a datasets.Dataset, found {type(dataset).__name__}; build one with "
            "Dataset.from_pandas(frame) or Dataset.from_list(rows)"
        )
    if len(dataset) == 0:
        raise DataError("the dataset has no rows; expected at least one post")


def _column(dataset: Dataset, name: str) -> list[Any]:
    """A column as Python values; a `ClassLabel` column as its label names."""
    values = list(dataset[name])
    feature = dataset.features[name]
    if type(feature).__name__ == "ClassLabel":
        return [None if v is None or v < 0 else feature.int2str(int(v)) for v in values]
    return values


def _require(dataset: Dataset, name: str, role: str, option: str) -> None:
    if name not in dataset.column_names:
        raise DataError(
            f"expected a {role} column named {name!r}, found columns "
            f"{', '.join(repr(c) for c in dataset.column_names)}; name the column that holds "
            f"the {role} with {option}="
        )


def records_from_dataset(
    dataset: Dataset,
    *,
    text_column: str = "text",
    label_column: str = "label",
    context_column: str | None = None,
    id_column: str | None = None,
    label_map: Mapping[str, str] | None = None,
    require_label: bool = True,
) -> list[Record]:
    """Records from the rows of a Hugging Face `Dataset`, validated like a data file's.

    Columns are named as on the command line (`--text-column` ...); unset, `context` and `id`
    are read when the dataset has them. `label_map` maps label values (`{"dukung":
    "supportive"}`; an empty target drops those rows). Other columns are kept in `Record.extra`.
    Raises one `DataError` listing every bad row (`row N` counts from 1).
    """
    _check_dataset(dataset)
    try:
        options = ReadOptions(
            columns=ColumnMap(
                text=text_column, label=label_column, context=context_column, id=id_column
            ),
            label_map=dict(label_map or {}),
        )
    except ValidationError as exc:
        raise DataError(f"records_from_dataset: {exc.errors()[0]['msg']}") from exc
    names = options.columns
    _require(dataset, names.text, "text", "text_column")
    roles = {"text": names.text}
    if require_label:
        _require(dataset, names.label, "label", "label_column")
    if names.label in dataset.column_names:
        roles["label"] = names.label
    for role, given in (("context", names.context), ("id", names.id)):
        if given is not None:
            _require(dataset, given, role, f"{role}_column")
            roles[role] = given
        elif role in dataset.column_names:
            roles[role] = role
    used = set(roles.values())
    own = [c for c in _OWN_NAME if c in dataset.column_names and c not in used]
    others = [c for c in dataset.column_names if c not in used and c not in own]
    columns = {c: _column(dataset, c) for c in dataset.column_names}

    records: list[Record] = []
    errors: list[str] = []
    values: Counter[str] = Counter()
    for i in range(len(dataset)):
        fields = {role: columns[column][i] for role, column in roles.items()}
        fields |= {c: columns[c][i] for c in own}
        fields["extra"] = {c: columns[c][i] for c in others}
        label = fields.get("label")
        if label is not None and str(label).strip():
            values[str(label)] += 1
            fields["label"] = map_label(str(label), options.label_map) or None
            if fields["label"] is None and require_label:
                continue  # VALUE= in the map: not part of the labelled data
        try:
            record = Record.model_validate(fields)
        except ValidationError as exc:
            errors += [f"row {i + 1}: {_problem(e, roles)}" for e in exc.errors()]
            continue
        if require_label and record.label is None:
            errors.append(f"row {i + 1}: no label in column {roles['label']!r}")
        records.append(record)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        raise DataError(
            f"dataset: {len(errors)} problem(s); nothing was loaded. Fix these rows:\n  {shown}"
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    if require_label:
        check_label_spellings(values, options.label_map, "dataset")
    if not records:
        raise DataError("dataset: every row was dropped by label_map")
    return records


def _problem(err: Mapping[str, Any], roles: Mapping[str, str]) -> str:
    field = ".".join(str(p) for p in err["loc"]) or "<row>"
    column = roles.get(field, field)
    if err["type"] == "missing":
        return f"column {column!r} ({field}) is required but empty"
    return f"column {column!r} ({field}): {err['msg']} (found {err.get('input')!r})"


def score_dataset(
    scorer: Scorer,
    dataset: Dataset,
    *,
    text_column: str = "text",
    context_column: str | None = None,
    batch_size: int = 256,
) -> Dataset:
    """`dataset` with the scores of its posts added as columns (see the module docstring).

    Rows keep their order; `context_column` (default: `context` when the dataset has one) is the
    post each row answers or shares.
    """
    from datasets import Dataset, Features, Sequence, Value, concatenate_datasets

    _check_dataset(dataset)
    _require(dataset, text_column, "text", "text_column")
    if context_column is not None:
        _require(dataset, context_column, "context", "context_column")
    elif "context" in dataset.column_names:
        context_column = "context"
    texts = _column(dataset, text_column)
    contexts = _column(dataset, context_column) if context_column else [None] * len(texts)
    records = []
    for i, (text, context) in enumerate(zip(texts, contexts, strict=True)):
        try:
            records.append(Record(text=text, context=context))
        except ValidationError as exc:
            raise DataError(
                f"row {i + 1}: column {text_column!r} must hold the text of a post, found "
                f"{text!r} ({exc.errors()[0]['msg']}); drop or fill such rows first, e.g. "
                f"dataset.filter(lambda row: bool(row[{text_column!r}]))"
            ) from exc
    posts = list(scorer.score(records, batch_size=batch_size))
    labels = scorer.metadata.labels
    scores: dict[str, list[Any]] = {
        "label": [p.label for p in posts],
        "decision": [p.decision for p in posts],
        "score": [p.score for p in posts],
        **{f"score_{label}": [p.scores[label] for p in posts] for label in labels},
        "truncated": [p.truncated for p in posts],
    }
    if posts and hasattr(posts[0], "obfuscation"):
        scores["obfuscation"] = [list(p.obfuscation) for p in posts]
    scores["model_name"] = [p.model_name for p in posts]
    scores["model_version"] = [p.model_version for p in posts]
    renamed = {}
    for column in dataset.column_names:
        if column in scores:
            name = f"input_{column}"
            while name in scores or name in dataset.column_names:
                name = f"input_{name}"
            renamed[column] = name
    kept = dataset.rename_columns(renamed) if renamed else dataset
    types = {"score": Value("float64"), "truncated": Value("bool")}
    types |= {f"score_{label}": Value("float64") for label in labels}
    types["obfuscation"] = Sequence(Value("string"))  # typed even when every list is empty
    features = Features({name: types.get(name, Value("string")) for name in scores})
    return concatenate_datasets([kept, Dataset.from_dict(scores, features=features)], axis=1)
