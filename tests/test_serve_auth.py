"""Every auth case: open health endpoints; 401 without or with an unknown key; 403 with a key that
lacks the scope; both header forms; hashed keys and their parsing; lazily read settings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from netralitas.serve.app import create_app
from netralitas.serve.auth import KeyRing, hash_key, parse_key_entry
from netralitas.serve.settings import ServeSettings, get_settings

from .serve_support import KEYS, auth, key_entries

ROUTES = {
    "score": ("POST", "/v1/score", {"items": [{"text": "Ayo coblos nomor 2!"}]}),
    "feedback": (
        "POST",
        "/v1/feedback",
        {"id": "p1", "text": "Ayo coblos nomor 2!", "label": "supportive"},
    ),
    "metrics": ("GET", "/metrics", None),
    "model": ("GET", "/v1/model", None),
}
# Which key names may use which route (KEYS in serve_support: ops has every scope).
ALLOWED = {
    "score": {"ops", "scorer"},
    "feedback": {"ops", "reviewer"},
    "metrics": {"ops", "admin"},
    "model": set(KEYS),
}


@pytest.fixture(scope="module")
def client(tfidf_artifact, tmp_path_factory):
    settings = ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(tmp_path_factory.mktemp("auth") / "feedback.sqlite3"),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def call(client, route, headers):
    method, path, body = ROUTES[route]
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES)
def test_no_key_is_401(client, route):
    response = call(client, route, {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_key"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer kunci-palsu"},
        {"X-API-Key": "kunci-palsu"},
        # The digest itself is not a key: knowing the stored hash must not let anyone in.
        {"Authorization": f"Bearer {hash_key(KEYS['ops'][1])}"},
    ],
)
def test_unknown_key_is_401(client, route, headers):
    response = call(client, route, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", KEYS)
def test_scopes_decide_between_403_and_success(client, route, name):
    response = call(client, route, auth(name))
    if name in ALLOWED[route]:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "missing_scope" and repr(name) in error["message"]


def test_x_api_key_header_works_like_bearer(client):
    response = call(client, "score", {"X-API-Key": KEYS["scorer"][1]})
    assert response.status_code == 200
    both = {"X-API-Key": KEYS["scorer"][1], **auth("scorer")}
    assert call(client, "score", both).status_code == 200  # the same key twice is fine


def test_two_different_keys_are_refused(client):
    headers = {"X-API-Key": "kunci-palsu", **auth("ops")}
    response = call(client, "score", headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_key"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_health_and_docs_are_open(client, path):
    response = client.get(path)
    assert response.status_code == 200
    if path in ("/healthz", "/readyz"):
        assert response.json() == {"status": "ok"}


def test_readyz_is_503_before_the_lifespan_loaded_the_model(tfidf_artifact, tmp_path):
    settings = ServeSettings(model_dir=str(tfidf_artifact), feedback_db=str(tmp_path / "f.db"))
    client = TestClient(create_app(settings))  # not entered: the lifespan has not run
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


def test_texts_are_not_logged_by_default(client, caplog):
    secret_text = "Rahasia pribadi: coblos nomor 2 ya"
    with caplog.at_level("DEBUG", logger="netralitas"):
        client.post("/v1/score", json={"items": [{"text": secret_text}]}, headers=auth())
    assert caplog.records, "requests are logged"
    assert all("Rahasia" not in r.getMessage() for r in caplog.records)


# -- key entries --------------------------------------------------------------------------------
def test_key_entries_round_trip_and_find_their_key():
    entry = f"tim-jabar:feedback,score:{hash_key('s3cret')}"
    key = parse_key_entry(entry)
    assert key.scopes == {"score", "feedback"} and key.entry() == entry
    ring = KeyRing([key, parse_key_entry(f"lain:admin:{hash_key('other')}")])
    assert ring.find("s3cret") is key
    assert ring.find("s3cre") is None and ring.find("") is None


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ("tim:score", "name:scope1,scope2:sha256hex"),
        (f"tim:read:{hash_key('x')}", "subset of score, feedback, admin"),
        ("tim:score:kunci-dalam-teks-terang", "not the key itself"),
        (f"t i m:score:{hash_key('x')}", "1-64 characters"),
    ],
)
def test_bad_key_entries_say_how_to_fix_them(entry, match):
    with pytest.raises(ValueError, match=match):
        parse_key_entry(entry)


def test_plain_key_is_never_echoed_in_errors():
    with pytest.raises(ValueError) as info:
        parse_key_entry("kunci-rahasia-sekali-panjang")
    assert "kunci-rahasia-sekali-panjang" not in str(info.value)


def test_duplicate_key_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        KeyRing.from_entries([f"a:score:{hash_key('1')}", f"a:admin:{hash_key('2')}"])


def test_settings_are_read_from_the_environment_lazily(monkeypatch, tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text(f"# tim pemantau\nfile-key:score:{hash_key('f')}\n", encoding="utf-8")
    monkeypatch.setenv("NETRALITAS_MAX_ITEMS", "17")
    monkeypatch.setenv("NETRALITAS_API_KEYS", f"env-key:admin:{hash_key('e')}")
    monkeypatch.setenv("NETRALITAS_API_KEYS_FILE", str(keys_file))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.max_items == 17 and get_settings() is settings
        ring = KeyRing.from_entries(settings.key_entries())
        assert [k.name for k in ring.keys] == ["env-key", "file-key"]
    finally:
        get_settings.cache_clear()


def test_unknown_settings_are_rejected():
    with pytest.raises(ValueError, match="max_itemz"):
        ServeSettings(max_itemz=3)
