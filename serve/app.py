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
import signal
import sys
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.trustedhost import TrustedHostMiddleware

from netralitas.model.backend import Classifier
from netralitas.model.scorer import Scorer
from netralitas.serve.auth import KeyFileRing, KeyRing
from netralitas.serve.batcher import MicroBatcher
from netralitas.serve.deps import ServiceState
from netralitas.serve.docs import add_offline_docs, swagger_assets
from netralitas.serve.errors import install_error_handlers
from netralitas.serve.feedback import FeedbackStore
from netralitas.serve.guards import BodyTimeoutMiddleware, MethodFilterMiddleware
from netralitas.serve.limits import BodyLimitMiddleware
from netralitas.serve.metrics import Metrics, ObservabilityMiddleware
from netralitas.serve.pages import add_pages
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
        max_batch_chars=s.max_batch_chars,  # issue 15: long work is split into bounded chunks
        max_chunk_s=s.max_chunk_ms / 1000,
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


# The warm-up batch (MicroBatcher.warm_up): posts of ordinary length, enough characters in all to
# time the model's speed (serve/batcher.py times chunks of 2,000 characters or more).
WARM_UP = [
    f"Warga RT {i} diundang kerja bakti hari Minggu pagi membersihkan saluran air dan jalan desa. "
    "Setelah itu ada rapat persiapan peringatan hari kemerdekaan di balai desa bersama perangkat "
    "desa, karang taruna, dan ibu-ibu PKK. Mohon hadir tepat waktu dan membawa peralatan sendiri."
    for i in range(16)
]


async def _open(state: ServiceState, scorer: Scorer, warm: bool = True) -> None:
    """Open the feedback store and the batcher around a loaded model (with `warm`, warmed by one
    model call); ready once all three are set."""
    settings, loaded = state.settings, scorer.model
    store = FeedbackStore(settings.feedback_url())
    await asyncio.to_thread(store.create)
    state.store = store
    batcher = _batcher(loaded, state)
    await batcher.start()
    if warm:
        await batcher.warm_up(WARM_UP)
    state.batcher = batcher
    state.profiles = _profile_info(loaded)
    state.metrics.set_model(loaded.metadata_)
    state.scorer = scorer  # last: `ready` turns true here
    meta = loaded.metadata_
    log.info("serving %s %s (%s, labels %s)", meta.name, meta.version, meta.kind, meta.labels)


async def _load_and_open(app: FastAPI) -> None:
    """The start-up task: load the model in a thread, then open; a failure stops the server.

    Loading a transformer takes seconds; doing it here rather than before the server starts lets
    the port open at once (`/healthz` 200, `/readyz` 503, scoring 503 with Retry-After).
    """
    state: ServiceState = app.state.service
    try:
        scorer = await asyncio.to_thread(_load_scorer, state.settings)
        await _open(state, scorer)
    except asyncio.CancelledError:
        raise
    except Exception:
        # Never answer 503 forever: the server stops (`netralitas serve` then exits 1, so that a
        # supervisor restarts it); under another runner, through its SIGTERM handling.
        log.exception("the model could not be loaded; stopping the server")
        app.state.load_failed = True
        stop = getattr(app.state, "stop_server", None)
        if stop is not None:
            stop()
        else:
            signal.raise_signal(signal.SIGTERM)


async def _close(state: ServiceState) -> None:
    batcher, store = state.batcher, state.store
    state.scorer = state.batcher = state.store = None
    if batcher is not None:
        await batcher.stop()
    if store is not None:
        store.close()


def _key_ring(settings: ServeSettings) -> KeyRing:
    if settings.api_keys_file is None:
        return KeyRing.from_entries(settings.inline_key_entries())
    return KeyFileRing(settings.inline_key_entries(), settings.api_keys_file)


def _on_sighup(keys: KeyRing) -> Callable[[], None]:
    """Re-read the keys file on SIGHUP (where the loop can take signals); returns the undo."""
    if not isinstance(keys, KeyFileRing) or not hasattr(signal, "SIGHUP"):
        return lambda: None
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, keys.reload)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (TestClient)
        return lambda: None
    return lambda: loop.remove_signal_handler(signal.SIGHUP)


def create_app(
    settings: ServeSettings | None = None,
    model: Classifier | None = None,
    *,
    load_in_background: bool = False,
) -> FastAPI:
    """A new scoring app; its lifespan loads the model (unless given) and opens the stores.

    A model the app loads is warmed by one model call before the app is ready (the batcher
    learns its speed, see serve/batcher.py); a `model` handed in (tests hand in fakes) is not.

    The app is ready when its lifespan has started, unless `load_in_background` (what
    `netralitas serve` asks for): then the port opens at once and the model is loaded in a
    thread, with `/readyz` and the scoring endpoints answering 503 until it is in memory.
    """
    settings = settings if settings is not None else get_settings()
    state = ServiceState(settings, _key_ring(settings), Metrics())
    if not state.keys.keys:
        log.warning("no API keys configured: every endpoint but /healthz and /readyz answers 401")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = None
        if model is not None:
            scorer = Scorer(
                model, top_k=settings.explain_top_k, max_spans=settings.explain_max_spans
            )
            await _open(state, scorer, warm=False)  # a model handed in is used as it is
        elif load_in_background:
            loading = asyncio.create_task(_load_and_open(app), name="netralitas-model-load")
        else:
            await _open(state, await asyncio.to_thread(_load_scorer, settings))
        reload_keys = _on_sighup(state.keys)
        try:
            yield
        finally:
            reload_keys()
            if loading is not None:
                loading.cancel()
                await asyncio.gather(loading, return_exceptions=True)
            await _close(state)
            state.metrics.close()

    assets = swagger_assets()
    app = FastAPI(
        title="netralitas scoring API",
        version=package_version("netralitas"),
        description=DESCRIPTION,
        lifespan=lifespan,
        # Offline: no page that loads its scripts from a CDN (ReDoc has no local copy).
        docs_url=None if assets else "/docs",
        redoc_url=None,
    )
    if assets is not None:
        add_offline_docs(app, assets)
    app.state.service = state
    app.openapi = _openapi_with_labels(app, state)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(router)
    add_pages(app)  # /review, /cek, /pedoman and their assets (issue 17)
    # Added last = outermost: the observability middleware also sees the 413s of the body limit,
    # the 408s of the body timeout (which wraps the body limit's reading) and the 501s.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.body_timeout_s)
    if settings.trusted_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.trusted_hosts))
    app.add_middleware(MethodFilterMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=state.metrics)
    return app
