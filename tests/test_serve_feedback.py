"""POST /v1/feedback, the SQLite store, `netralitas feedback export` and training on its output."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql

from netralitas.cli.main import main
from netralitas.data.records import load_records
from netralitas.serve.app import create_app
from netralitas.serve.auth import KeyRing
from netralitas.serve.feedback import (
    FeedbackConflict,
    FeedbackEntry,
    FeedbackStore,
    database_url,
)
from netralitas.serve.feedback_export import export_feedback
from netralitas.serve.settings import ServeSettings

from .postgres_support import fresh_database, own_cluster
from .sample_data import labelled_rows
from .serve_support import auth, key_entries


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


def team_key_entries() -> str:
    """The test keys, the `reviewer` key acting for the team's reviewers (4th entry part)."""
    entries = key_entries().split(";")
    return ";".join(e + ":rina,budi,tim-loop" if e.startswith("reviewer:") else e for e in entries)


@pytest.fixture(scope="module")
def client(tfidf_artifact, db):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=team_key_entries(),
        feedback_db=str(db),
        max_text_chars=500,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def post(client, **fields):
    body = {"id": "p1", "text": "Ayo coblos nomor 2!", "label": "supportive", "reviewer": "rina"}
    return client.post("/v1/feedback", json=body | fields, headers=auth("reviewer"))


def test_new_verdict_is_201_and_a_repeat_is_idempotent(client, db):
    first = post(client, id="idem", note="jelas mendukung", model_version="1.0")
    assert first.status_code == 201 and first.json()["status"] == "created"
    again = post(client, id="idem", note="jelas mendukung", model_version="1.0")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    corrected = post(client, id="idem", label="neutral", note="ternyata berita")
    assert corrected.status_code == 200 and corrected.json()["status"] == "updated"
    rows = (
        sqlite3.connect(db)
        .execute("SELECT label, note FROM feedback WHERE item_id = 'idem'")
        .fetchall()
    )
    assert rows == [("neutral", "ternyata berita")]  # one row, the latest verdict


def test_another_reviewer_adds_a_row(client, db):
    assert post(client, id="two", reviewer="rina").status_code == 201
    assert post(client, id="two", reviewer="budi").status_code == 201
    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM feedback WHERE item_id='two'")
    assert count.fetchone() == (2,)


