"""The scoring API with the transformer backend (a tiny random BERT): same contract, explanations
by occlusion are spans of the original text, truncation is reported."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from netralitas.model.artifact import Thresholds
from netralitas.model.decision import side_scores
from netralitas.model.loading import load_classifier
from netralitas.serve.app import create_app
from netralitas.serve.settings import ServeSettings

from .serve_support import auth, key_entries

TEXTS = [
    "Coblos nomor 2, Pak Hendro juara! 👍",
    "Siap pak, gas terus!\n#SukmaLestari",
    "Jadwal apel pagi diundur jam 8",
]


@pytest.fixture(scope="module")
def bert_model(tiny_bert, tmp_path_factory):
    """A sequence-classification checkpoint of the tiny BERT, every item sent to review or flag,
    so that each one is explained."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("serve-bert")
    torch.manual_seed(3)
    labels = {0: "neutral", 1: "supportive"}
    network = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert, num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    network.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    model = load_classifier(folder)
    thresholds = Thresholds(flag=0.0, review=0.0, precision_target=0.9, precision_target_met=False)
    model.metadata_ = model.metadata_.model_copy(update={"thresholds": thresholds})
    return model


@pytest.fixture(scope="module")
def client(bert_model, tmp_path_factory):
    settings = ServeSettings(
        api_keys=key_entries(),
        feedback_db=str(tmp_path_factory.mktemp("serve-bert-db") / "f.db"),
        max_text_chars=20_000,
    )
    with TestClient(create_app(settings, model=bert_model)) as client:
        yield client


def test_transformer_scores_match_the_model(client, bert_model):
    body = client.post(
        "/v1/score", json={"items": [{"text": t} for t in TEXTS]}, headers=auth()
    ).json()
    expected = side_scores(bert_model.predict_proba(TEXTS), bert_model.labels, "neutral")
    assert [r["score"] for r in body["results"]] == pytest.approx(expected.tolist(), abs=1e-5)
    assert {r["decision"] for r in body["results"]} == {"flag"}


def test_transformer_explanations_are_spans_of_the_original_text(client, bert_model):
    body = client.post(
        "/v1/score", json={"items": [{"text": t} for t in TEXTS], "explain": True}, headers=auth()
    ).json()
    n_spans = 0
    for text, result in zip(TEXTS, body["results"], strict=True):
        for span in result["explanation"]:
            assert text[span["start"] : span["end"]] == span["text"]
            occluded = f"{text[: span['start']]} {text[span['end'] :]}"
            proba = bert_model.predict_proba([occluded])
            drop = result["score"] - side_scores(proba, bert_model.labels, "neutral")[0]
            assert drop == pytest.approx(span["weight"], abs=1e-4)
            n_spans += 1
    assert n_spans > 0


def test_truncation_is_reported(client):
    long_text = "kata " * 2000  # far beyond the model's maximum length in tokens
    results = client.post(
        "/v1/score",
        json={"items": [{"text": long_text}, {"text": "pendek"}]},
        headers=auth(),
    ).json()["results"]
    assert [r["truncated"] for r in results] == [True, False]
