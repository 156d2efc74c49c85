"""Actions (model/actions.py): what the model judges for a post, comment, share, like or reaction,
the same way in the Scorer, evaluation, the data files and the API."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from netralitas.cli.main import main
from netralitas.data.errors import DataError
from netralitas.data.records import load_records
from netralitas.model.actions import ReadingPlan, judged_proba, readings, training_view
from netralitas.model.decision import side_scores
from netralitas.model.records import Record
from netralitas.model.scorer import Scorer
from netralitas.serve.app import create_app
from netralitas.serve.limits import request_cost
from netralitas.serve.schemas import ScoreRequest
from netralitas.serve.settings import ServeSettings

from .sample_data import NEUTRAL, SUPPORTIVE, write_jsonl
from .serve_support import auth, key_entries

PARTISAN = "Pak Hendro: lima tahun lagi kita tuntaskan jalan desa. Coblos nomor 2!"
RALLY = "Relawan Kang Sukma kumpul besok, kita menangkan paslon 1!"
CHORES = "Besok kerja bakti bersihkan selokan di RT 04, jam 7 pagi."


@pytest.fixture(scope="module")
def scorer(tfidf_artifact):
    return Scorer.from_pretrained(tfidf_artifact)


def _one(scorer, record, explain=True):
    return next(scorer.score([record], explain=explain))


# -- what is judged ------------------------------------------------------------------------------


def test_the_same_text_is_flagged_as_a_like_of_a_partisan_post_and_cleared_as_a_post(scorer):
    post = _one(scorer, Record(text="Setuju"))
    like = _one(scorer, Record(text="Setuju", action="like", context=PARTISAN))
    assert (post.decision, post.judged, post.judged_field) == ("clear", "post", "text")
    assert (like.decision, like.judged, like.judged_field) == ("flag", "liked post", "context")
    assert like.action == "like" and like.score > post.score
    # The explanation's spans index the liked post, the field the row names.
    assert like.explanation and all(PARTISAN[a.start : a.end] == a.text for a in like.explanation)
    assert any(a.text in {"Hendro", "Coblos", "nomor"} for a in like.explanation)


def test_a_like_is_scored_exactly_as_its_liked_post_and_a_reaction_like_a_like(scorer):
    alone = _one(scorer, Record(text=RALLY), explain=False)
    like = _one(scorer, Record(action="like", context=RALLY), explain=False)
    reaction = _one(scorer, Record(action="reaction", context=RALLY), explain=False)
    assert like.scores == alone.scores == reaction.scores
    assert reaction.judged == "liked post" and like.decision == "flag"
    cleared = _one(scorer, Record(action="reaction", context=NEUTRAL[9]), explain=False)
    assert cleared.decision == "clear"


def test_a_neutral_caption_on_a_partisan_share_is_judged_on_the_shared_post(scorer):
    caption = _one(scorer, Record(text="Info"))
    share = _one(scorer, Record(text="Info", action="share", context=RALLY))
    assert caption.decision == "clear"
    assert (share.decision, share.judged, share.judged_field) == ("flag", "shared post", "context")
    assert share.explanation and all(RALLY[a.start : a.end] == a.text for a in share.explanation)


def test_a_partisan_caption_on_a_neutral_share_is_judged_on_the_caption(scorer):
    record = Record(text=SUPPORTIVE[0], action="share", context=CHORES)
    share = _one(scorer, record)
    assert (share.judged, share.judged_field) == ("caption", "text")
    assert share.decision != "clear"
    assert all(record.text[a.start : a.end] == a.text for a in share.explanation)
    # The share takes the higher side score of its two readings.
    proba = scorer.model.predict_proba([SUPPORTIVE[0], CHORES], [CHORES, None])
    meta = scorer.metadata
    assert share.score == pytest.approx(side_scores(proba, meta.labels, meta.neutral_label).max())


def test_a_comment_is_read_with_its_context_as_before(scorer):
    record = Record(text="Setuju bgt, lanjutkan!", context=PARTISAN, action="comment")
    scored = _one(scorer, record, explain=False)
    meta = scorer.metadata
    proba = scorer.model.predict_proba([record.text], [record.context])
    assert scored.score == pytest.approx(side_scores(proba, meta.labels, meta.neutral_label)[0])
    assert (scored.judged, scored.judged_field) == ("comment", "text")
    as_post = _one(scorer, Record(text="Setuju bgt, lanjutkan!"), explain=False)
    assert scored.score != as_post.score  # the context counts


def test_evaluation_and_explain_one_read_as_the_scorer_does(scorer):
    records = [
        Record(text="Info", action="share", context=RALLY),
        Record(action="like", context=PARTISAN),
        Record(text=NEUTRAL[0]),
    ]
    scored = list(scorer.score(records))
    meta = scorer.metadata
    sides = side_scores(judged_proba(scorer.model, records), meta.labels, meta.neutral_label)
    assert [p.score for p in scored] == pytest.approx(list(sides), abs=1e-6)
    explained = scorer.explain_scored(records[1])
    assert explained.judged_field == "context" and explained.explanation
    assert scorer.explain_one(records[1]) == explained.explanation


def test_training_reads_a_like_as_its_liked_post():
    like = Record(action="like", context=RALLY, label="supportive")
    assert (training_view(like).text, training_view(like).context) == (RALLY, None)
    share = Record(text="Info", action="share", context=RALLY)
    assert training_view(share) is share
    assert [r.judged for r in readings(share)] == ["caption", "shared post"]
    plan = ReadingPlan.of([share, like])
    assert plan.owners == [0, 0, 1] and plan.texts == ["Info", RALLY, RALLY]


# -- records and data files ----------------------------------------------------------------------


def test_a_like_needs_no_text_but_needs_its_liked_post():
    assert Record(action="Like", context=RALLY).action == "like"  # an export's spelling
    assert Record(text=float("nan"), action="reaction", context=RALLY).text == ""
    with pytest.raises(ValueError, match="judged on the post it is on"):
        Record(action="like")
    with pytest.raises(ValueError, match="a share needs text"):
        Record(text=" ", action="share", context=RALLY)


def test_a_file_with_a_like_without_text_reads_and_a_post_without_text_names_its_row(tmp_path):
    good = write_jsonl(
        tmp_path / "good.jsonl",
        [
            {"text": "Setuju", "action": "comment", "context": PARTISAN},
            {"action": "like", "context": PARTISAN, "account": "budi", "url": "https://x/1"},
            {"text": None, "action": "reaction", "context": RALLY, "posted_at": "2029-11-02"},
        ],
    )
    records = load_records(good, require_label=False)
    assert [r.action for r in records] == ["comment", "like", "reaction"]
    assert records[1].text == "" and records[1].account == "budi"
    assert records[1].url == "https://x/1" and records[2].posted_at == "2029-11-02"
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"text": "Setuju", "action": "post"}, {"text": "", "action": "post"}],
    )
    with pytest.raises(DataError, match=r"bad\.jsonl, line 2: field 'text'.*a post needs text"):
        load_records(bad, require_label=False)
    orphan = write_jsonl(tmp_path / "orphan.jsonl", [{"action": "like", "text": ""}])
    with pytest.raises(DataError, match=r"line 1: field 'context'.*judged on the post"):
        load_records(orphan, require_label=False)


def test_score_a_csv_with_action_columns(tfidf_artifact, tmp_path):
    source = tmp_path / "engagement.csv"
    pd.DataFrame(
        [
            ["e1", "Setuju", PARTISAN, "like", "budi", "2029-11-02T08:15:00+07:00", "https://x/1"],
            ["e2", "Setuju", "", "post", "budi", "", ""],
            ["e3", "Info", RALLY, "Share", "", "2029-11-03", "https://x/3"],
            ["e4", "", CHORES, "reaction", "sari", "", ""],
        ],
        columns=["id", "text", "context", "action", "account", "posted_at", "url"],
    ).assign(kecamatan="Garut").to_csv(source, index=False)
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(tfidf_artifact), str(source), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["action"] for r in rows] == ["like", "post", "share", "reaction"]
    assert [r["judged"] for r in rows] == ["liked post", "post", "shared post", "liked post"]
    assert [r["judged_field"] for r in rows] == ["context", "text", "context", "context"]
    assert [r["decision"] for r in rows[:3]] == ["flag", "clear", "flag"]
    assert rows[0]["account"] == "budi" and rows[2]["account"] is None
    assert rows[0]["posted_at"] == "2029-11-02T08:15:00+07:00" and rows[2]["url"] == "https://x/3"
    # The other columns are carried through, the action columns not repeated.
    assert rows[0]["kecamatan"] == "Garut" and rows[0]["text"] == "Setuju"
    assert not any(k.startswith("input_") for k in rows[0])


def test_a_file_of_likes_may_have_no_text_column(tfidf_artifact, tmp_path):
    source = tmp_path / "likes.csv"
    source.write_text(f'action,context\nlike,"{RALLY}"\nreaction,"{CHORES}"\n', encoding="utf-8")
    records = load_records(source, require_label=False)
    assert [r.text for r in records] == ["", ""]
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(f'action,context\nlike,"{RALLY}"\npost,"{CHORES}"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3: field 'text' is required but missing"):
        load_records(mixed, require_label=False)


# -- the API -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tfidf_artifact, tmp_path_factory):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path_factory.mktemp("actions") / "feedback.sqlite3"),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_api_round_trip_with_actions(client, scorer):
    items = [
        {"id": "l", "action": "like", "context": PARTISAN, "account": "budi", "url": "https://x/l"},
        {"id": "p", "text": "Setuju", "posted_at": "2029-11-02T08:15:00+07:00"},
        {"id": "s", "text": "Info", "action": "share", "context": RALLY},
        {"id": "c", "text": "Setuju", "action": "comment", "context": PARTISAN},
    ]
    response = client.post("/v1/score", json={"items": items, "explain": True}, headers=auth())
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results["l"]["judged"] == "liked post" and results["l"]["judged_field"] == "context"
    assert results["l"]["decision"] == "flag" and results["p"]["decision"] == "clear"
    assert results["l"]["account"] == "budi" and results["l"]["url"] == "https://x/l"
    assert results["p"]["posted_at"] == "2029-11-02T08:15:00+07:00"
    assert results["p"]["action"] is None and results["s"]["action"] == "share"
    assert (results["s"]["judged"], results["c"]["judged"]) == ("shared post", "comment")
    for item in items:
        result = results[item["id"]]
        field = item.get(result["judged_field"]) or ""
        assert all(field[s["start"] : s["end"]] == s["text"] for s in result["explanation"] or [])
    # The API and the Scorer agree.
    records = [Record(**{k: v for k, v in i.items() if k != "id"}) for i in items]
    expected = [p.score for p in scorer.score(records)]
    assert [results[i["id"]]["score"] for i in items] == pytest.approx(expected, abs=1e-6)


def test_api_refuses_a_like_without_its_post_and_a_post_without_text(client):
    response = client.post("/v1/score", json={"items": [{"action": "like"}]}, headers=auth())
    assert response.status_code == 422
    assert "items.0.context" in response.text and "judged on the post" in response.text
    response = client.post(
        "/v1/score", json={"items": [{"text": "ok"}, {"action": "share"}]}, headers=auth()
    )
    assert response.status_code == 422 and "items.1.text" in response.text


def test_request_cost_counts_the_text_judged():
    like = ScoreRequest(items=[{"action": "like", "context": "x" * 400}])
    assert request_cost(like, max_spans=64).tokens == 1 + 100
    share = ScoreRequest(items=[{"text": "y" * 40, "action": "share", "context": "x" * 400}])
    # Two readings: the caption with the shared post, and the shared post alone.
    assert request_cost(share, max_spans=64).tokens == (1 + 110) + (1 + 100)


def test_recalibrating_on_likes_reads_the_liked_posts(tfidf_artifact, tmp_path):
    from netralitas.model.artifact import read_metadata
    from netralitas.training.recalibrate import recalibrate

    posts = [Record(text=t, label="supportive") for t in SUPPORTIVE[:12]] + [
        Record(text=t, label="neutral") for t in NEUTRAL[:12]
    ]
    likes = [Record(action="like", context=r.text, label=r.label) for r in posts]
    fitted = {}
    for name, records in (("posts", posts), ("likes", likes)):
        out = recalibrate(tfidf_artifact, records, tmp_path / name, name, log=lambda _: None)
        fitted[name] = read_metadata(out)
    # A like is judged on its liked post: the same scores, so the same map and thresholds.
    assert fitted["likes"].thresholds.flag == fitted["posts"].thresholds.flag
    like_map, post_map = fitted["likes"].calibration, fitted["posts"].calibration
    assert like_map.model_copy(update={"fitted_on": ""}) == post_map.model_copy(
        update={"fitted_on": ""}
    )