def test_same_id_with_another_text_is_409(client):
    assert post(client, id="conflict").status_code == 201
    response = post(client, id="conflict", text="Teks yang lain sama sekali")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"label": "mendukung"}, "unknown_label", "label"),
        ({"text": "x" * 501}, "text_too_long", "text"),
        ({"context": "x" * 501}, "text_too_long", "context"),
    ],
)
def test_rejected_verdicts_name_the_field(client, fields, code, field):
    response = post(client, id="rejected", **fields)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "   "},
        {"reviewer": ""},
        {"id": " "},
        {"rating": 5},
        {"text": "a\u0000b"},  # PostgreSQL cannot store NUL
        {"note": "catatan\u0000"},
    ],
)
def test_invalid_verdicts_are_422(client, fields):
    response = post(client, **({"id": "invalid"} | fields))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_store_uses_wal_and_full_sync(db, client):
    store = FeedbackStore(database_url(str(db)))
    try:
        with store.engine.connect() as conn:
            assert conn.execute(sql("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sql("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        store.close()


def test_export_keeps_agreed_items_in_the_training_format(tmp_path):
    store = FeedbackStore(database_url(str(tmp_path / "fb.db"))).create()
    entries = [
        FeedbackEntry("a", "rina", "Coblos nomor 2!", "supportive", note="yakin"),
        FeedbackEntry("a", "budi", "Coblos nomor 2!", "supportive"),
        FeedbackEntry("b", "rina", "Siap pak", "supportive", context="Menangkan paslon 1!"),
        FeedbackEntry("c", "rina", "Rapat jam 9", "neutral"),
        FeedbackEntry("c", "budi", "Rapat jam 9", "supportive"),  # disagreement: left out
    ]
    for entry in entries:
        store.save(entry)
    store.close()
    summary = export_feedback(str(tmp_path / "fb.db"), tmp_path / "out" / "reviewed.jsonl")
    assert (summary.written, summary.disagreements) == (2, 1)
    records = load_records(summary.path)  # the training loader
    assert not any(r.extra for r in records)  # only schema fields are exported
    assert [(r.id, r.text, r.context, r.label, r.source) for r in records] == [
        ("a", "Coblos nomor 2!", None, "supportive", "feedback"),
        ("b", "Siap pak", "Menangkan paslon 1!", "supportive", "feedback"),
    ]


def test_export_command_errors_on_a_missing_database(tmp_path, capsys):
    code = main(["feedback", "export", "--db", str(tmp_path / "nope.db"), "--output", "x.jsonl"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_reviewed_cases_train_a_model(client, db, tmp_path, capsys):
    """The loop: reviewers post verdicts, the export feeds `netralitas train` directly."""
    for row in labelled_rows():
        fields = {"id": f"loop-{row['id']}", "text": row["text"], "label": row["label"]}
        response = post(client, **fields, context=row.get("context"), reviewer="tim-loop")
        assert response.status_code == 201
    out = tmp_path / "reviewed.jsonl"
    assert main(["feedback", "export", "--db", str(db), "--output", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    ids = {r.id for r in load_records(out)}
    assert {f"loop-{row['id']}" for row in labelled_rows()} <= ids
    config = tmp_path / "config.toml"
    config.write_text(
        f'name = "dari-reviu"\n[data]\npath = "{out}"\n[model]\nkind = "tfidf"\nC = 4.0\n'
    )
    assert main(["train", str(config), "--output-dir", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "netralitas.json").is_file()


def test_api_key_command_prints_a_working_entry(capsys):
    assert main(["api-key", "tim-jabar", "--scopes", "score,feedback"]) == 0
    out = capsys.readouterr().out
    secret = out.split("it is not stored anywhere): ")[1].split()[0]
    entry = out.split("keys file): ")[1].split()[0]
    key = KeyRing.from_entries([entry]).find(secret)
    assert key is not None and key.scopes == {"score", "feedback"}
    assert main(["api-key", "tim-jabar", "--scopes", "menulis"]) == 2


def test_postgres_store_behaves_like_sqlite(postgres_url, tmp_path):
    """The same store on a real PostgreSQL server (started by the session, see postgres_support)."""
    url, item = postgres_url, f"pg-{uuid.uuid4().hex[:8]}"  # a server given by URL may be reused
    text = f"Coblos nomor 2! ({item})"  # the export keeps one of repeated texts
    store = FeedbackStore(url).create()
    try:
        store.create()  # a second create() (a restart) changes nothing
        entry = FeedbackEntry(item, "rina", text, "supportive")
        assert store.save(entry) == "created"
        assert store.save(FeedbackEntry(item, " Rina ", text, "supportive")) == ("unchanged")
        assert store.save(FeedbackEntry(item, "rina", text, "neutral")) == "updated"
        with pytest.raises(FeedbackConflict):
            store.save(FeedbackEntry(item, "rina", "Teks lain", "neutral"))
        assert [a["action"] for a in store.audit(item)] == ["created", "updated"]
        assert store.audit(item)[0]["at"].tzinfo is not None
    finally:
        store.close()
    summary = export_feedback(url, tmp_path / "pg.jsonl")
    assert any(r.id == item and r.label == "neutral" for r in load_records(summary.path))


def test_postgres_store_through_the_api(tfidf_artifact, postgres_url):
    """POST /v1/feedback with the setting pointing at PostgreSQL (its own database)."""
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=team_key_entries(),
        feedback_db=fresh_database(postgres_url, "feedback_api"),
    )
    with TestClient(create_app(settings)) as pg_client:
        assert post(pg_client, id="api-1").status_code == 201
        assert post(pg_client, id="api-1").json()["status"] == "unchanged"
        assert post(pg_client, id="api-1", text="Teks lain").status_code == 409
        assert post(pg_client, id="api-1", text="a\u0000b").status_code == 422


def test_postgres_keeps_acknowledged_verdicts_when_the_server_is_killed():
    """Every verdict `save()` returned for is there after the PostgreSQL server itself is killed
    with SIGKILL and restarted (crash recovery from the WAL; the cluster's defaults: fsync on,
    synchronous_commit on). The OS stays up, so this checks the commit protocol, not the disk."""
    with own_cluster() as (cluster, url):
        store = FeedbackStore(url).create()
        entries = [FeedbackEntry(f"crash-{i}", "rina", f"Teks {i}", "neutral") for i in range(50)]
        assert [store.save(entry) for entry in entries] == ["created"] * len(entries)
        cluster.kill()
        store.close()
        cluster.restart()
        again = FeedbackStore(url)
        try:
            assert again.count() == len(entries)
            assert len(again.audit()) == len(entries)
        finally:
            again.close()
