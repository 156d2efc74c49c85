"""HTTP request and response bodies: separate models, frozen, unknown fields rejected.

Every field carries a description and an Indonesian example, which is what the OpenAPI page at
`/docs` shows to the monitoring teams writing clients. Limits that operators can change (items per
request, characters per text) are checked by the route against the settings, so that the error can
name the item and the limit; the fixed bounds here only keep identifiers and notes sane.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from netralitas.model.records import Action, action_problem, field_error

__all__ = [
    "AdjudicationRequest",
    "AdjudicationResponse",
    "AuditEntry",
    "ExplanationSpan",
    "FeedbackAudit",
    "FeedbackRequest",
    "FeedbackResponse",
    "HealthResponse",
    "Limits",
    "ModelDetails",
    "ModelInfo",
    "ProfileInfo",
    "ScoreItem",
    "ScoreRequest",
    "ScoreResponse",
    "ScoreResult",
    "ThresholdInfo",
]


# JSON can carry lone surrogates ("\ud800"), which no UTF-8 encoder or database takes.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(value: str) -> str:
    if _LONE_SURROGATE.search(value):
        raise ValueError("must not contain unpaired UTF-16 surrogates; send valid Unicode text")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


# Scored text is read, never stored: anything that is valid Unicode.
Text = Annotated[str, AfterValidator(_valid_unicode)]
Name = Annotated[str, Field(min_length=1, pattern=r"\S"), AfterValidator(_not_blank)]
# Stored text must also suit every database: PostgreSQL refuses NUL. The patterns say so in the
# OpenAPI schema; `_not_blank` keeps the exact rule of the training loader (`str.strip`).
StoredText = Annotated[str, Field(pattern=r"^[^\x00]*$"), AfterValidator(_valid_unicode)]
StoredName = Annotated[
    str,
    Field(min_length=1, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$"),
    AfterValidator(_valid_unicode),
    AfterValidator(_not_blank),
]


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


# -- scoring ---------------------------------------------------------------------------------------
class ScoreItem(_In):
    """One post, comment, share, like or reaction to score.

    A like or reaction has no text: send the liked post as `context`; it is what is judged. A
    share is judged on the higher of its caption (read with the shared post) and the shared post
    alone; the result's `judged` says which.
    """

    id: Name | None = Field(
        default=None,
        max_length=200,
        description="Your identifier, copied to the result; defaults to the 1-based position.",
        examples=["fb-2029-000123"],
    )
    text: Text = Field(
        default="",
        description="The post, comment or share caption exactly as written (emoji, slang and "
        "all). Required, except for a like or reaction, which has none.",
        examples=["Ayo coblos nomor 2, Pak Hendro paling peduli sama guru honorer!"],
    )
    context: Text | None = Field(
        default=None,
        description="The post this comment answers, this share forwards or this like or "
        "reaction is on (required for a like or reaction).",
        examples=["Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"],
    )
    action: Action | None = Field(
        default=None,
        description="What the account did: post, comment, share, like or reaction (any emoji "
        "reaction); it decides what is judged. Default: a post.",
        examples=["comment"],
    )
    account: str | None = Field(
        default=None,
        max_length=500,
        description="Who posted, shared or liked (copied to the result).",
        examples=["facebook.com/budi.santoso"],
    )
    posted_at: str | None = Field(
        default=None,
        max_length=100,
        description="When, as exported (ISO 8601 recommended); copied to the result, never parsed.",
        examples=["2029-11-02T08:15:00+07:00"],
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="A link to the item (copied to the result).",
        examples=["https://facebook.com/story.php?story_fbid=123"],
    )

    @model_validator(mode="after")
    def _text_or_liked_post(self) -> ScoreItem:
        # The records' own rule (model/records.py): the API and the data files agree.
        problem = action_problem(self.action, self.text, self.context)
        if problem is not None:
            field, message = problem
            missing = field == "text" and field not in self.model_fields_set
            raise field_error("ScoreItem", field, message, getattr(self, field), missing)
        return self


class ScoreRequest(_In):
    """A batch of items; results come back in the same order."""

    items: list[ScoreItem] = Field(
        min_length=1,
        description="The items to score (at most `limits.max_items`, see GET /v1/model).",
        examples=[
            [
                {"id": "post-1", "text": "Siap pak, gas terus!", "context": "Coblos nomor 2!"},
                {"id": "post-2", "text": "Apel pagi diundur jam 8 karena hujan deras"},
            ]
        ],
    )
    explain: bool = Field(
        default=False,
        description="Return, for items not cleared, the words that pushed the score most.",
        examples=[True],
    )


class ThresholdInfo(_Out):
    flag: float = Field(
        description="Side score at or above which an item is flagged.", examples=[0.71]
    )
    review: float = Field(
        description="Side score at or above which an item goes to review.", examples=[0.32]
    )
    precision_target: float = Field(
        description="Validation precision the flag threshold was chosen to reach.", examples=[0.9]
    )


class ModelInfo(_Out):
    name: str = Field(description="Model name.", examples=["netralitas-baseline"])
    version: str = Field(description="Model version.", examples=["2029-06-01"])
    labels: list[str] = Field(
        description="Labels in score order.", examples=[["neutral", "supportive"]]
    )
    threshold: ThresholdInfo = Field(description="The thresholds the decisions apply.")


class ExplanationSpan(_Out):
    """A stretch of the original text; `text == item.<judged_field>[start:end]` (the item's
    `text`, or its `context` for a like or a share judged on the shared post)."""

    start: int = Field(
        ge=0, description="Start offset (characters) in the original text.", examples=[7]
    )
    end: int = Field(
        ge=0, description="End offset (exclusive) in the original text.", examples=[13]
    )
    text: str = Field(description="The words at that span.", examples=["coblos"])
    weight: float = Field(
        description="How much the side score drops when these words are removed.",
        examples=[0.21],
    )


class ScoreResult(_Out):
    id: str = Field(description="The item's id (or its 1-based position).", examples=["post-1"])
    label: str = Field(
        description="Most probable side label when flagged, otherwise the neutral label.",
        examples=["supportive"],
    )
    score: float = Field(
        description="Probability that the item takes a side: 1 - p(neutral).", examples=[0.93]
    )
    scores: dict[str, float] = Field(
        description="Probability of every label.",
        examples=[{"neutral": 0.07, "supportive": 0.93}],
    )
    decision: Literal["flag", "review", "clear"] = Field(
        description="`flag`: at or above the precision threshold; `review`: in the band below "
        "it, for a person to check; `clear`: below the band.",
        examples=["flag"],
    )
    truncated: bool = Field(
        description="The input was cut to fit the model's maximum length.", examples=[False]
    )
    action: Action | None = Field(
        default=None, description="The item's action, as sent.", examples=["share"]
    )
    judged: Literal["post", "comment", "caption", "shared post", "liked post"] = Field(
        default="post",
        description="What the model read: the post, the comment (with its context), the "
        "caption (with the shared post), the shared post alone, or the liked post.",
        examples=["shared post"],
    )
    judged_field: Literal["text", "context"] = Field(
        default="text",
        description="The item's field that was read: explanation spans are offsets into it.",
        examples=["context"],
    )
    account: str | None = Field(
        default=None,
        description="The item's account, as sent.",
        examples=["facebook.com/budi.santoso"],
    )
    posted_at: str | None = Field(
        default=None,
        description="The item's time, as sent.",
        examples=["2029-11-02T08:15:00+07:00"],
    )
    url: str | None = Field(
        default=None,
        description="The item's link, as sent.",
        examples=["https://facebook.com/story.php?story_fbid=123"],
    )
    explanation: list[ExplanationSpan] | None = Field(
        default=None,
        description="With `explain`, for flagged and review items: strongest spans first.",
        examples=[[{"start": 4, "end": 10, "text": "coblos", "weight": 0.21}]],
    )
    obfuscation: list[str] = Field(
        default_factory=list,
        description="Kinds of obfuscation undone before the model read the text, in this order: "
        "invisible, styled, confusable, number_emoji, spaced, leet, stretched. Someone hiding words "
        "from a filter is worth a reviewer's look.",
        examples=[["invisible", "confusable"]],
    )


class ScoreResponse(_Out):
    model: ModelInfo = Field(description="The model that scored the items.")
    request_id: str = Field(
        description="Identifier of this request (also the X-Request-ID header).",
        examples=["5f0c2a9e3b7d4c1e"],
    )
    results: list[ScoreResult] = Field(
        description="One result per item, in input order.",
        examples=[
            [
                {
                    "id": "post-1",
                    "label": "supportive",
                    "score": 0.93,
                    "scores": {"neutral": 0.07, "supportive": 0.93},
                    "decision": "flag",
                    "truncated": False,
                    "explanation": None,
                    "obfuscation": [],
                }
            ]
        ],
    )


# -- model and health ------------------------------------------------------------------------------
class ProfileInfo(_Out):
    id: str = Field(description="Profile id.", examples=["pilbup-garut-fiksi-2029"])
    title: str | None = Field(
        default=None, description="Election name.", examples=["Pemilihan Bupati Garut 2029"]
    )


class Limits(_Out):
    max_items: int = Field(description="Items per score request.", examples=[256])
    explain_max_items: int = Field(description="Items per request with `explain`.", examples=[32])
    max_text_chars: int = Field(description="Characters per text and context.", examples=[5000])
    max_body_bytes: int = Field(description="Bytes per request body.", examples=[2_000_000])
    max_request_tokens: int = Field(
        description="Estimated tokens of work per score request (~4 characters a token; an "
        "explained item costs its tokens once per occluded variant); over it: 413.",
        examples=[2_000_000],
    )
    max_inflight_tokens: int = Field(
        description="Estimated tokens of work one worker admits at once; beyond it: 503.",
        examples=[8_000_000],
    )
    explain_max_words: int = Field(
        description="Occluded variants (words) per request with `explain`.", examples=[2048]
    )
    request_timeout_s: float = Field(
        description="Seconds before a score request answers 504 (`X-Request-Timeout` may "
        "shorten it).",
        examples=[30.0],
    )
    requests_per_minute: int = Field(
        description="Score requests per key per minute (0: no limit); over it: 429.",
        examples=[1200],
    )
    items_per_minute: int = Field(
        description="Items scored per key per minute (0: no limit); over it: 429.",
        examples=[60000],
    )
    quota_scope: Literal["process", "shared"] = Field(
        description="`shared`: the per-minute quotas hold across every worker using the same "
        "quota store; `process`: one worker process keeps them.",
        examples=["shared"],
    )
    workers: int = Field(description="Worker processes of this server.", examples=[1])


class ModelDetails(_Out):
    name: str = Field(description="Model name.", examples=["netralitas-baseline"])
    version: str = Field(description="Model version.", examples=["2029-06-01"])
    kind: str = Field(description="Backend: tfidf or transformer.", examples=["tfidf"])
    labels: list[str] = Field(
        description="Labels in score order.", examples=[["neutral", "supportive"]]
    )
    neutral_label: str = Field(description="The label that takes no side.", examples=["neutral"])
    thresholds: dict[str, Any] = Field(
        description="flag, review, precision_target, precision_target_met",
        examples=[{"flag": 0.71, "review": 0.32, "precision_target": 0.9}],
    )
    profiles: list[ProfileInfo] = Field(
        description="Election profiles the model reads with.",
        examples=[[{"id": "pilbup-garut-fiksi-2029", "title": "Pemilihan Bupati Garut 2029"}]],
    )
    trained_profiles: list[str] = Field(
        description="Profile ids the model was trained with.",
        examples=[["pilbup-garut-fiksi-2029"]],
    )
    metrics: dict[str, Any] = Field(
        description="Validation and test metrics from training.",
        examples=[{"validation": {"macro_f1": 0.95}, "test": {"macro_f1": 0.92}}],
    )
    created_at: dt.datetime = Field(
        description="When the artifact was written.", examples=["2029-06-01T08:00:00Z"]
    )
    limits: Limits = Field(description="The request limits of this service.")


class HealthResponse(_Out):
    status: Literal["ok", "loading"] = Field(
        description="`ok`, or `loading` while the model is not ready.", examples=["ok"]
    )


# -- feedback --------------------------------------------------------------------------------------
class FeedbackRequest(_In):
    """A reviewer's verdict on one item; the same (id, reviewer) again replaces the verdict."""

    id: StoredName = Field(
        max_length=200, description="The item's id.", examples=["fb-2029-000123"]
    )
    text: StoredName = Field(
        description="The item's text as scored.", examples=["Siap pak, gas terus!"]
    )
    context: StoredText | None = Field(
        default=None, description="The item's context, if any.", examples=["Coblos nomor 2!"]
    )
    label: StoredName = Field(
        max_length=64,
        description="The label the reviewer confirms (one of the model's labels).",
        examples=["supportive"],
    )
    reviewer: StoredName | None = Field(
        default=None,
        max_length=120,
        description="Who reviewed it: the API key's name (the default) or a name the key may act "
        "for. Compared trimmed and casefolded: `Rina` and `rina` are one reviewer.",
        examples=["bawaslu-garut-rina"],
    )
    note: StoredText | None = Field(
        default=None,
        max_length=2_000,
        description="Free-text note.",
        examples=["Komentar di unggahan kampanye paslon 2; jelas mendukung."],
    )
    model_version: StoredText | None = Field(
        default=None,
        max_length=100,
        description="Version of the model whose score was reviewed.",
        examples=["2029-06-01"],
    )


