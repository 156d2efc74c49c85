"""The record a post travels as: from a data file, through training, evaluation and scoring.

It lives in the core because every layer passes it on; reading and writing files of records is
the data layer's job (`netralitas.data.records`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "ACTIONS",
    "WITHOUT_TEXT",
    "Action",
    "Record",
    "action_problem",
    "field_error",
    "record_key",
]

# What the account did. `reaction` is any emoji reaction (Facebook's love, haha, care, ...): like
# `like`, it has no text of its own and is judged on the post it reacts to (model/actions.py).
Action = Literal["post", "comment", "share", "like", "reaction"]
ACTIONS: tuple[str, ...] = get_args(Action)
WITHOUT_TEXT = frozenset({"like", "reaction"})


def record_key(text: str, context: str | None) -> str:
    """A short stable key of a post as the model reads it (its text and context): how an artifact
    records which posts each training split held without storing the posts themselves."""
    payload = f"{text}\x1f{context or ''}".encode()
    return hashlib.sha256(payload).hexdigest()[:20]


class Record(BaseModel):
    """One labelled (or unlabelled) post, comment, share, like or reaction.

    `text` is required, except for a like or a reaction, which has none: then `context` (the post
    liked) is required instead. `label` is for training and evaluation. `posted_at` is kept as the
    string given (any format a platform exports; ISO 8601 recommended): nothing computes with it,
    and parsing would silently re-write time zones a reviewer needs to see as exported.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    text: str = Field(
        default="",
        description="the post, comment or share caption as written; empty for a like or reaction",
    )
    label: str | None = Field(default=None, description="class label, e.g. supportive/neutral")
    id: str | None = None
    context: str | None = Field(
        default=None,
        description="the post a comment answers, a share forwards or a like/reaction is on",
    )
    platform: str | None = None
    action: Action | None = None
    account: str | None = Field(default=None, description="who posted, shared or liked")
    posted_at: str | None = Field(default=None, description="when, as exported (ISO 8601 best)")
    url: str | None = Field(default=None, description="a link to the item")
    election: str | None = None
    tag: str | None = None
    group: str | None = Field(default=None, description="rows written from one idea share a group")
    source: str | None = None
    weak: bool = Field(default=False, description="label derived from a proxy (e.g. sentiment)")
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="the file's other columns, as read: ignored by training and evaluation, "
        "carried through by `netralitas score` and written back by `data split`",
    )

    @field_validator("text", mode="before")
    @classmethod
    def _missing_text(cls, value: Any) -> Any:
        # A like exported to CSV or Parquet has an empty cell (or NaN, or null) as its text.
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return value

    @model_validator(mode="after")
    def _text_or_liked_post(self) -> Record:
        problem = action_problem(self.action, self.text, self.context)
        if problem is not None:
            field, message = problem
            # No text column at all reads as "missing", so the data layer can suggest a column.
            missing = field == "text" and field not in self.model_fields_set
            raise field_error(type(self).__name__, field, message, getattr(self, field), missing)
        return self

    @field_validator(
        "id",
        "context",
        "platform",
        "election",
        "tag",
        "group",
        "source",
        "label",
        "account",
        "posted_at",
        "url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # CSV and spreadsheets write missing values as "" or NaN.
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dt.date | dt.time):
            return value.isoformat()  # a Parquet or Excel timestamp in `posted_at`
        return value

    @field_validator("action", mode="before")
    @classmethod
    def _blank_action(cls, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, str):
            # Exports write "Like", "SHARE " or "Reaction": the action is a word, not a spelling.
            return value.strip().lower() or None
        return value

    @field_validator("weak", mode="before")
    @classmethod
    def _blank_weak(cls, value: Any) -> Any:
        # A blank cell or a null means "not weak"; "true"/"false" strings are parsed by pydantic.
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return False if isinstance(value, str) and not value.strip() else value


def action_problem(action: str | None, text: str, context: str | None) -> tuple[str, str] | None:
    """`(field, message)` when an item lacks what its action needs, else None: the one rule of
    records and API items. A like or reaction has no text and needs the post it is on (`context`);
    anything else needs text.

    >>> action_problem("like", "", None)[0]
    'context'
    """
    if action in WITHOUT_TEXT:
        if context is None or not context.strip():
            return (
                "context",
                f"a {action} has no text of its own and is judged on the post it is on: give "
                "that post's text as the context",
            )
        return None
    if not text.strip():
        needs = (
            f"a {action} needs text; only a like or reaction may have none"
            if action
            else "only a like or reaction may have none: set its action"
        )
        return "text", f"text is missing, empty or only whitespace ({needs})"
    return None


def field_error(
    model: str, field: str, message: str, found: Any, missing: bool = False
) -> ValidationError:
    """A validation error located at `field`, for a model validator to raise (its own errors have
    no location; the data layer and the API name the column or field of each problem).
    `missing`: pydantic's own "Field required" error instead of `message`."""
    safe = message.replace("{", "(").replace("}", ")")  # the message is a template
    kind = "missing" if missing else PydanticCustomError("value_error", safe)
    return ValidationError.from_exception_data(
        model, [InitErrorDetails(type=kind, loc=(field,), input=found)]
    )
