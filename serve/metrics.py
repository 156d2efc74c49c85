"""Prometheus metrics, and the ASGI middleware that records every request (never its text).

Each app gets its own registry, so several apps (tests) never share counters and nothing global is
touched at import. Under several worker processes (`netralitas serve --workers N`, which sets
PROMETHEUS_MULTIPROC_DIR before the workers start) prometheus_client writes every value to files in
that directory, and `/metrics` sums them over the workers, whichever worker answers the scrape. Latency is split into the time a request waits for the model (queue) and the
time of the model call it was part of (inference); batch sizes show how much batching happens.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netralitas.model.artifact import ArtifactMetadata
from netralitas.serve.guards import KNOWN_METHODS

__all__ = ["CONTENT_TYPE", "Metrics", "ObservabilityMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("netralitas.serve")

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ITEMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class Metrics:
    """The service's metrics in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "netralitas_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "netralitas_http_request_seconds",
            "Request latency, end to end",
            ["route"],
            buckets=_SECONDS,
            registry=r,
        )
        self.queue_seconds = Histogram(
            "netralitas_queue_wait_seconds",
            "Time a request waited for its model batch",
            buckets=_SECONDS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "netralitas_inference_seconds",
            "Duration of one model call (one batch)",
            ["model_version"],
            buckets=_SECONDS,
            registry=r,
        )
        self.batch_items = Histogram(
            "netralitas_batch_size_items", "Items per model call", buckets=_ITEMS, registry=r
        )
        self.items = Counter(
            "netralitas_items_scored",
            "Items scored, by decision",
            ["decision", "model_version"],
            registry=r,
        )
        self.rejected = Counter(
            "netralitas_rejected_requests",
            "Requests refused by a limit or by backpressure",
            ["reason"],
            registry=r,
        )
        self.model_info = Gauge(
            "netralitas_model_info",
            "The model being served (value 1)",
            ["name", "version", "kind"],
            registry=r,
            multiprocess_mode="max",  # every worker serves the same model: one series, not N
        )
        self.queue_depth = Gauge(
            "netralitas_queue_depth",
            "Requests waiting for the model",
            registry=r,
            # Summed over the live workers, each as of its last /metrics answer.
            multiprocess_mode="livesum",
        )
        self.model_version = ""

    def set_model(self, metadata: ArtifactMetadata) -> None:
        self.model_version = metadata.version
        self.model_info.labels(metadata.name, metadata.version, metadata.kind).set(1)

    def observe_batch(self, items: int, queue_waits: Sequence[float], seconds: float) -> None:
        """The batcher's observer: one call per model batch."""
        self.batch_items.observe(items)
        self.inference_seconds.labels(self.model_version).observe(seconds)
        for wait in queue_waits:
            self.queue_seconds.observe(wait)

    def count_decisions(self, decisions: Sequence[str]) -> None:
        for decision in set(decisions):
            self.items.labels(decision, self.model_version).inc(decisions.count(decision))

    def render(self) -> bytes:
        """The text exposition: this registry's values, or every worker's in multiprocess mode."""
        directory = _multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)

    def close(self) -> None:
        """On a worker's exit: drop its live gauges from the sums (multiprocess mode only)."""
        directory = _multiprocess_dir()
        if directory is not None:
            mark_process_dead(os.getpid(), directory)


def _multiprocess_dir() -> str | None:
    # The variable prometheus_client itself reads (once, when its values module is imported).
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _method_label(scope: Scope) -> str:
    # Label values come from fixed sets only, whatever a client sends: each new value is a series
    # kept for the life of the process, so a client could grow /metrics (and the scraper's
    # memory) without bound. serve/guards.py answers unknown methods with 501 before routing.
    method = scope["method"]
    return method if method in KNOWN_METHODS else "other"


def _route_label(scope: Scope) -> str:
    # The route template ("/v1/score"), never the raw path: a fuzzer's random paths must not
    # create unbounded label values.
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return path
    app = scope.get("app")
    known = {getattr(r, "path", None) for r in getattr(app, "routes", ())}
    return scope["path"] if scope["path"] in known else "unmatched"


class ObservabilityMiddleware:
    """Gives each request an id (X-Request-ID), counts and times it, logs one line without text."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route, method = _route_label(scope), _method_label(scope)
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            log.info(
                "%s %s %d %.1fms request_id=%s",
                method,
                route,
                status,
                seconds * 1000,
                request_id,
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex
