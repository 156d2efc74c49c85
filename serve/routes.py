"""The HTTP endpoints: score, feedback, model, metrics, health."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.exc import OperationalError

from netralitas.serve.auth import ApiKey
from netralitas.serve.batcher import QueueFull
from netralitas.serve.deps import Ready, ServiceState, get_service, require
from netralitas.serve.errors import ApiError, ErrorResponse
from netralitas.serve.feedback import FeedbackConflict, FeedbackEntry
from netralitas.serve.limits import check_score_limits, check_text_length
from netralitas.serve.metrics import CONTENT_TYPE
from netralitas.serve.schemas import (
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
from netralitas.serve.scoring import score_request

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
        503: "The inference queue is full or the model is loading: retry after Retry-After s.",
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
    responses=_errors(401, 403, 413, 422, 503),
)
async def score(body: ScoreRequest, service: Ready, key: ScoreKey, request: Request) -> Any:
    """Probabilities, the decision (`flag` / `review` / `clear`) and, with `explain`, the words
    behind each decision, for every item in input order."""
    settings = service.settings
    try:
        check_score_limits(
            body, settings.max_items, settings.max_text_chars, settings.explain_max_items
        )
    except ApiError as exc:
        raise _counted(service, exc) from None
    try:
        results = await score_request(service, body)
    except QueueFull as exc:
        raise _counted(
            service,
            ApiError(
                503,
                "queue_full",
                f"the service is at capacity ({exc}); retry after {settings.retry_after_s} s",
                headers={"Retry-After": str(settings.retry_after_s)},
            ),
        ) from None
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
    verdict on the same item is repeated (`unchanged`) or corrected (`updated`)."""
    labels = service.model.labels
    if body.label not in labels:
        raise _counted(
            service,
            ApiError(
                422,
                "unknown_label",
                f"label {body.label!r} is not one of the model's labels {list(labels)}",
                field="label",
            ),
        )
    try:
        check_text_length(body.text, "text", service.settings.max_text_chars)
        check_text_length(body.context, "context", service.settings.max_text_chars)
    except ApiError as exc:
        raise _counted(service, exc) from None
    entry = FeedbackEntry(
        item_id=body.id,
        reviewer=body.reviewer,
        text=body.text,
        label=body.label,
        context=body.context,
        note=body.note,
        model_version=body.model_version,
    )
    try:
        status = await asyncio.to_thread(service.store.save, entry)
    except FeedbackConflict as exc:
        raise ApiError(409, "conflict", str(exc), id=body.id, field="text") from None
    except OperationalError as exc:
        log.error("feedback store unavailable: %s", type(exc).__name__)
        raise ApiError(
            503,
            "store_unavailable",
            "the feedback database is unavailable; nothing was stored; retry later",
            headers={"Retry-After": str(service.settings.retry_after_s)},
        ) from None
    if status != "created":
        response.status_code = 200
    return FeedbackResponse(id=body.id, reviewer=body.reviewer, label=body.label, status=status)


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