class FeedbackResponse(_Out):
    id: str = Field(description="The item's id.", examples=["fb-2029-000123"])
    reviewer: str = Field(
        description="Who reviewed it, as stored (trimmed, casefolded).",
        examples=["bawaslu-garut-rina"],
    )
    label: str = Field(description="The label stored.", examples=["supportive"])
    status: Literal["created", "updated", "unchanged"] = Field(
        description="`created` (201), or for a repeat: `updated` or `unchanged` (200).",
        examples=["created"],
    )


class AdjudicationRequest(_In):
    """An administrator's final label for an item, whatever its reviewers said."""

    label: StoredName = Field(
        max_length=64,
        description="The label the item is exported with (one of the model's labels).",
        examples=["supportive"],
    )
    note: StoredName = Field(
        max_length=2_000,
        description="Why: kept in the audit trail.",
        examples=["Rapat tim: ajakan memilih paslon 2, bukan berita."],
    )


class AdjudicationResponse(_Out):
    id: str = Field(description="The item's id.", examples=["fb-2029-000123"])
    label: str = Field(description="The adjudicated label stored.", examples=["supportive"])
    previous_label: str | None = Field(
        description="The label adjudicated before, if any.", examples=[None]
    )
    status: Literal["created", "updated", "unchanged"] = Field(
        description="`created` (201), or for a repeat: `updated` or `unchanged` (200).",
        examples=["created"],
    )


