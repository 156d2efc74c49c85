"""The micro-batcher: batches form, results go back to the right caller, waits are bounded, a full
queue is refused at once (and answered 503 + Retry-After by the app), one bad input fails alone."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import httpx
import numpy as np
import pytest

from netralitas.model.explain import group_spans, occluded_texts, word_spans
from netralitas.model.loading import load_classifier
from netralitas.serve.app import create_app
from netralitas.serve.batcher import MicroBatcher, QueueFull
from netralitas.serve.settings import ServeSettings

from .serve_support import auth, key_entries


class FakeModel:
    """p(side) is a function of the text alone; records every call; can be held at a gate."""

    labels = ("neutral", "supportive")
    profiles = ()
    inference_plan = None

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.gate = gate
        self.entered = threading.Event()

    @staticmethod
    def side(text: str) -> float:
        return (len(text) % 10) / 10

    def predict_proba(self, texts, contexts=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        if any("BOOM" in t for t in texts):
            raise ValueError("cannot score BOOM")
        self.calls.append(list(texts))
        side = np.array([self.side(t) for t in texts])
        return np.stack([1 - side, side], axis=1)

    def truncated(self, texts, contexts=None):
        return np.array(["PANJANG" in t for t in texts], dtype=bool)


async def _with_batcher(model, coro, **settings):
    batcher = MicroBatcher(model, **settings)
    await batcher.start()
    try:
        return await coro(batcher)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_batches_and_get_their_own_rows():
    model = FakeModel()
    requests = [[f"teks {i}" + "x" * j for j in range(1 + i % 3)] for i in range(40)]

    async def run(batcher):
        return await asyncio.gather(*(batcher.predict(texts) for texts in requests))

    results = asyncio.run(_with_batcher(model, run, max_batch_size=16, max_wait_s=0.05))
    for texts, result in zip(requests, results, strict=True):
        assert result.proba.shape == (len(texts), 2)
        assert np.allclose(result.proba[:, 1], [FakeModel.side(t) for t in texts])
    assert len(model.calls) < len(requests) / 4, "requests were gathered into batches"
    assert max(len(c) for c in model.calls) <= 16 + 2  # soft cap: one request is never split


def test_batching_off_is_one_model_call_per_request():
    model = FakeModel()

    async def run(batcher):
        return await asyncio.gather(*(batcher.predict([f"t{i}"]) for i in range(10)))

    asyncio.run(_with_batcher(model, run, max_batch_size=1, max_wait_s=0.0))
    assert [len(c) for c in model.calls] == [1] * 10


def test_the_wait_for_batch_mates_is_spent_only_under_concurrency():
    model = FakeModel()

    async def timed(batcher, n: int) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(batcher.predict([f"t{i}"]) for i in range(n)))
        return time.perf_counter() - start

    async def run(batcher):
        lone = await timed(batcher, 1)  # no sign of concurrency: no wait
        await timed(batcher, 6)  # a batch of several: requests are concurrent now
        waited = await timed(batcher, 1)  # so the next request waits for batch-mates
        lone_again = await timed(batcher, 1)  # until a batch of one ends that
        return lone, waited, lone_again

    lone, waited, lone_again = asyncio.run(_with_batcher(model, run, max_wait_s=1.0))
    assert lone < 0.5 and lone_again < 0.5
    assert 0.9 <= waited < 5


def test_requests_arriving_while_the_model_is_busy_form_the_next_batch():
    gate = threading.Event()
    model = FakeModel(gate)

    async def run(batcher):
        first = asyncio.create_task(batcher.predict(["pertama"]))
        await asyncio.to_thread(model.entered.wait, 10)
        rest = [asyncio.create_task(batcher.predict([f"antre {i}"])) for i in range(5)]
        await asyncio.sleep(0.02)
        gate.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(_with_batcher(model, run, max_batch_size=64, max_wait_s=0.0))
    assert [len(c) for c in model.calls] == [1, 5]
    assert results[0].queue_seconds < results[-1].queue_seconds


def test_a_full_queue_is_refused_at_once_and_the_queued_work_still_completes():
    gate = threading.Event()
    model = FakeModel(gate)

    async def run(batcher):
        busy = asyncio.create_task(batcher.predict(["diproses"]))
        await asyncio.to_thread(model.entered.wait, 10)
        queued = [asyncio.create_task(batcher.predict([f"antre {i}"])) for i in range(2)]
        await asyncio.sleep(0)
        assert batcher.depth() == 2
        with pytest.raises(QueueFull, match="2 requests are already waiting"):
            await batcher.predict(["ditolak"])
        gate.set()
        return await asyncio.gather(busy, *queued)

    results = asyncio.run(_with_batcher(model, run, max_batch_size=8, max_wait_s=0.0, queue_size=2))
    assert len(results) == 3


def test_one_bad_request_fails_alone():
    gate = threading.Event()
    model = FakeModel(gate)

    async def run(batcher):
        busy = asyncio.create_task(batcher.predict(["tahan"]))
        await asyncio.to_thread(model.entered.wait, 10)
        tasks = [asyncio.create_task(batcher.predict([t])) for t in ("baik 1", "BOOM", "baik 2")]
        await asyncio.sleep(0.01)
        gate.set()
        return await asyncio.gather(busy, *tasks, return_exceptions=True)

    results = asyncio.run(_with_batcher(model, run, max_batch_size=8, max_wait_s=0.0))
    assert isinstance(results[2], ValueError)
    assert all(not isinstance(r, Exception) for i, r in enumerate(results) if i != 2)


def test_thread_setup_runs_in_the_model_thread():
    seen: list[str] = []

    async def run(batcher):
        return await batcher.predict(["halo"])

    setup = lambda: seen.append(threading.current_thread().name)  # noqa: E731
    asyncio.run(_with_batcher(FakeModel(), run, thread_setup=setup))
    assert len(seen) == 1 and seen[0].startswith("netralitas-model")


def test_truncation_flags_follow_their_rows():
    async def run(batcher):
        return await batcher.predict(["pendek", "PANJANG sekali", "pendek lagi"])

    result = asyncio.run(_with_batcher(FakeModel(), run))
    assert result.truncated.tolist() == [False, True, False]


def test_full_queue_is_503_with_retry_after(tfidf_artifact, tmp_path):
    """Through the app: a held model and a one-request queue; the third request is refused."""
    gate = threading.Event()
    real = load_classifier(tfidf_artifact)

    class Held(FakeModel):
        metadata_ = real.metadata_
        labels = real.labels

        def predict_proba(self, texts, contexts=None):
            self.entered.set()
            assert gate.wait(10)
            return real.predict_proba(texts, contexts)

    model = Held()
    settings = ServeSettings(
        model_dir=None,
        api_keys=key_entries(),
        feedback_db=str(tmp_path / "f.db"),
        queue_size=1,
        batching=False,
        retry_after_s=3,
    )
    app = create_app(settings, model=model)
    body = {"items": [{"text": "Ayo coblos nomor 2!"}]}

    async def run():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://uji") as client:
                send = lambda: client.post("/v1/score", json=body, headers=auth())  # noqa: E731
                held = asyncio.create_task(send())
                await asyncio.to_thread(model.entered.wait, 10)
                queued = asyncio.create_task(send())
                await asyncio.sleep(0.05)
                refused = await send()
                gate.set()
                metrics = (await client.get("/metrics", headers=auth())).text
                return [await held, await queued, refused], metrics

    (held, queued, refused), metrics = asyncio.run(run())
    assert (held.status_code, queued.status_code) == (200, 200)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert refused.json()["error"]["code"] == "queue_full"
    assert 'netralitas_rejected_requests_total{reason="queue_full"} 1.0' in metrics


# -- explanation helpers ------------------------------------------------------------------------
def test_word_spans_cover_words_hashtags_emoji_and_urls():
    text = "Gas pol 02!! #HendroJuara 👍🏻 hati-hati https://t.co/x"
    assert [text[a:b] for a, b in word_spans(text)] == [
        "Gas",
        "pol",
        "02",
        "#HendroJuara",
        "👍🏻",
        "hati-hati",
        "https://t.co/x",
    ]


def test_long_texts_are_grouped_into_a_bounded_number_of_spans():
    text = " ".join(f"kata{i}" for i in range(100))
    spans = group_spans(word_spans(text), 8)
    assert len(spans) <= 8
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_occlusion_replaces_the_span_with_a_space():
    assert occluded_texts("a😀b c", [(1, 2)]) == ["a b c"]
