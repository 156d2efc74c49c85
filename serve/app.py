"""The app factory: `create_app(settings=None, model=None)`.

The model is loaded once, in the lifespan (not at import, not per request); `model=` hands in one
already loaded (tests, notebooks). Settings default to `get_settings()`, read from `NETRALITAS_*`
environment variables when the app is created.

    uvicorn --factory netralitas.serve.app:create_app   # or: netralitas serve MODEL_DIR
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from netralitas.model.backend import Classifier
from netralitas.model.scorer import Scorer
from netralitas.serve.auth import KeyRing
from netralitas.serve.batcher import MicroBatcher
from netralitas.serve.deps import ServiceState
from netralitas.serve.errors import install_error_handlers
from netralitas.serve.feedback import FeedbackStore
from netralitas.serve.limits import BodyLimitMiddleware
from netralitas.serve.metrics import Metrics, ObservabilityMiddleware
from netralitas.serve.routes import router
from netralitas.serve.schemas import ProfileInfo
from netralitas.serve.settings import ServeSettings, get_settings

__all__ = ["create_app"]

log = logging.getLogger("netralitas.serve")

DESCRIPTION = """
Scores Indonesian social-media posts by civil servants (ASN) as taking a side in an election or
not. A flag is a reason for a person to look, never a verdict: reviewers confirm or correct flags
through `/v1/feedback`, and the confirmed cases are exported for retraining.

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`; keys carry the scopes
`score`, `feedback` and `admin`.
"""


def _load_scorer(settings: ServeSettings) -> Scorer:
    if settings.model_dir is None:
        raise ValueError(
            "no model to serve: pass MODEL_DIR to `netralitas serve` or set NETRALITAS_MODEL_DIR "
            "to a directory written by `netralitas train`"
        )
    scorer = Scorer.from_pretrained(
        settings.model_dir,
        settings.profiles,
        inference=settings.inference,
        top_k=settings.explain_top_k,
        max_spans=settings.explain_max_spans,
    )
    if scorer.describe():
        log.info("%s", scorer.describe())
    return scorer


def _thread_setup(settings: ServeSettings) -> Callable[[], None] | None:
    """What the model's worker thread runs first: the torch thread count, if one is set.

    On a CPU shared with other work, torch's intra-op threads wait for each other at every
    operation (measured on 2 busy cores, one BERT-base item: ~90 ms with 1 thread, ~1 s with 2).
    OpenMP keeps the count per calling thread, so it is set in the thread that runs the model.
    """
    threads = settings.torch_threads
    if threads is None:
        return None

    def setup() -> None:
        if "torch" in sys.modules:  # never import torch for the TF-IDF backend
            sys.modules["torch"].set_num_threads(threads)

    return setup


def _profile_info(model: Classifier) -> list[ProfileInfo]:
    return [ProfileInfo(id=p.id, title=p.title) for p in model.profiles]


def _batcher(model: Classifier, state: ServiceState) -> MicroBatcher:
    s = state.settings
    return MicroBatcher(
        model,
        max_batch_size=s.max_batch_size if s.batching else 1,
        max_wait_s=s.max_wait_ms / 1000 if s.batching else 0.0,
        queue_size=s.queue_size,
        observer=state.metrics.observe_batch,
        thread_setup=_thread_setup(s),
    )


def _openapi_with_labels(app: FastAPI, state: ServiceState) -> Callable[[], dict[str, Any]]:
    """The OpenAPI schema, with the loaded model's labels as the allowed feedback labels."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        if state.model is None:
            return schema  # not cached: the labels are known once the model is loaded
        label = schema["components"]["schemas"]["FeedbackRequest"]["properties"]["label"]
        label["enum"] = list(state.model.labels)
        app.openapi_schema = schema
        return schema

    return openapi


def create_app(settings: ServeSettings | None = None, model: Classifier | None = None) -> FastAPI:
    """A new scoring app; its lifespan loads the model (unless given) and opens the stores."""
    settings = settings if settings is not None else get_settings()
    state = ServiceState(settings, KeyRing.from_entries(settings.key_entries()), Metrics())
    if not state.keys.keys:
        log.warning("no API keys configured: every endpoint but /healthz and /readyz answers 401")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if model is not None:
            scorer = Scorer(
                model, top_k=settings.explain_top_k, max_spans=settings.explain_max_spans
            )
        else:
            scorer = await asyncio.to_thread(_load_scorer, settings)
        loaded = scorer.model
        store = FeedbackStore(settings.feedback_url())
        await asyncio.to_thread(store.create)
        batcher = _batcher(loaded, state)
        await batcher.start()
        state.scorer, state.batcher, state.store = scorer, batcher, store
        state.profiles = _profile_info(loaded)
        state.metrics.set_model(loaded.metadata_)
        meta = loaded.metadata_
        log.info("serving %s %s (%s, labels %s)", meta.name, meta.version, meta.kind, meta.labels)
        try:
            yield
        finally:
            state.scorer = state.batcher = state.store = None
            await batcher.stop()
            store.close()

    app = FastAPI(
        title="netralitas scoring API",
        version=package_version("netralitas"),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = state
    app.openapi = _openapi_with_labels(app, state)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(router)
    # Added last = outermost: the observability middleware also sees the 413s of the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware, metrics=state.metrics)
    return app