class AuditEntry(_Out):
    """One recorded change: rows are appended, never changed or deleted."""

    at: dt.datetime = Field(description="When.", examples=["2029-06-02T09:15:00Z"])
    key: str | None = Field(
        description="The API key that made the change (None: written before keys were "
        "recorded, or from the command line).",
        examples=["tim-garut"],
    )
    reviewer: str | None = Field(
        description="The reviewer the verdict is for (None for an adjudication).",
        examples=["rina"],
    )
    action: Literal["created", "updated", "adjudicated"] = Field(
        description="`created` or `updated` verdict, or `adjudicated`.", examples=["created"]
    )
    old_label: str | None = Field(description="The label before.", examples=[None])
    new_label: str = Field(description="The label after.", examples=["supportive"])
    note: str | None = Field(description="The note given with it.", examples=["jelas mendukung"])


class FeedbackAudit(_Out):
    id: str = Field(description="The item's id.", examples=["fb-2029-000123"])
    entries: list[AuditEntry] = Field(
        description="Every change to the item, oldest first.",
        examples=[
            [
                {
                    "at": "2029-06-02T09:15:00Z",
                    "key": "tim-garut",
                    "reviewer": "rina",
                    "action": "created",
                    "old_label": None,
                    "new_label": "supportive",
                    "note": "jelas mendukung",
                }
            ]
        ],
    )
