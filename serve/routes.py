"""The HTTP endpoints: score, feedback, model, metrics, health."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from sqlalchemy.exc import OperationalError

from netralitas.serve.admission import OverBudget, RateLimited
from netralitas.serve.auth import ApiKey
from netralitas.serve.batcher import QueueFull
from netralitas.serve.deps import Ready, ServiceState, get_service, require
from netralitas.serve.errors import ApiError, ErrorResponse, RateLimitExceeded
from netralitas.serve.feedback import (
    FeedbackConflict,
    FeedbackEntry,
    FeedbackNotFound,
    normalize_reviewer,
)
from netralitas.serve.limits import (
    check_request_cost,
    check_score_limits,
    check_text_length,
    request_cost,
    request_deadline,
)
from netralitas.serve.metrics import CONTENT_TYPE
from netralitas.serve.schemas import (
    AdjudicationRequest,
    AdjudicationResponse,
    AuditEntry,
    FeedbackAudit,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    Limits,
    ModelDetails,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    ThresholdInfo,
)
from netralitas.serve.scoring import score_within

__all__ = ["router"]

log = logging.getLogger("netralitas.serve")
router = APIRouter()


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "No API key, or an unknown one.",
        403: "The key does not have the scope this endpoint needs.",
        409: "The same (id, reviewer) was stored with another text.",
        413: "The body or the number of items is over the limit.",
        422: "Invalid request: the error names the item, the field and the limit.",
        429: "The key's requests or items per minute are used up: retry after Retry-After s.",
        503: "The inference queue is full or the model is loading: retry after Retry-After s.",
        504: "The request's deadline passed before it was scored; its remaining work was dropped.",
    }
    return {code: {"model": ErrorResponse, "description": text[code]} for code in codes}


ScoreKey = Annotated[ApiKey, Depends(require("score"))]
FeedbackKey = Annotated[ApiKey, Depends(require("feedback"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
AnyKey = Annotated[ApiKey, Depends(require(None))]


def _counted(service: Ready, error: ApiError) -> ApiError:
    service.metrics.rejected.labels(error.detail.code).inc()
    return error


@router.post(
    "/v1/score",
    response_model=ScoreResponse,
    tags=["scoring"],
    summary="Score posts and comments",
    responses=_errors(401, 403, 413, 422, 429, 503, 504),
)
async def score(
    body: ScoreRequest,
    service: Ready,
    key: ScoreKey,
    request: Request,
    response: Response,
) -> Any:
    """Probabilities, the decision (`flag` / `review` / `clear`) and, with `explain`, the words
    behind each decision, for every item in input order.

    Admission: the request is charged its estimated work (413 over the per-request limit, 503 while
    the service is full) and one request plus its items against the key's per-minute quotas (429;
    `RateLimit-*` headers on every answer say what is left). It answers 504 if not scored within
    its deadline (the service's, or a shorter one in seconds in an `X-Request-Timeout` header)."""
    settings = service.settings
    try:
        seconds = request_deadline(request.headers.get("x-request-timeout"), settings)
        check_score_limits(
            body, settings.max_items, settings.max_text_chars, settings.explain_max_items
        )
        cost = request_cost(body, settings.explain_max_spans)
        check_request_cost(cost, settings.max_request_tokens, settings.explain_max_words)
    except ApiError as exc:
        raise _counted(service, exc) from None
    try:
        quota = await service.limiter.acharge(key.name, len(body.items))
    except RateLimited as exc:
        raise _counted(
            service, RateLimitExceeded(str(exc), exc.retry_after_s, exc.quota.headers())
        ) from None
    quota_headers = quota.headers() if quota is not None else {}
    response.headers.update(quota_headers)
    try:
        with service.budget.admit(cost.tokens):
            results = await score_within(service, body, request, seconds)
    except (QueueFull, OverBudget) as exc:
        raise _counted(
            service,
            ApiError(
                503,
                "queue_full" if isinstance(exc, QueueFull) else "over_capacity",
                f"the service is at capacity ({exc}); retry after {settings.retry_after_s} s",
                headers={"Retry-After": str(settings.retry_after_s)} | quota_headers,
            ),
        ) from None
    except ApiError as exc:  # 504 deadline, 499 client gone: the quota was spent all the same
        exc.headers = {**quota_headers, **(exc.headers or {})}
        raise _counted(service, exc) from None
    if settings.log_text:
        for item, result in zip(body.items, results, strict=True):
            log.info("scored %s %s %.3f %r", result.id, result.decision, result.score, item.text)
    meta = service.model.metadata_
    return ScoreResponse(
        model=ModelInfo(
            name=meta.name,
            version=meta.version,
            labels=list(meta.labels),
            threshold=ThresholdInfo(
                flag=meta.thresholds.flag,
                review=meta.thresholds.review,
                precision_target=meta.thresholds.precision_target,
            ),
        ),
        request_id=request.state.request_id,
        results=results,
    )


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    tags=["feedback"],
    summary="Record a reviewer's verdict",
    responses={200: {"model": FeedbackResponse, "description": "A repeat of a stored verdict."}}
    | _errors(401, 403, 409, 413, 422, 503),
)
async def feedback(
    body: FeedbackRequest, service: Ready, key: FeedbackKey, response: Response
) -> Any:
    """Stored (and synced to disk) before the answer: 201 when new; 200 when the same reviewer's
    verdict on the same item is repeated (`unchanged`) or corrected (`updated`). The reviewer is
    the key's name unless the key may act for the one named (its `acts_for` list, or `admin`)."""
    reviewer = _reviewer_for(key, body.reviewer)
    _check_label(service, body.label)
    try:
        check_text_length(body.text, "text", service.settings.max_text_chars)
        check_text_length(body.context, "context", service.settings.max_text_chars)
    except ApiError as exc:
        raise _counted(service, exc) from None
    entry = FeedbackEntry(
        item_id=body.id,
        reviewer=reviewer,
        text=body.text,
        label=body.label,
        context=body.context,
        note=body.note,
        model_version=body.model_version,
        key_name=key.name,
    )
    try:
        status = await asyncio.to_thread(service.store.save, entry)
    except FeedbackConflict as exc:
        raise ApiError(409, "conflict", str(exc), id=body.id, field="text") from None
    except OperationalError as exc:
        raise _store_unavailable(service, exc) from None
    if status != "created":
        response.status_code = 200
    return FeedbackResponse(id=body.id, reviewer=reviewer, label=body.label, status=status)


