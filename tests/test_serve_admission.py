"""Admission, deadlines and quotas (issue 15): requests are charged by their work, one caller's long
request never blocks short ones for more than a chunk, work past its deadline or of a client that
left never reaches the model, and each key has a rate."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np
import pytest

from netralitas.model.loading import load_classifier
from netralitas.serve.admission import CostBudget, OverBudget, RateLimited, RateLimiter
from netralitas.serve.app import create_app
from netralitas.serve.batcher import MicroBatcher
from netralitas.serve.limits import request_cost
from netralitas.serve.schemas import ScoreRequest
from netralitas.serve.settings import ServeSettings

from .sample_data import SUPPORTIVE
from .serve_support import auth, key_entries


class SlowModel:
    """Sleeps `per_item` seconds per row (a model's cost grows with its batch); records calls;
    can be held at a gate. p(side) is 0.9 for every text, so every item is explained."""

    labels = ("neutral", "supportive")
    profiles = ()
    inference_plan = None

    def __init__(self, per_item: float = 0.0, gate: threading.Event | None = None) -> None:
        self.per_item = per_item
        self.gate = gate
        self.calls: list[list[str]] = []
        self.entered = threading.Event()

    def predict_proba(self, texts, contexts=None):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        self.calls.append(list(texts))
        time.sleep(self.per_item * len(texts))
        return np.tile([0.1, 0.9], (len(texts), 1))

    def truncated(self, texts, contexts=None):
        return np.zeros(len(texts), dtype=bool)

    def seen(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture(scope="module")
def real(tfidf_artifact):
    return load_classifier(tfidf_artifact)


def _app(real, tmp_path, model=None, **overrides):
    """An app over `model` (a SlowModel wearing the real model's metadata) or the real model."""
    if model is not None:
        model.metadata_ = real.metadata_
    settings = ServeSettings(
        model_dir=None,
        api_keys=key_entries(),
        feedback_db=str(tmp_path / "f.db"),
        **overrides,
    )
    return create_app(settings, model=model if model is not None else real)


async def _in_app(app, run):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://uji") as client:
            return await run(client)


def _body(texts, explain=False):
    return {"explain": explain, "items": [{"text": t} for t in texts]}


# -- cost-based admission ---------------------------------------------------------------------------
def test_cost_counts_characters_and_every_occluded_variant():
    plain = ScoreRequest.model_validate(_body(["a" * 400, "b" * 40]))
    assert request_cost(plain, max_spans=128).tokens == (1 + 100) + (1 + 10)
    words = " ".join(["kata"] * 10)  # 49 characters, 10 words
    explained = ScoreRequest.model_validate(_body([words], explain=True))
    cost = request_cost(explained, max_spans=128)
    assert cost.variants == 10 and cost.tokens == (1 + 49 // 4) * 11
    assert request_cost(explained, max_spans=4).variants == 4  # long texts: words grouped


def test_a_request_over_the_cost_limit_is_413_naming_limit_and_cost(real, tmp_path):
    app = _app(real, tmp_path, max_request_tokens=1_000, max_inflight_tokens=1_000)
    long = " ".join(SUPPORTIVE)[:300]

    async def run(client):
        cheap = await client.post("/v1/score", json=_body([long]), headers=auth())
        costly = await client.post("/v1/score", json=_body([long] * 20), headers=auth())
        explained = await client.post("/v1/score", json=_body([long], explain=True), headers=auth())
        return cheap, costly, explained

    cheap, costly, explained = asyncio.run(_in_app(app, run))
    assert cheap.status_code == 200
    for response in (costly, explained):  # 20 items; or one item times its words
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "request_too_costly" and error["limit"] == 1_000
        assert error["found"] > 1_000
        assert f"costs ~{error['found']} tokens" in error["message"]
        assert "the limit is 1000 per request" in error["message"]


def test_explanations_are_capped_by_words_not_only_items(real, tmp_path):
    app = _app(real, tmp_path, explain_max_words=30)
    text = " ".join(f"kata{i}" for i in range(20))

    async def run(client):
        one = await client.post("/v1/score", json=_body([text], explain=True), headers=auth())
        two = await client.post("/v1/score", json=_body([text] * 2, explain=True), headers=auth())
        return one, two

    one, two = asyncio.run(_in_app(app, run))
    assert one.status_code == 200
    assert two.status_code == 413
    error = two.json()["error"]
    assert (error["code"], error["limit"], error["found"]) == ("too_many_words_to_explain", 30, 40)


def test_the_budget_in_flight_admits_by_cost():
    budget = CostBudget(100)
    with budget.admit(60):
        with (
            pytest.raises(OverBudget, match="costs ~50 tokens of work and 60 are in flight"),
            budget.admit(50),
        ):
            pass
        with budget.admit(40):
            assert budget.in_flight == 100
    assert budget.in_flight == 0
    with budget.admit(100):  # alone, a request at the limit is admitted
        pass


def test_a_full_budget_is_503_with_retry_after(real, tmp_path):
    gate = threading.Event()
    model = SlowModel(gate=gate)
    app = _app(
        real, tmp_path, model, max_request_tokens=1_000, max_inflight_tokens=1_000, retry_after_s=4
    )
    text = "x" * 1_996  # 500 tokens: two fit in the budget, three do not

    async def run(client):
        held = asyncio.create_task(client.post("/v1/score", json=_body([text]), headers=auth()))
        await asyncio.to_thread(model.entered.wait, 10)
        second = asyncio.create_task(client.post("/v1/score", json=_body([text]), headers=auth()))
        await asyncio.sleep(0.05)
        refused = await client.post("/v1/score", json=_body([text]), headers=auth())
        gate.set()
        return await held, await second, refused

    held, second, refused = asyncio.run(_in_app(app, run))
    assert (held.status_code, second.status_code) == (200, 200)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "4"
    # The refused request was charged to the key's quota: its answer says what is left.
    assert int(refused.headers["ratelimit-remaining"]) < int(held.headers["ratelimit-remaining"])
    assert refused.json()["error"]["code"] == "over_capacity"
    assert "admits 1000 at once" in refused.json()["error"]["message"]


# -- deadlines and cancellation ----------------------------------------------------------------------
def test_a_deadline_answers_504_and_drops_the_work_not_started(real, tmp_path):
    gate = threading.Event()
    model = SlowModel(gate=gate)
    app = _app(real, tmp_path, model, request_timeout_s=5.0, batching=False)

    async def run(client):
        held = asyncio.create_task(client.post("/v1/score", json=_body(["tahan"]), headers=auth()))
        await asyncio.to_thread(model.entered.wait, 10)
        start = time.perf_counter()
        late = await client.post(
            "/v1/score", json=_body(["terlambat"]), headers=auth() | {"X-Request-Timeout": "0.2"}
        )
        waited = time.perf_counter() - start
        gate.set()
        await held
        after = await client.post("/v1/score", json=_body(["sesudah"]), headers=auth())
        return late, waited, after

    late, waited, after = asyncio.run(_in_app(app, run))
    assert late.status_code == 504 and 0.15 < waited < 2
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(late.headers)
    error = late.json()["error"]
    assert error["code"] == "deadline_exceeded" and "deadline of 0.2 s" in error["message"]
    assert after.status_code == 200
    assert "terlambat" not in model.seen() and "sesudah" in model.seen()


def test_a_client_timeout_can_only_shorten_the_deadline(real, tmp_path):
    gate = threading.Event()
    model = SlowModel(gate=gate)
    app = _app(real, tmp_path, model, request_timeout_s=0.3)

    async def run(client):
        start = time.perf_counter()
        response = await client.post(
            "/v1/score", json=_body(["lama"]), headers=auth() | {"X-Request-Timeout": "600"}
        )
        gate.set()
        bad = await client.post(
            "/v1/score", json=_body(["x"]), headers=auth() | {"X-Request-Timeout": "nol"}
        )
        return response, time.perf_counter() - start, bad

    response, seconds, bad = asyncio.run(_in_app(app, run))
    assert response.status_code == 504 and seconds < 3
    assert "deadline of 0.3 s" in response.json()["error"]["message"]
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request_timeout"


def test_a_cancelled_caller_never_reaches_the_model():
    gate = threading.Event()
    model = SlowModel(gate=gate)

    async def run():
        batcher = MicroBatcher(model, max_batch_size=4, max_wait_s=0.0)
        await batcher.start()
        try:
            busy = asyncio.create_task(batcher.predict(["sibuk"]))
            await asyncio.to_thread(model.entered.wait, 10)
            gone = asyncio.create_task(batcher.predict(["pergi"] * 10))
            kept = asyncio.create_task(batcher.predict(["tetap"]))
            await asyncio.sleep(0.01)
            gone.cancel()
            gate.set()
            await asyncio.gather(busy, kept)
        finally:
            await batcher.stop()

    asyncio.run(run())
    assert "pergi" not in model.seen() and "tetap" in model.seen()


def test_a_disconnected_client_s_work_is_dropped(real, tmp_path):
    """Through the ASGI app: the client sends its body, then disconnects while queued."""
    gate = threading.Event()
    model = SlowModel(gate=gate)
    app = _app(real, tmp_path, model, batching=False)
    body = httpx.Request("POST", "http://uji/v1/score", json=_body(["ditinggal"])).content
    secret = auth()["Authorization"].encode()

    async def run(client):
        held = asyncio.create_task(client.post("/v1/score", json=_body(["tahan"]), headers=auth()))
        await asyncio.to_thread(model.entered.wait, 10)
        disconnect = asyncio.Event()
        sent: list[dict] = []
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive():
            message = next(messages, None)
            if message is not None:
                return message
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/score",
            "raw_path": b"/v1/score",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"uji"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", secret),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("uji", 80),
            "state": {},
        }
        call = asyncio.create_task(app(scope, receive, send))
        await asyncio.sleep(0.1)
        disconnect.set()
        await asyncio.wait_for(call, 5)  # the route returns without the model
        gate.set()
        await held
        return sent

    sent = asyncio.run(_in_app(app, run))
    assert sent[0]["status"] == 499
    assert "ditinggal" not in model.seen() and "tahan" in model.seen()


# -- a long request never blocks short ones ------------------------------------------------------------
def test_a_short_request_waits_about_one_chunk_beside_a_long_one():
    """1 ms per row, chunks of 50 rows: the long request (2,000 rows) takes ~2 s; a one-item request
    sent 0.2 s into it waits for the running chunk (~50 ms), not for the rest of the long one."""
    model = SlowModel(per_item=0.001)

    async def run():
        batcher = MicroBatcher(model, max_batch_size=50, max_wait_s=0.0)
        await batcher.start()
        try:
            start = time.perf_counter()
            long = asyncio.create_task(batcher.predict([f"panjang {i}" for i in range(2_000)]))
            await asyncio.sleep(0.2)
            sent = time.perf_counter()
            short = await batcher.predict(["pendek"])
            short_s = time.perf_counter() - sent
            assert not long.done(), "the long request was still running"
            result = await long
            return short_s, time.perf_counter() - start, short, result
        finally:
            await batcher.stop()

    short_s, long_s, short, result = asyncio.run(run())
    assert max(len(c) for c in model.calls) <= 50
    assert long_s > 1.5
    assert short_s < 0.5, f"the short request waited {short_s:.2f} s beside a {long_s:.1f} s one"
    assert short.proba.shape == (1, 2) and result.proba.shape == (2_000, 2)
    assert result.inference_seconds > 1.5  # its chunks, summed


def test_a_request_arriving_mid_way_shares_the_very_next_chunk():
    gate = threading.Event()
    model = SlowModel(gate=gate)

    async def run():
        batcher = MicroBatcher(model, max_batch_size=10, max_wait_s=0.0)
        await batcher.start()
        try:
            long = asyncio.create_task(batcher.predict([f"panjang {i}" for i in range(100)]))
            await asyncio.to_thread(model.entered.wait, 10)
            short = asyncio.create_task(batcher.predict(["pendek"] * 3))
            await asyncio.sleep(0.01)
            gate.set()
            await asyncio.gather(long, short)
        finally:
            await batcher.stop()

    asyncio.run(run())
    assert "pendek" not in model.calls[0]
    assert model.calls[1].count("pendek") == 3 and len(model.calls[1]) == 10  # 7 of the long one
    assert all(len(c) == 10 for c in model.calls[:-1])


def test_chunks_are_bounded_by_characters_too():
    model = SlowModel()

    async def run():
        batcher = MicroBatcher(model, max_batch_size=64, max_batch_chars=1_000, max_wait_s=0.0)
        await batcher.start()
        try:
            return await batcher.predict(["x" * 300] * 10 + ["y" * 5_000])
        finally:
            await batcher.stop()

    result = asyncio.run(run())
    assert [len(c) for c in model.calls] == [3, 3, 3, 1, 1]  # an item over the cap goes alone
    assert result.proba.shape == (11, 2)


def test_chunks_shrink_to_the_time_target_at_the_measured_speed():
    model = SlowModel(per_item=0.02)  # 20 ms per 1,000-character item: 20 us a character

    async def run():
        batcher = MicroBatcher(model, max_batch_size=64, max_wait_s=0.0, max_chunk_s=0.05)
        await batcher.start()
        try:
            await batcher.predict(["x" * 1_000] * 30)
            return batcher._seconds_per_char
        finally:
            await batcher.stop()

    seconds_per_char = asyncio.run(run())
    # The first chunk, unmeasured, takes all 30 items; then 50 ms buys about 2 items of 1,000.
    assert len(model.calls[0]) == 30 and 1.5e-5 < seconds_per_char < 4e-5
    model.calls.clear()

    async def again():
        batcher = MicroBatcher(model, max_batch_size=64, max_wait_s=0.0, max_chunk_s=0.05)
        batcher._seconds_per_char = seconds_per_char
        await batcher.start()
        try:
            await batcher.predict(["x" * 1_000] * 12 + ["tiny"] * 3)
        finally:
            await batcher.stop()

    asyncio.run(again())
    # ~2,500 characters a chunk (the estimate moves a little with each timed chunk).
    assert max(sum(map(len, c)) for c in model.calls) <= 3_100 and len(model.calls) >= 5


def test_small_chunks_do_not_teach_the_speed():
    batcher = MicroBatcher(SlowModel(), max_chunk_s=0.05)
    batcher._learn_speed(500, 0.01)  # a call's fixed cost, not its speed
    assert batcher._seconds_per_char is None and batcher._chars_per_chunk() is None
    batcher._learn_speed(10_000, 0.1)
    assert batcher._chars_per_chunk() == pytest.approx(5_000)


def test_long_explanations_and_short_scoring_share_the_model_through_the_app(real, tmp_path):
    model = SlowModel(per_item=0.002)
    app = _app(real, tmp_path, model, max_batch_size=20, max_wait_ms=0.0)
    text = " ".join(f"kata{i}" for i in range(100))  # 100 variants per item

    async def run(client):
        long = asyncio.create_task(
            client.post("/v1/score", json=_body([text] * 8, explain=True), headers=auth())
        )
        await asyncio.sleep(0.3)
        start = time.perf_counter()
        short = await client.post("/v1/score", json=_body(["Ayo coblos!"]), headers=auth())
        short_s = time.perf_counter() - start
        return await long, short, short_s

    long, short, short_s = asyncio.run(_in_app(app, run))
    assert long.status_code == 200 and short.status_code == 200
    assert short_s < 0.5  # the long request takes ~1.6 s of model time
    assert all(r["explanation"] is not None for r in long.json()["results"])


# -- quotas ---------------------------------------------------------------------------------------------
def test_token_buckets_refill_over_time():
    now = [0.0]
    limiter = RateLimiter(requests_per_minute=2, items_per_minute=100, clock=lambda: now[0])
    assert limiter.charge("a", 10).remaining == 1  # the tighter bucket: requests
    limiter.charge("a", 10)
    with pytest.raises(RateLimited, match="1 requests asked; 0 of 2 requests per minute") as info:
        limiter.charge("a", 10)
    assert info.value.retry_after_s == 30
    assert limiter.charge("b", 10) is not None  # another key has its own buckets
    now[0] = 30.0
    limiter.charge("a", 10)
    with pytest.raises(RateLimited, match="send at most 100 items per request"):
        RateLimiter(0, 100).charge("a", 101)
    assert RateLimiter(0, 0).charge("a", 5) is None


def test_over_the_quota_is_429_with_retry_after_and_ratelimit_headers(real, tmp_path):
    app = _app(real, tmp_path, rate_requests_per_minute=2, rate_items_per_minute=1_000)

    async def run(client):
        return [
            await client.post("/v1/score", json=_body(["Ayo coblos!"]), headers=auth())
            for _ in range(3)
        ] + [await client.post("/v1/score", json=_body(["lain"]), headers=auth("scorer"))]

    first, second, refused, other_key = asyncio.run(_in_app(app, run))
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == "2" and first.headers["ratelimit-remaining"] == "1"
    assert int(first.headers["ratelimit-reset"]) in (30, 31)
    assert second.headers["ratelimit-remaining"] == "0"
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert refused.headers["ratelimit-remaining"] == "0"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and "2 requests per minute" in error["message"]
    assert other_key.status_code == 200


def test_items_per_minute_are_a_quota_too(real, tmp_path):
    app = _app(real, tmp_path, rate_requests_per_minute=0, rate_items_per_minute=5)

    async def run(client):
        ok = await client.post("/v1/score", json=_body(["a", "b", "c"]), headers=auth())
        refused = await client.post("/v1/score", json=_body(["d", "e", "f"]), headers=auth())
        return ok, refused

    ok, refused = asyncio.run(_in_app(app, run))
    assert ok.status_code == 200 and ok.headers["ratelimit-remaining"] == "2"
    assert refused.status_code == 429
    assert "3 items asked; 2 of 5 items per minute" in refused.json()["error"]["message"]


def test_a_model_loaded_by_the_app_is_warmed_and_its_speed_known_before_the_first_request(
    tfidf_artifact, tmp_path
):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact), api_keys=key_entries(), feedback_db=str(tmp_path / "f.db")
    )
    app = create_app(settings)

    async def run(client):
        batcher = app.state.service.batcher
        # The first long request is already cut into chunks of about max_chunk_ms.
        assert batcher._seconds_per_char is not None and batcher._chars_per_chunk() > 0
        return (await client.get("/readyz")).status_code

    assert asyncio.run(_in_app(app, run)) == 200
