"""The record a post travels as: from a data file, through training, evaluation and scoring.

It lives in the core because every layer passes it on; reading and writing files of records is
the data layer's job (`netralitas.data.records`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Record", "record_key"]


def record_key(text: str, context: str | None) -> str:
    """A short stable key of a post as the model reads it (its text and context): how an artifact
    records which posts each training split held without storing the posts themselves."""
    payload = f"{text}\x1f{context or ''}".encode()
    return hashlib.sha256(payload).hexdigest()[:20]


class Record(BaseModel):
    """One labelled (or unlabelled) post. `text` is required; `label` for training/evaluation."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    text: str = Field(min_length=1, description="the post, comment or share as written")
    label: str | None = Field(default=None, description="class label, e.g. supportive/neutral")
    id: str | None = None
    context: str | None = Field(
        default=None, description="the post a comment answers or a share forwards"
    )
    platform: str | None = None
    action: Literal["post", "comment", "share"] | None = None
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

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty or only whitespace")
        return value

    @field_validator(
        "id", "context", "platform", "election", "tag", "group", "source", "label", mode="before"
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
        return value

    @field_validator("action", mode="before")
    @classmethod
    def _blank_action(cls, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("weak", mode="before")
    @classmethod
    def _blank_weak(cls, value: Any) -> Any:
        # A blank cell or a null means "not weak"; "true"/"false" strings are parsed by pydantic.
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return False if isinstance(value, str) and not value.strip() else value