def _reviewer_for(key: ApiKey, reviewer: str | None) -> str:
    """The normalised reviewer a verdict is stored for; 403 when the key may not act for it."""
    own = normalize_reviewer(key.name)
    if reviewer is None:
        return own
    name = normalize_reviewer(reviewer)
    if name == own or name in key.acts_for or "admin" in key.scopes:
        return name
    allowed = sorted({own, *key.acts_for})
    raise ApiError(
        403,
        "reviewer_not_allowed",
        f"the key {key.name!r} records verdicts for {allowed}; found reviewer {reviewer!r}; "
        "leave `reviewer` out to use the key's name, or ask an administrator to add the name "
        "to the key's entry (name:scopes:sha256hex:reviewer1,reviewer2)",
        field="reviewer",
    )


def _check_label(service: Ready, label: str) -> None:
    labels = service.model.labels
    if label not in labels:
        raise _counted(
            service,
            ApiError(
                422,
                "unknown_label",
                f"label {label!r} is not one of the model's labels {list(labels)}",
                field="label",
            ),
        )


def _store_unavailable(service: Ready, exc: Exception) -> ApiError:
    log.error("feedback store unavailable: %s", type(exc).__name__)
    return ApiError(
        503,
        "store_unavailable",
        "the feedback database is unavailable; nothing was stored; retry later",
        headers={"Retry-After": str(service.settings.retry_after_s)},
    )


ItemId = Annotated[str, PathParam(min_length=1, max_length=200, description="The item's id.")]
_NOT_REVIEWED = {404: {"model": ErrorResponse, "description": "No verdict for this item id."}}


