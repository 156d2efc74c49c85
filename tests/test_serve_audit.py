"""Who wrote a verdict, its audit trail, adjudicated disputes, one label per exported text, and the
upgrade of a feedback database written by the first release."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from netralitas.cli.main import main
from netralitas.data.records import load_records
from netralitas.serve.app import create_app
from netralitas.serve.auth import hash_key, parse_key_entry
from netralitas.serve.feedback import (
    FeedbackEntry,
    FeedbackStore,
    database_url,
    normalize_reviewer,
)
from netralitas.serve.feedback_export import export_feedback
from netralitas.serve.settings import ServeSettings

from .serve_support import auth, key_entries

TEAM_SECRET = "kunci-tim-garut-rahasia-panjang-sekali"
TEAM = {"Authorization": f"Bearer {TEAM_SECRET}"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("audit") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def client(tfidf_artifact, db):
    team = f"tim-garut:feedback:{hash_key(TEAM_SECRET)}:Rina, budi"
    settings = ServeSettings(
        model_dir=str(tfidf_artifact), api_keys=f"{key_entries()};{team}", feedback_db=str(db)
    )
    with TestClient(create_app(settings)) as client:
        yield client


def post(client, headers, **fields):
    body = {"id": "p1", "text": "Ayo coblos nomor 2!", "label": "supportive"}
    return client.post("/v1/feedback", json=body | fields, headers=headers)


def exported(path) -> dict[str, str]:
    return {r["id"]: r["label"] for r in map(json.loads, path.read_text().splitlines())}


def stored(db, item_id):
    query = "SELECT reviewer, key_name, label FROM feedback WHERE item_id = ? ORDER BY reviewer"
    return sqlite3.connect(db).execute(query, (item_id,)).fetchall()


# -- identity ----------------------------------------------------------------------------------
def test_key_entry_names_the_reviewers_it_acts_for():
    entry = f"tim:feedback:{hash_key('x')}: Rina ,budi"
    key = parse_key_entry(entry)
    assert key.acts_for == {"rina", "budi"}
    assert parse_key_entry(key.entry()) == key
    assert parse_key_entry(f"tim:feedback:{hash_key('x')}").acts_for == frozenset()


def test_reviewer_defaults_to_the_key_name_and_is_normalised(client, db):
    assert post(client, auth("reviewer"), id="own").json()["reviewer"] == "reviewer"
    again = post(client, auth("reviewer"), id="own", reviewer=" Reviewer ")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert stored(db, "own") == [("reviewer", "reviewer", "supportive")]


def test_spellings_of_one_reviewer_are_one_verdict(client, db):
    assert post(client, TEAM, id="spell", reviewer="rina").status_code == 201
    assert post(client, TEAM, id="spell", reviewer="Rina").json()["status"] == "unchanged"
    assert post(client, TEAM, id="spell", reviewer=" rina ", label="neutral").status_code == 200
    assert stored(db, "spell") == [("rina", "tim-garut", "neutral")]


def test_a_key_cannot_write_for_a_reviewer_it_does_not_act_for(client, db):
    response = post(client, TEAM, id="invented", reviewer="siapa-saja")
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("reviewer_not_allowed", "reviewer")
    assert "siapa-saja" in error["message"] and "'budi'" in error["message"]
    assert stored(db, "invented") == []
    # An administrator's key may enter verdicts for anyone (e.g. from a paper review).
    assert post(client, auth("ops"), id="invented", reviewer="Siapa-Saja").status_code == 201
    assert stored(db, "invented") == [("siapa-saja", "ops", "supportive")]


# -- audit -------------------------------------------------------------------------------------
def test_every_change_is_audited(client):
    post(client, TEAM, id="aud", reviewer="rina", note="jelas mendukung")
    post(client, TEAM, id="aud", reviewer="rina", note="jelas mendukung")  # unchanged: no row
    post(client, TEAM, id="aud", reviewer="budi", label="neutral")
    post(client, TEAM, id="aud", reviewer="rina", label="neutral", note="ternyata berita")
    response = client.get("/v1/feedback/aud/audit", headers=auth("reviewer"))
    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [
        (e["key"], e["reviewer"], e["action"], e["old_label"], e["new_label"], e["note"])
        for e in entries
    ] == [
        ("tim-garut", "rina", "created", None, "supportive", "jelas mendukung"),
        ("tim-garut", "budi", "created", None, "neutral", None),
        ("tim-garut", "rina", "updated", "supportive", "neutral", "ternyata berita"),
    ]
    times = [dt.datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times) and all(t.utcoffset() == dt.timedelta(0) for t in times)


def test_the_audit_command_prints_and_filters_the_trail(client, db, tmp_path, capsys):
    post(client, TEAM, id="cli-1", reviewer="rina")
    post(client, TEAM, id="cli-1", reviewer="rina", label="neutral", note="berita")
    post(client, auth("reviewer"), id="cli-2")
    assert main(["feedback", "audit", "--db", str(db), "--item", "cli-1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["action"], r["old_label"], r["new_label"], r["note"]) for r in rows] == [
        ("created", None, "supportive", None),
        ("updated", "supportive", "neutral", "berita"),
    ]
    assert main(["feedback", "audit", "--db", str(db), "--reviewer", " RINA "]) == 0
    rina = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rina and {r["reviewer"] for r in rina} == {"rina"}
    assert main(["feedback", "audit", "--db", str(db), "--key", "reviewer"]) == 0
    by_key = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["key_name"] for r in by_key} == {"reviewer"}
    assert "cli-2" in {r["item_id"] for r in by_key} and "cli-1" not in {
        r["item_id"] for r in by_key
    }
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert main(["feedback", "audit", "--db", str(db), "--since", future]) == 0
    assert capsys.readouterr().out == ""
    out = tmp_path / "audit.csv"
    assert main(["feedback", "audit", "--db", str(db), "--output", str(out)]) == 0
    assert "item_id" in out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert main(["feedback", "audit", "--db", str(db), "--since", "kemarin"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert main(["feedback", "audit", "--db", str(tmp_path / "none.sqlite3")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_item_ids_with_slashes_have_an_audit(client):
    assert post(client, TEAM, id="fb/2029/7", reviewer="rina").status_code == 201
    response = client.get("/v1/feedback/fb%2F2029%2F7/audit", headers=auth("admin"))
    assert response.status_code == 200 and response.json()["id"] == "fb/2029/7"


def test_audit_needs_feedback_or_admin_and_a_known_item(client):
    post(client, TEAM, id="aud-scope", reviewer="rina")
    assert client.get("/v1/feedback/aud-scope/audit", headers=auth("admin")).status_code == 200
    denied = client.get("/v1/feedback/aud-scope/audit", headers=auth("scorer"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "missing_scope"
    missing = client.get("/v1/feedback/tidak-ada/audit", headers=auth("admin"))
    assert missing.status_code == 404 and "tidak-ada" in missing.json()["error"]["message"]


def test_the_audit_table_is_append_only(client, db):
    post(client, TEAM, id="append", reviewer="rina")
    conn = sqlite3.connect(db, isolation_level=None)  # autocommit: no write lock left behind
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE feedback_audit SET new_label = 'neutral'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM feedback_audit")
    finally:
        conn.close()


# -- disputes ----------------------------------------------------------------------------------
def test_adjudication_settles_a_dispute(client, db, tmp_path):
    text = "Adjudikasi: dukung paslon nomor 2 ya"
    for reviewer, label in (("rina", "supportive"), ("budi", "neutral")):
        response = post(client, TEAM, id="sengketa", text=text, reviewer=reviewer, label=label)
        assert response.status_code == 201, response.text
    out = tmp_path / "before.jsonl"
    export_feedback(str(db), out)
    assert "sengketa" not in exported(out)

    body = {"label": "supportive", "note": "ajakan memilih"}
    url = "/v1/feedback/sengketa/adjudicate"
    denied = client.post(url, json=body, headers=auth("reviewer"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "missing_scope"
    first = client.post(url, json=body, headers=auth("admin"))
    assert first.status_code == 201
    assert first.json() == {
        "id": "sengketa",
        "label": "supportive",
        "previous_label": None,
        "status": "created",
    }
    assert client.post(url, json=body, headers=auth("admin")).json()["status"] == "unchanged"
    changed = client.post(url, json=body | {"label": "neutral"}, headers=auth("admin"))
    assert changed.status_code == 200
    assert (changed.json()["status"], changed.json()["previous_label"]) == ("updated", "supportive")

    summary = export_feedback(str(db), out)
    assert exported(out)["sengketa"] == "neutral" and summary.adjudicated >= 1
    audit = client.get("/v1/feedback/sengketa/audit", headers=auth("admin")).json()["entries"]
    assert [(e["action"], e["key"], e["new_label"]) for e in audit][-2:] == [
        ("adjudicated", "admin", "supportive"),
        ("adjudicated", "admin", "neutral"),
    ]


@pytest.mark.parametrize(
    ("item", "body", "status", "code"),
    [
        ("tidak-ada", {"label": "neutral", "note": "x"}, 404, "not_found"),
        ("sengketa", {"label": "mendukung", "note": "x"}, 422, "unknown_label"),
        ("sengketa", {"label": "neutral"}, 422, "invalid_request"),  # a note is required
    ],
)
def test_bad_adjudications_say_why(client, item, body, status, code):
    response = client.post(f"/v1/feedback/{item}/adjudicate", json=body, headers=auth("admin"))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


# -- export: one label per text ----------------------------------------------------------------
def test_export_writes_a_text_once_and_never_with_two_labels(tmp_path, capsys):
    path = tmp_path / "fb.db"
    store = FeedbackStore(database_url(str(path))).create()
    for entry in [
        FeedbackEntry("a1", "rina", "Coblos nomor 2!", "supportive"),
        FeedbackEntry("a2", "budi", "  coblos   NOMOR 2! ", "supportive"),  # same text, once
        FeedbackEntry("b1", "rina", "Rapat jam 9 di aula", "neutral"),
        FeedbackEntry("b2", "budi", "Rapat jam 9 di aula", "supportive"),  # opposite: left out
        FeedbackEntry("c1", "rina", "Apel pagi diundur", "neutral"),
    ]:
        store.save(entry)
    store.close()
    out = tmp_path / "out.jsonl"
    assert main(["feedback", "export", "--db", str(path), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["label"]) for r in rows] == [("a1", "supportive"), ("c1", "neutral")]
    assert "1 repeated text" in printed and "1 text(s) (2 item(s))" in printed


# -- migration ---------------------------------------------------------------------------------
# The schema the first release created (SQLAlchemy's CREATE TABLE for the original `feedback`).
OLD_SCHEMA = """
CREATE TABLE feedback (
    item_id VARCHAR(200) NOT NULL,
    reviewer VARCHAR(120) NOT NULL,
    text TEXT NOT NULL,
    context TEXT,
    label VARCHAR(64) NOT NULL,
    note TEXT,
    model_version VARCHAR(100),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (item_id, reviewer)
)
"""


def test_a_database_of_the_first_release_is_upgraded_without_losing_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(OLD_SCHEMA)
    old_rows = [
        ("x", "Rina", "Coblos nomor 2!", None, "neutral", "awal", "0.9", "2029-01-01 08:00:00"),
        ("x", "rina", "Coblos nomor 2!", None, "supportive", None, None, "2029-01-02 08:00:00"),
        ("y", "budi", "Rapat jam 9", "ctx", "neutral", None, None, "2029-01-01 09:00:00"),
    ]
    conn.executemany(
        "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, row[-1]) for row in old_rows],
    )
    conn.commit()
    conn.close()

    store = FeedbackStore(database_url(str(path))).create()
    try:
        kept = [
            tuple(r[k] for k in ("item_id", "reviewer", "label", "note", "key_name"))
            for r in store.rows()
        ]
        assert kept == [
            ("x", "Rina", "neutral", "awal", None),
            ("x", "rina", "supportive", None, None),
            ("y", "budi", "neutral", None, None),
        ]
        assert store.audit("x") == []  # no history was recorded before the upgrade
        assert store.save(FeedbackEntry("z", "Rina", "Baru", "neutral", key_name="ops")) == (
            "created"
        )
        FeedbackStore(store.url).create().close()  # opening again is a no-op
    finally:
        store.close()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM feedback").fetchone() == (4,)
    # `Rina` and `rina` are one reviewer: the latest verdict (supportive) stands, no dispute.
    summary = export_feedback(str(path), tmp_path / "out.jsonl")
    labels = {r.id: r.label for r in load_records(summary.path)}
    assert labels == {"x": "supportive", "y": "neutral", "z": "neutral"}
    assert summary.disagreements == 0


def test_export_upgrades_an_old_database_on_open(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(OLD_SCHEMA)
    conn.execute(
        "INSERT INTO feedback VALUES ('a', 'rina', 'Teks', NULL, 'neutral', NULL, NULL, "
        "'2029-01-01 08:00:00', '2029-01-01 08:00:00')"
    )
    conn.commit()
    conn.close()
    summary = export_feedback(str(path), tmp_path / "out.jsonl")
    assert summary.written == 1


def test_normalize_reviewer():
    assert normalize_reviewer("  Rina\tWati ") == normalize_reviewer("rina wati") == "rina wati"


def test_workers_opening_a_new_database_at_once_all_succeed(tmp_path):
    """Two workers of one server create the same new database together: `create_all` checks then
    creates, so one of them finds a table the other made in between (seen in CI)."""
    import multiprocessing

    for round_ in range(5):
        url = database_url(str(tmp_path / f"new-{round_}.sqlite3"))
        with multiprocessing.get_context("fork").Pool(4) as pool:
            assert pool.map(_open_store, [url] * 4) == [True] * 4


def _open_store(url: str) -> bool:
    FeedbackStore(url).create().close()
    return True
