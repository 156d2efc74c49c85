"""Micro-batching: concurrent requests share model calls; a full queue is refused, not grown.

Many monitoring clients send a few posts at a time. Scoring each request alone pays the per-call
overhead of the model (vectoriser set-up, Python glue, a forward pass padded for one row) once per
request; gathering whatever has arrived into one call pays it once per batch. While the model is
busy, new requests queue up and form the next batch at once; when requests are concurrent, the
batcher also waits at most `max_wait_s` after a request arrives for batch-mates. It stops collecting
at `max_batch_size` items, so the added latency is bounded.

The queue holds at most `queue_size` requests. When it is full, `predict` raises `QueueFull` at once
(the service answers 503 with Retry-After): under overload a bounded queue keeps latency bounded and
memory flat, where an unbounded one would only grow until every request times out.

One worker thread runs the model, so the event loop never blocks and the model (not thread-safe for
every backend) sees one call at a time. `max_batch_size=1, max_wait_s=0` turns batching off: each
request is its own model call, through the same queue and backpressure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from netralitas.model.backend import Classifier

__all__ = ["BatchObserver", "MicroBatcher", "Prediction", "QueueFull"]

log = logging.getLogger("netralitas.serve")

# Called after each model call with (items in the batch, queue wait of each request, seconds).
BatchObserver = Callable[[int, list[float], float], None]


class QueueFull(RuntimeError):
    """The inference queue is full; the caller should retry later."""


@dataclass(frozen=True)
class Prediction:
    """What one request gets back from the model."""

    proba: np.ndarray  # (n, n_labels), columns in model.labels order
    truncated: np.ndarray  # (n,) bool
    queue_seconds: float
    inference_seconds: float


@dataclass
class _Job:
    texts: list[str]
    contexts: list[str | None]
    future: asyncio.Future[Prediction]
    enqueued: float


class MicroBatcher:
    """Gathers `predict` calls into model batches; start it inside the running event loop."""

    def __init__(
        self,
        model: Classifier,
        *,
        max_batch_size: int = 64,
        max_wait_s: float = 0.005,
        queue_size: int = 256,
        observer: BatchObserver | None = None,
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or queue_size < 1 or max_wait_s < 0:
            raise ValueError(
                "max_batch_size and queue_size must be >= 1 and max_wait_s >= 0; found "
                f"{max_batch_size}, {queue_size}, {max_wait_s}"
            )
        self.model = model
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.queue_size = queue_size
        self.observer = observer
        self.thread_setup = thread_setup  # run once in the model's worker thread
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._concurrent = False  # did the last batch gather more than one request?

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="netralitas-model", initializer=self.thread_setup
        )
        self._task = asyncio.create_task(self._loop(), name="netralitas-batcher")

    async def stop(self) -> None:
        """Stop collecting; requests still queued fail with QueueFull (the server is going away)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(QueueFull("the service is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def depth(self) -> int:
        """Requests waiting for the model."""
        return self._queue.qsize() if self._queue is not None else 0

    # -- requests --------------------------------------------------------------------------------
    async def predict(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> Prediction:
        """Probabilities and truncation flags for `texts`, computed in some shared batch."""
        if self._queue is None or self._task is None:
            raise RuntimeError("MicroBatcher.predict called before start()")
        texts = list(texts)
        contexts = list(contexts) if contexts is not None else [None] * len(texts)
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Job(texts, contexts, future, time.perf_counter()))
        except asyncio.QueueFull:
            raise QueueFull(
                f"{self.queue_size} requests are already waiting for the model"
            ) from None
        return await future

    # -- the worker ------------------------------------------------------------------------------
    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._collect(self._queue)
            batch = [job for job in batch if not job.future.done()]  # callers that gave up
            if batch:
                try:
                    await self._run(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:  # never let one bad batch stop the worker
                    log.exception("batch of %d requests failed", len(batch))

    async def _collect(self, queue: asyncio.Queue[_Job]) -> list[_Job]:
        """The next batch: the oldest request, then whatever arrives before its wait runs out.

        The wait is spent only while requests are evidently concurrent (the last batch held more
        than one): a lone client would only be made slower by waiting for batch-mates that never
        come, and under load batches fill while the model is busy anyway.
        """
        first = await queue.get()
        batch, size = [first], len(first.texts)
        deadline = first.enqueued + (self.max_wait_s if self._concurrent else 0.0)
        while size < self.max_batch_size:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            batch.append(job)
            size += len(job.texts)
        self._concurrent = len(batch) > 1
        return batch

    def _infer(
        self, texts: list[str], contexts: list[str | None]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        start = time.perf_counter()
        proba = self.model.predict_proba(texts, contexts)
        truncated = np.asarray(self.model.truncated(texts, contexts), dtype=bool)
        return proba, truncated, time.perf_counter() - start

    async def _run(self, batch: list[_Job]) -> None:
        """Score a batch; if it fails, score its requests one by one so one bad input fails alone."""
        try:
            await self._run_once(batch)
            return
        except Exception as exc:
            if len(batch) == 1:
                log.error("model call failed: %s: %s", type(exc).__name__, exc)
                _fail(batch[0], exc)
                return
        for job in batch:
            try:
                await self._run_once([job])
            except Exception as exc:
                log.error("model call failed: %s: %s", type(exc).__name__, exc)
                _fail(job, exc)

    async def _run_once(self, batch: list[_Job]) -> None:
        started = time.perf_counter()
        texts = [t for job in batch for t in job.texts]
        contexts = [c for job in batch for c in job.contexts]
        proba, truncated, seconds = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._infer, texts, contexts
        )
        waits = [started - job.enqueued for job in batch]
        offset = 0
        for job, wait in zip(batch, waits, strict=True):
            end = offset + len(job.texts)
            if not job.future.done():
                job.future.set_result(
                    Prediction(proba[offset:end], truncated[offset:end], wait, seconds)
                )
            offset = end
        if self.observer is not None:
            self.observer(len(texts), waits, seconds)


def _fail(job: _Job, exc: Exception) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