@router.post(
    "/v1/feedback/{item_id:path}/adjudicate",
    response_model=AdjudicationResponse,
    status_code=201,
    tags=["feedback"],
    summary="Settle an item's label (admin)",
    responses={200: {"model": AdjudicationResponse, "description": "A repeat or a change."}}
    | _errors(401, 403, 413, 422, 503)
    | _NOT_REVIEWED,
)
async def adjudicate(
    item_id: ItemId, body: AdjudicationRequest, service: Ready, key: AdminKey, response: Response
) -> Any:
    """The label the export uses for this item, whatever its reviewers said (a dispute is
    settled); recorded with the key and the note in the item's audit trail. 201 the first time,
    200 when repeated (`unchanged`) or changed (`updated`)."""
    _check_label(service, body.label)
    try:
        status, previous = await asyncio.to_thread(
            service.store.adjudicate, item_id, body.label, body.note, key.name
        )
    except FeedbackNotFound as exc:
        raise ApiError(404, "not_found", str(exc), id=item_id) from None
    except OperationalError as exc:
        raise _store_unavailable(service, exc) from None
    if status != "created":
        response.status_code = 200
    return AdjudicationResponse(
        id=item_id, label=body.label, previous_label=previous, status=status
    )


@router.get(
    "/v1/feedback/{item_id:path}/audit",
    response_model=FeedbackAudit,
    tags=["feedback"],
    summary="Every change to an item's verdicts",
    responses=_errors(401, 403, 422, 503) | _NOT_REVIEWED,
)
async def feedback_audit(item_id: ItemId, service: Ready, key: AnyKey) -> Any:
    """Who (key and reviewer) set which label when, with the note, oldest first; adjudications
    included. Needs the `feedback` or the `admin` scope."""
    if not key.scopes & {"feedback", "admin"}:
        raise ApiError(
            403,
            "missing_scope",
            f"the key {key.name!r} has scopes {sorted(key.scopes)}; this endpoint needs "
            "'feedback' or 'admin'; ask an administrator for a key with one of them",
        )
    try:
        rows = await asyncio.to_thread(service.store.audit, item_id)
        if not rows and not await asyncio.to_thread(service.store.reviewed, item_id):
            raise ApiError(
                404,
                "not_found",
                f"no verdict is stored for item {item_id!r}; check the id",
                id=item_id,
            )
    except OperationalError as exc:
        raise _store_unavailable(service, exc) from None
    entries = [
        AuditEntry(
            at=row["at"],
            key=row["key_name"],
            reviewer=row["reviewer"],
            action=row["action"],
            old_label=row["old_label"],
            new_label=row["new_label"],
            note=row["note"],
        )
        for row in rows
    ]
    return FeedbackAudit(id=item_id, entries=entries)


@router.get(
    "/v1/model",
    response_model=ModelDetails,
    tags=["model"],
    summary="The model being served",
    responses=_errors(401, 503),
)
async def model_details(service: Ready, key: AnyKey) -> Any:
    meta = service.model.metadata_
    settings = service.settings
    return ModelDetails(
        name=meta.name,
        version=meta.version,
        kind=meta.kind,
        labels=list(meta.labels),
        neutral_label=meta.neutral_label,
        thresholds=meta.thresholds.model_dump(),
        profiles=service.profiles,
        trained_profiles=list(meta.profiles),
        metrics=meta.metrics,
        created_at=meta.created_at,
        limits=Limits(
            max_items=settings.max_items,
            explain_max_items=settings.explain_max_items,
            max_text_chars=settings.max_text_chars,
            max_body_bytes=settings.max_body_bytes,
            max_request_tokens=settings.max_request_tokens,
            max_inflight_tokens=settings.max_inflight_tokens,
            explain_max_words=settings.explain_max_words,
            request_timeout_s=settings.request_timeout_s,
            requests_per_minute=settings.rate_requests_per_minute,
            items_per_minute=settings.rate_items_per_minute,
            quota_scope="shared" if service.limiter.shared else "process",
            workers=settings.workers,
        ),
    )


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}} | _errors(401, 403),
)
async def metrics(
    service: Annotated[ServiceState, Depends(get_service)], key: AdminKey
) -> Response:
    if service.batcher is not None:
        service.metrics.queue_depth.set(service.batcher.depth())
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/healthz", response_model=HealthResponse, tags=["operations"], summary="Alive")
async def healthz() -> Any:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=HealthResponse,
    tags=["operations"],
    summary="Model loaded and ready",
    responses={503: {"model": HealthResponse, "description": "Still loading."}},
)
async def readyz(service: Annotated[ServiceState, Depends(get_service)], response: Response) -> Any:
    if not service.ready:
        response.status_code = 503
        return HealthResponse(status="loading")
    return HealthResponse(status="ok")
