"""Micro-batching in bounded, fair chunks: concurrent requests share model calls, a long request
never holds the model for more than one chunk at a time, and a full queue is refused, not grown.

Many monitoring clients send a few posts at a time. Scoring each request alone pays the per-call
overhead of the model (vectoriser set-up, Python glue, a forward pass padded for one row) once per
request; gathering whatever has arrived into one call pays it once per batch. While the model is
busy, new requests queue up and form the next batch at once; when requests are concurrent, the
batcher also waits at most `max_wait_s` after a request arrives for batch-mates.

A model call (a chunk) holds at most `max_batch_size` items and, past its first item, at most
`max_batch_chars` characters, and no more characters than the model reads in about `max_chunk_s`
at the speed measured on the recent chunks of this server (characters are what the batcher can
count before the call; how long they take depends on the model, its inference path and the
machine, so it is learned, not configured). A request with more work (an explanation of 32 long posts is
thousands of occluded variants) is split across chunks, and the requests waiting take turns
between chunks (round robin): a one-item request sent beside a long one waits for at most the
chunk that is running and shares the next one, instead of waiting for the whole long request.

Work whose caller has gone (a deadline passed, the client disconnected: the awaiting coroutine was
cancelled, which cancels its future) is dropped before its next chunk reaches the model.

The queue holds at most `queue_size` requests. When it is full, `predict` raises `QueueFull` at once
(the service answers 503 with Retry-After): under overload a bounded queue keeps latency bounded and
memory flat, where an unbounded one would only grow until every request times out.

One worker thread runs the model, so the event loop never blocks and the model (not thread-safe for
every backend) sees one call at a time. `max_batch_size=1, max_wait_s=0` turns batching off: each
item is its own model call, through the same queue and backpressure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from netralitas.model.backend import Classifier

__all__ = ["BatchObserver", "MicroBatcher", "Prediction", "QueueFull"]

log = logging.getLogger("netralitas.serve")

# Chunks of fewer characters are not timed: the model call's fixed cost would dominate.
_TIMED_CHARS = 2_000

# Called after each model call with (items in the batch, queue wait of each request, seconds).
BatchObserver = Callable[[int, list[float], float], None]


class QueueFull(RuntimeError):
    """The inference queue is full; the caller should retry later."""


@dataclass(frozen=True)
class Prediction:
    """What one request gets back from the model."""

    proba: np.ndarray  # (n, n_labels), columns in model.labels order
    truncated: np.ndarray  # (n,) bool
    queue_seconds: float  # from arrival to the start of its first chunk
    inference_seconds: float  # the model calls it took part in, summed


@dataclass
class _Job:
    texts: list[str]
    contexts: list[str | None]
    future: asyncio.Future[Prediction]
    enqueued: float
    done: int = 0  # items already scored (or in the chunk being scored)
    started: float | None = None
    seconds: float = 0.0
    proba: list[np.ndarray] = field(default_factory=list)
    truncated: list[np.ndarray] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return len(self.texts) - self.done


@dataclass(frozen=True)
class _Slice:
    """Items [start, end) of one job, in one chunk."""

    job: _Job
    start: int
    end: int


class MicroBatcher:
    """Gathers `predict` calls into bounded model calls; start it inside the running event loop."""

    def __init__(
        self,
        model: Classifier,
        *,
        max_batch_size: int = 64,
        max_wait_s: float = 0.005,
        queue_size: int = 256,
        max_batch_chars: int | None = None,
        max_chunk_s: float | None = None,
        observer: BatchObserver | None = None,
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or queue_size < 1 or max_wait_s < 0:
            raise ValueError(
                "max_batch_size and queue_size must be >= 1 and max_wait_s >= 0; found "
                f"{max_batch_size}, {queue_size}, {max_wait_s}"
            )
        if max_batch_chars is not None and max_batch_chars < 1:
            raise ValueError(f"max_batch_chars must be >= 1 or None; found {max_batch_chars}")
        self.model = model
        self.max_batch_size = max_batch_size
        self.max_batch_chars = max_batch_chars
        self.max_chunk_s = max_chunk_s or None
        self._seconds_per_char: float | None = None  # measured on chunks of >= _TIMED_CHARS
        self.max_wait_s = max_wait_s
        self.queue_size = queue_size
        self.observer = observer
        self.thread_setup = thread_setup  # run once in the model's worker thread
        self._jobs: deque[_Job] = deque()  # requests with items left, in turn order
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._concurrent = False  # did the last chunk serve more than one request?

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
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
        while self._jobs:
            _fail(self._jobs.popleft(), QueueFull("the service is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def warm_up(self, texts: Sequence[str]) -> None:
        """One model call on `texts` before the first request: the model's lazy set-up (caches,
        allocator, kernels) is paid here, and the chunk's speed is measured, so that the first
        long request is already split into chunks of about `max_chunk_s` (before any chunk has
        been timed, a chunk is bounded by items and `max_batch_chars` only)."""
        await self.predict(texts)

    def depth(self) -> int:
        """Requests waiting for the model (a request split across chunks counts until its last)."""
        return len(self._jobs)

    # -- requests --------------------------------------------------------------------------------
    async def predict(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> Prediction:
        """Probabilities and truncation flags for `texts`, computed in shared, bounded chunks.

        Cancelling the awaiting coroutine (a deadline, a client gone) drops the items not yet
        sent to the model."""
        if self._wake is None or self._task is None:
            raise RuntimeError("MicroBatcher.predict called before start()")
        texts = list(texts)
        contexts = list(contexts) if contexts is not None else [None] * len(texts)
        if not texts:
            return Prediction(np.zeros((0, len(self.model.labels))), np.zeros(0, bool), 0.0, 0.0)
        self._drop_abandoned()
        if len(self._jobs) >= self.queue_size:
            raise QueueFull(f"{self.queue_size} requests are already waiting for the model")
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(texts, contexts, future, time.perf_counter()))
        self._wake.set()
        return await future

    # -- the worker ------------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            chunk = await self._next_chunk()
            if chunk:
                try:
                    await self._run(chunk)
                except asyncio.CancelledError:
                    raise
                except Exception:  # never let one bad chunk stop the worker
                    log.exception("chunk of %d requests failed", len(chunk))

    def _drop_abandoned(self) -> None:
        if any(job.future.done() for job in self._jobs):
            self._jobs = deque(job for job in self._jobs if not job.future.done())

    async def _next_chunk(self) -> list[_Slice]:
        """The next model call: items taken from the waiting requests in turn.

        The wait for batch-mates is spent only while requests are evidently concurrent (the last
        chunk served more than one): a lone client would only be made slower by waiting for
        batch-mates that never come, and under load chunks fill while the model is busy anyway.
        """
        assert self._wake is not None
        while True:
            self._drop_abandoned()
            if self._jobs:
                break
            self._wake.clear()
            await self._wake.wait()
        if self._concurrent and self.max_wait_s > 0:
            deadline = self._jobs[0].enqueued + self.max_wait_s
            while sum(job.remaining for job in self._jobs) < self.max_batch_size:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), remaining)
            self._drop_abandoned()
        chunk = self._take()
        self._concurrent = len(chunk) > 1
        return chunk

    def _take(self) -> list[_Slice]:
        """Slices of the waiting requests for one model call, and their turn order afterwards.

        Each request gets an equal share of the chunk first, then what is left goes to them in
        turn order; past the chunk's first item, a request's items stop where the next one would
        pass the character cap, and the requests after it still add what fits (a one-line
        request rides along beside a long one's item instead of waiting for the next chunk).
        Requests served go behind those that were not, so whoever missed this chunk is first in
        the next."""
        jobs = list(self._jobs)
        wanted = [0] * len(jobs)
        room = self.max_batch_size
        share = max(1, room // len(jobs))
        for cap in (share, room):
            for i, job in enumerate(jobs):
                extra = min(job.remaining, cap) - wanted[i]
                extra = max(0, min(extra, room))
                wanted[i] += extra
                room -= extra
        chunk: list[_Slice] = []
        chars = 0
        limit = self._chars_per_chunk()
        for job, n in zip(jobs, wanted, strict=True):
            start = end = job.done
            while end < start + n:
                length = len(job.texts[end]) + len(job.contexts[end] or "")
                capped = limit is not None and chars + length > limit
                if capped and (chunk or end > start):  # the first item goes, however long
                    break
                end, chars = end + 1, chars + length
            if end > start:
                chunk.append(_Slice(job, start, end))
                job.done = end
        served = {id(part.job) for part in chunk}
        self._jobs = deque(
            [job for job in jobs if id(job) not in served]
            + [job for job in jobs if id(job) in served and job.remaining]
        )
        return chunk

    def _chars_per_chunk(self) -> float | None:
        """The characters one chunk may hold: `max_batch_chars`, and what the model reads in
        `max_chunk_s` at its measured speed (None: no cap)."""
        limits = [self.max_batch_chars] if self.max_batch_chars is not None else []
        if self.max_chunk_s is not None and self._seconds_per_char:
            limits.append(self.max_chunk_s / self._seconds_per_char)
        return min(limits) if limits else None

    def _learn_speed(self, chars: int, seconds: float) -> None:
        """Update the seconds-per-character estimate from a chunk long enough that the call's
        fixed cost does not dominate (a moving average, so the estimate follows the load)."""
        if chars < _TIMED_CHARS:
            return
        measured = seconds / chars
        old = self._seconds_per_char
        self._seconds_per_char = measured if old is None else 0.7 * old + 0.3 * measured

    def _infer(
        self, texts: list[str], contexts: list[str | None]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        start = time.perf_counter()
        proba = self.model.predict_proba(texts, contexts)
        truncated = np.asarray(self.model.truncated(texts, contexts), dtype=bool)
        return proba, truncated, time.perf_counter() - start

    async def _run(self, chunk: list[_Slice]) -> None:
        """Score a chunk; if it fails, score its slices one by one so one bad input fails alone."""
        try:
            await self._run_once(chunk)
            return
        except Exception as exc:
            if len(chunk) == 1:
                log.error("model call failed: %s: %s", type(exc).__name__, exc)
                self._fail(chunk[0].job, exc)
                return
        for part in chunk:
            try:
                await self._run_once([part])
            except Exception as exc:
                log.error("model call failed: %s: %s", type(exc).__name__, exc)
                self._fail(part.job, exc)

    async def _run_once(self, chunk: list[_Slice]) -> None:
        started = time.perf_counter()
        texts = [t for p in chunk for t in p.job.texts[p.start : p.end]]
        contexts = [c for p in chunk for c in p.job.contexts[p.start : p.end]]
        proba, truncated, seconds = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._infer, texts, contexts
        )
        self._learn_speed(sum(map(len, texts)) + sum(len(c or "") for c in contexts), seconds)
        waits = []
        offset = 0
        for part in chunk:
            job, end = part.job, offset + part.end - part.start
            if job.started is None:
                job.started = started
                waits.append(started - job.enqueued)
            job.seconds += seconds
            job.proba.append(proba[offset:end])
            job.truncated.append(truncated[offset:end])
            offset = end
            if part.end == len(job.texts) and not job.future.done():
                job.future.set_result(
                    Prediction(
                        np.concatenate(job.proba),
                        np.concatenate(job.truncated),
                        job.started - job.enqueued,
                        job.seconds,
                    )
                )
        if self.observer is not None:
            self.observer(len(texts), waits, seconds)

    def _fail(self, job: _Job, exc: Exception) -> None:
        _fail(job, exc)
        self._drop_abandoned()


def _fail(job: _Job, exc: Exception) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
