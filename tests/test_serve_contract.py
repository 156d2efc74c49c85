"""Contract tests of POST /v1/score and GET /v1/model with the FastAPI test client and a real
trained TF-IDF artifact: the happy path, order, every limit, explanations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from netralitas.model.decision import decide, side_scores
from netralitas.model.loading import load_classifier
from netralitas.serve.app import create_app
from netralitas.serve.settings import ServeSettings

from .sample_data import NEUTRAL, PROFILE_TOML, SUPPORTIVE
from .serve_support import auth, key_entries

MAX_ITEMS, MAX_CHARS, MAX_BODY, MAX_EXPLAINED = 8, 300, 20_000, 4


@pytest.fixture(scope="module")
def model(tfidf_artifact):
    return load_classifier(tfidf_artifact)


@pytest.fixture(scope="module")
def client(tfidf_artifact, tmp_path_factory):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path_factory.mktemp("serve") / "feedback.sqlite3"),
        max_items=MAX_ITEMS,
        max_text_chars=MAX_CHARS,
        max_body_bytes=MAX_BODY,
        explain_max_items=MAX_EXPLAINED,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def score(client, items, explain=False, headers=None):
    body = {"items": items, "explain": explain}
    return client.post("/v1/score", json=body, headers=headers or auth("scorer"))


def test_happy_path_matches_the_model_and_its_thresholds(client, model):
    texts = [SUPPORTIVE[0], NEUTRAL[0], "Siap pak, gas terus!"]
    contexts = [None, None, "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"]
    items = [
        {"id": "a", "text": texts[0]},
        {"text": texts[1]},
        {"text": texts[2], "context": contexts[2]},
    ]
    response = score(client, items)
    assert response.status_code == 200
    body = response.json()
    meta = model.metadata_
    assert body["model"] == {
        "name": meta.name,
        "version": meta.version,
        "labels": list(meta.labels),
        "threshold": {
            "flag": meta.thresholds.flag,
            "review": meta.thresholds.review,
            "precision_target": meta.thresholds.precision_target,
        },
    }
    assert body["request_id"] == response.headers["x-request-id"]
    proba = model.predict_proba(texts, contexts)
    labels, decisions = decide(proba, meta)
    sides = side_scores(proba, model.labels, meta.neutral_label)
    assert [r["id"] for r in body["results"]] == ["a", "2", "3"]  # position when no id is given
    for i, result in enumerate(body["results"]):
        assert result["label"] == labels[i] and result["decision"] == decisions[i]
        assert result["score"] == pytest.approx(sides[i], abs=1e-6)
        assert list(result["scores"]) == list(model.labels)
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert result["truncated"] is False and result["explanation"] is None
    assert "flag" in decisions and "clear" in decisions  # the sample covers both ends


def test_results_keep_input_order(client, model):
    texts = [*SUPPORTIVE[:4], *NEUTRAL[:4]]
    order = [5, 0, 7, 2, 4, 1, 6, 3]
    items = [{"id": f"x{i}", "text": texts[i]} for i in order]
    results = score(client, items).json()["results"]
    assert [r["id"] for r in results] == [f"x{i}" for i in order]
    expected = side_scores(model.predict_proba([texts[i] for i in order]), model.labels, "neutral")
    assert np.allclose([r["score"] for r in results], expected, atol=1e-6)


def test_client_request_id_is_kept(client):
    response = client.post(
        "/v1/score",
        json={"items": [{"text": NEUTRAL[1]}]},
        headers={**auth("scorer"), "X-Request-ID": "monitor-42.a"},
    )
    assert response.json()["request_id"] == "monitor-42.a"


# -- limits -------------------------------------------------------------------------------------
def test_too_many_items_is_413_naming_the_limit(client):
    response = score(client, [{"text": "halo"}] * (MAX_ITEMS + 1))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_many_items"
    assert (error["limit"], error["found"], error["field"]) == (MAX_ITEMS, MAX_ITEMS + 1, "items")


def test_explain_has_its_own_item_limit(client):
    items = [{"text": "halo"}] * (MAX_EXPLAINED + 1)
    assert score(client, items).status_code == 200
    response = score(client, items, explain=True)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_many_items_to_explain"
    assert (error["limit"], error["found"]) == (MAX_EXPLAINED, MAX_EXPLAINED + 1)


@pytest.mark.parametrize("field", ["text", "context"])
def test_too_long_text_or_context_is_422_naming_the_item(client, field):
    items = [{"id": "ok", "text": "halo"}, {"id": "long", "text": "halo"}]
    items[1][field] = "a" * (MAX_CHARS + 1)
    response = score(client, items)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "text_too_long"
    assert (error["item"], error["id"], error["field"]) == (1, "long", field)
    assert (error["limit"], error["found"]) == (MAX_CHARS, MAX_CHARS + 1)
    assert f"items[1].{field}" in error["message"]


def test_text_at_the_limit_is_accepted(client):
    assert score(client, [{"text": "a" * MAX_CHARS}]).status_code == 200


def test_body_over_the_limit_is_413_before_parsing(client):
    body = json.dumps({"items": [{"text": "b" * (MAX_BODY + 10)}]}).encode()
    response = client.post(
        "/v1/score", content=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["limit"]) == ("body_too_large", MAX_BODY)
    assert error["found"] == len(body)


def test_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"items": [{"text": "'
        for _ in range(MAX_BODY // 1000 + 2):
            yield b"c" * 1000
        yield b'"}]}'

    response = client.post(
        "/v1/score", content=chunks(), headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"items": []}, ["body", "items"]),
        ({"items": [{"text": ""}]}, ["body", "items", "0", "text"]),
        ({"items": [{"text": "ok", "lang": "id"}]}, ["body", "items", "0", "lang"]),
        ({"items": [{"text": "ok"}], "extra": 1}, ["body", "extra"]),
        ({"items": [{"text": "ok", "id": "   "}]}, ["body", "items", "0", "id"]),
    ],
)
def test_invalid_bodies_are_422_with_the_location(client, body, where):
    response = (
        score(client, body["items"])
        if set(body) == {"items"}
        else client.post("/v1/score", json=body, headers=auth())
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert where in [p["loc"] for p in error["problems"]]


@pytest.mark.parametrize(
    "raw", [b'{"items": [', b'{"items": [{"text": "a\\ud800b"}]}', b'{"items": "\xff\xfe"}']
)
def test_malformed_json_or_text_is_422(client, raw):
    response = client.post(
        "/v1/score", content=raw, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


# -- explanations -------------------------------------------------------------------------------
ODD_TEXTS = [
    "Coblos no 2 pokoknya, Pak Hendro paling peduli sama guru honorer!",
    "  Gas pol 👍🏻 Kang Sukma!!\n#SukmaLestari https://t.co/x menang  ",
    "Jangan pilih Mas Wibi, janjinya cuma omong kosong 🤡",
]


def test_explanations_are_spans_of_the_original_text(client, model):
    items = [{"text": t} for t in [*ODD_TEXTS, NEUTRAL[7]]]
    results = score(client, items, explain=True).json()["results"]
    explained = 0
    for item, result in zip(items, results, strict=True):
        if result["decision"] == "clear":
            assert result["explanation"] is None
            continue
        explained += 1
        spans = result["explanation"]
        assert spans, "an item that is not cleared gets at least one span"
        for span in spans:
            assert item["text"][span["start"] : span["end"]] == span["text"]
            assert span["text"].strip() == span["text"] and span["weight"] > 0
        assert [s["weight"] for s in spans] == sorted((s["weight"] for s in spans), reverse=True)
        # The weight is real: removing the top span lowers the score by exactly that much.
        top = spans[0]
        occluded = f"{item['text'][: top['start']]} {item['text'][top['end'] :]}"
        drop = (
            result["score"]
            - side_scores(model.predict_proba([occluded]), model.labels, "neutral")[0]
        )
        assert drop == pytest.approx(top["weight"], abs=1e-5)
    assert explained >= 2


def test_explanations_use_the_context(client):
    item = {"text": "Siap pak, gas terus!", "context": "Ayo menangkan Kang Sukma, coblos paslon 1!"}
    result = score(client, [item], explain=True).json()["results"][0]
    if result["decision"] != "clear":
        assert all(item["text"][s["start"] : s["end"]] == s["text"] for s in result["explanation"])


# -- model --------------------------------------------------------------------------------------
def test_model_endpoint_describes_the_artifact(client, model):
    body = client.get("/v1/model", headers=auth("reviewer")).json()  # any valid key
    meta = model.metadata_
    assert (body["name"], body["version"], body["kind"]) == (meta.name, meta.version, "tfidf")
    assert body["labels"] == list(meta.labels) and body["neutral_label"] == meta.neutral_label
    assert body["thresholds"]["flag"] == meta.thresholds.flag
    assert body["profiles"] == [{"id": "pilbup-uji-2030", "title": "Pemilihan Bupati Uji 2030"}]
    assert body["trained_profiles"] == ["pilbup-uji-2030"]
    assert body["metrics"] == json.loads(json.dumps(meta.metrics))
    assert body["limits"] == {
        "max_items": MAX_ITEMS,
        "explain_max_items": MAX_EXPLAINED,
        "max_text_chars": MAX_CHARS,
        "max_body_bytes": MAX_BODY,
        "max_request_tokens": 2_000_000,
        "max_inflight_tokens": 8_000_000,
        "explain_max_words": 2_048,
        "request_timeout_s": 30.0,
        "requests_per_minute": 1_200,
        "items_per_minute": 60_000,
        "quota_scope": "process",
        "workers": 1,
    }


def test_openapi_documents_every_field_with_an_example(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    ours = [n for n in schemas if n not in ("HTTPValidationError", "ValidationError")]
    assert {"ScoreRequest", "ScoreResponse", "FeedbackRequest", "ErrorResponse"} <= set(ours)
    for name in ours:
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
            nested = "$ref" in spec or "$ref" in str(spec.get("anyOf", ""))
            assert nested or spec.get("examples"), f"{name}.{field} has no example"
    label = schemas["FeedbackRequest"]["properties"]["label"]
    assert label["enum"] == ["neutral", "supportive"]  # the loaded model's labels


def test_profile_override_is_used_and_reported(tfidf_artifact, tmp_path):
    other = PROFILE_TOML.replace('id = "pilbup-uji-2030"', 'id = "pilbup-lain-2031"').replace(
        "Pemilihan Bupati Uji 2030", "Pemilihan Bupati Lain 2031"
    )
    (tmp_path / "lain.toml").write_text(other, encoding="utf-8")
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        profiles=(str(tmp_path / "lain.toml"),),
        api_keys=key_entries(),
        feedback_db=str(tmp_path / "f.db"),
    )
    with TestClient(create_app(settings)) as client:
        body = client.get("/v1/model", headers=auth()).json()
    assert body["profiles"] == [{"id": "pilbup-lain-2031", "title": "Pemilihan Bupati Lain 2031"}]
    assert body["trained_profiles"] == ["pilbup-uji-2030"]


def test_a_failing_model_is_a_json_500(tfidf_artifact, tmp_path):
    class Broken:  # the Classifier protocol, with a model call that fails
        inference_plan = None

        def __init__(self, real):
            self.metadata_, self.labels, self.profiles = real.metadata_, real.labels, real.profiles

        def predict_proba(self, texts, contexts=None):
            raise RuntimeError("rusak")

        truncated = predict_proba

    settings = ServeSettings(api_keys=key_entries(), feedback_db=str(tmp_path / "f.db"))
    app = create_app(settings, model=Broken(load_classifier(tfidf_artifact)))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/score", json={"items": [{"text": "halo"}]}, headers=auth())
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
