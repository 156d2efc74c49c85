"""The pages for people (`serve/pages/`): the reviewer console's page and assets, the self-check
page (`/cek`: advice, highlights, the guideline rule; nothing stored, logged or set as a cookie;
keys and rate limits), and the guideline page. In-process; `test_browser.py` runs them in Chromium.
"""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest
from fastapi.testclient import TestClient

from netralitas.serve.admission import RateLimited
from netralitas.serve.app import create_app
from netralitas.serve.pages.advice import ADVICE, pick_rule
from netralitas.serve.pages.guideline import render_markdown, rule_text
from netralitas.serve.pages.shell import CSP
from netralitas.serve.pages.throttle import BoundedBuckets, address_limiter
from netralitas.serve.settings import ServeSettings

from .serve_support import KEYS, auth, key_entries

PARTISAN = "Coblos no 2 pokoknya, Pak Hendro paling peduli sama guru honorer! 🔥"
NEUTRAL = "Apel pagi hari ini diundur jam 8 karena hujan deras"


def _settings(tfidf_artifact, db, **overrides) -> ServeSettings:
    return ServeSettings(
        model_dir=str(tfidf_artifact),
        api_keys=key_entries(),
        feedback_db=str(db),
        max_text_chars=400,
        **overrides,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("pages") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def client(tfidf_artifact, db):
    with TestClient(create_app(_settings(tfidf_artifact, db))) as client:
        yield client


def headline(page: str) -> str:
    found = re.search(r'<h2 class="headline">(.*?)</h2>', page)
    return found.group(1) if found else ""


def marks(page: str) -> list[str]:
    return re.findall(r"<mark [^>]*>(.*?)</mark>", page)


# -- the console page and its assets ---------------------------------------------------------------
def test_console_is_a_page_with_its_own_script_and_a_strict_policy(client):
    response = client.get("/review")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers
    page = response.text
    assert '<script src="/static/review.js" defer></script>' in page
    # No inline script or style anywhere: the policy would block them.
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert "<style" not in page and " style=" not in page
    assert "http://" not in page and "https://" not in page  # no CDN


@pytest.mark.parametrize(
    ("name", "kind", "needle"),
    [("review.js", "text/javascript", "Array.from(text)"), ("pages.css", "text/css", "mark.w5")],
)
def test_assets_are_served_from_the_package_with_revalidation(client, name, kind, needle):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert needle in response.text  # pages.css carries serve/highlight.py's colours
    again = client.get(f"/static/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize("name", ["../app.py", "app.py", "review.js.map", "%2e%2e%2fsettings.py"])
def test_only_the_shipped_assets_are_served(client, name):
    assert client.get(f"/static/{name}").status_code == 404


def test_pages_are_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/review", "/cek", "/pedoman", "/static/{name}"} & set(paths)


# -- the self-check page -----------------------------------------------------------------------------
def test_the_form_works_without_javascript(client):
    response = client.get("/cek")
    assert response.status_code == 200
    page = response.text
    assert '<form method="post" action="/cek#hasil"' in page and 'name="draf"' in page
    assert "<script" not in page
    assert 'name="kunci"' not in page  # no key asked for by default
    assert 'maxlength="400"' in page


def test_a_partisan_draft_reads_as_taking_a_side_with_its_words_marked(client):
    response = client.post("/cek", data={"draf": PARTISAN})
    assert response.status_code == 200
    page = response.text
    assert (
        headline(page) == ADVICE["flag"].headline == "Terbaca memihak — sebaiknya jangan diunggah"
    )
    assert "bukan putusan" in page
    marked = marks(page)
    assert marked and {"Hendro", "2", "no"} & set(marked)
    # The rule for a draft that names a contestant and takes a side, quoted from the guideline.
    assert "Pedoman bagian 4.1" in page
    assert "memuji, mempromosikan atau mendukung" in page
    assert 'href="/pedoman#s4-1"' in page
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"


def test_a_neutral_draft_reads_as_neutral(client):
    page = client.post("/cek", data={"draf": NEUTRAL}).text
    assert headline(page) == "Terbaca netral"
    assert not marks(page)
    assert "Pedoman bagian 1:" in page and "wajib netral" in page


def test_the_advice_follows_the_scorer_decision(client):
    """The page adds no rule of its own: its headline is the API's decision, phrased."""
    for draft in (PARTISAN, NEUTRAL, "Gas pol, lanjutkan 2 periode ✌️"):
        api = client.post("/v1/score", json={"items": [{"text": draft}]}, headers=auth())
        decision = api.json()["results"][0]["decision"]
        page = client.post("/cek", data={"draf": draft}).text
        assert headline(page) == ADVICE[decision].headline


def test_the_draft_is_escaped_and_kept_in_the_form(client):
    draft = 'Coblos no 2 <script>alert("x")</script> & pilih Pak Hendro'
    page = client.post("/cek", data={"draf": draft}).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; pilih" in page


def test_an_empty_or_too_long_draft_is_refused_in_indonesian(client):
    empty = client.post("/cek", data={"draf": "   "})
    assert empty.status_code == 422 and "Draf masih kosong" in empty.text
    long = client.post("/cek", data={"draf": "kata " * 100})
    assert long.status_code == 422
    assert "Draf terlalu panjang: 500 karakter, batasnya 400" in long.text


def test_nothing_of_the_draft_is_stored_logged_or_set_as_a_cookie(client, db, caplog):
    secret = "Rahasia-draf-7f3a coblos no 2 Pak Hendro"
    with caplog.at_level(logging.DEBUG):
        response = client.post("/cek", data={"draf": secret})
        neutral = client.post("/cek", data={"draf": "Rahasia-draf-7f3a apel pagi diundur"})
    assert response.status_code == neutral.status_code == 200
    assert "set-cookie" not in response.headers and "set-cookie" not in neutral.headers
    assert not response.cookies and not client.cookies
    assert caplog.records  # the access log line is there, without the text
    for record in caplog.records:
        assert "Rahasia-draf-7f3a" not in record.getMessage()
        assert "Rahasia-draf-7f3a" not in repr(record.args)
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in conn.execute(f'select * from "{table}"'):
                assert "Rahasia-draf-7f3a" not in repr(row)
    metrics = client.get("/metrics", headers=auth("admin")).text
    assert "Rahasia" not in metrics and 'route="/cek"' in metrics


def test_the_page_can_be_turned_off(tfidf_artifact, tmp_path):
    settings = _settings(tfidf_artifact, tmp_path / "f.sqlite3", self_check=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/cek").status_code == 404
        assert client.post("/cek", data={"draf": NEUTRAL}).status_code == 404
        assert client.get("/review").status_code == 200


def test_keyless_callers_are_limited_per_address(tfidf_artifact, tmp_path):
    settings = _settings(tfidf_artifact, tmp_path / "f.sqlite3", self_check_per_minute=2)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            ok = client.post("/cek", data={"draf": NEUTRAL})
            assert ok.status_code == 200 and "ratelimit-remaining" in ok.headers
        refused = client.post("/cek", data={"draf": NEUTRAL})
        assert refused.status_code == 429
        assert "Terlalu banyak pemeriksaan dalam semenit" in refused.text
        assert int(refused.headers["retry-after"]) >= 1
        # Another address has its own allowance: charged, then refused for the empty draft
        # (422, not 429). That client is not started, so it must not reach the model.
        other = TestClient(client.app, client=("203.0.113.9", 5000))
        assert other.post("/cek", data={"draf": " "}).status_code == 422
        assert client.post("/cek", data={"draf": " "}).status_code == 429


def test_a_required_key_is_asked_for_and_charged(tfidf_artifact, tmp_path):
    settings = _settings(
        tfidf_artifact,
        tmp_path / "f.sqlite3",
        self_check_key_required=True,
        rate_requests_per_minute=2,
    )
    with TestClient(create_app(settings)) as client:
        assert 'name="kunci"' in client.get("/cek").text
        missing = client.post("/cek", data={"draf": NEUTRAL})
        assert missing.status_code == 401 and "memerlukan kunci akses" in missing.text
        wrong = client.post("/cek", data={"draf": NEUTRAL, "kunci": "bukan-kunci-yang-benar"})
        assert wrong.status_code == 401 and "tidak dikenal" in wrong.text
        no_scope = client.post("/cek", data={"draf": NEUTRAL, "kunci": KEYS["reviewer"][1]})
        assert no_scope.status_code == 403
        ok = client.post("/cek", data={"draf": PARTISAN, "kunci": KEYS["scorer"][1]})
        assert ok.status_code == 200 and headline(ok.text)
        assert KEYS["scorer"][1] not in ok.text  # the key is never written back into the page
        # The key's own score quota: one request left of two, then 429.
        client.post("/cek", data={"draf": NEUTRAL, "kunci": KEYS["scorer"][1]})
        limited = client.post("/cek", data={"draf": NEUTRAL, "kunci": KEYS["scorer"][1]})
        assert limited.status_code == 429


def test_bounded_buckets_forget_the_least_recent_address():
    now = [0.0]
    limiter = address_limiter(1, max_addresses=2, clock=lambda: now[0])
    limiter.charge("a", 1)
    limiter.charge("b", 1)
    with pytest.raises(RateLimited):
        limiter.charge("a", 1)  # "a" is now the most recently seen
    limiter.charge("c", 1)  # drops "b"
    store = limiter.store
    assert isinstance(store, BoundedBuckets) and len(store) == 2
    limiter.charge("b", 1)  # "b" was forgotten: a fresh minute
    with pytest.raises(RateLimited):
        limiter.charge("b", 1)


# -- the advice and the guideline ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("decision", "mentions", "section"),
    [
        ("flag", True, "4.1"),
        ("review", True, "4.1"),
        ("flag", False, "7.11"),
        ("review", False, "7.11"),
        ("clear", True, "4.2"),
        ("clear", False, "1"),
    ],
)
def test_each_decision_has_a_rule_quoted_from_the_shipped_guideline(decision, mentions, section):
    rule = pick_rule(decision, mentions)
    assert rule.section == section
    assert rule_text(section)  # present in data/GUIDELINE.md, its Indonesian part
    assert "**EN.**" not in rule_text(section)


def test_advice_never_reads_as_a_verdict():
    for advice in ADVICE.values():
        assert not re.search(r"\b(melanggar|bersalah|terbukti)\b", advice.headline + advice.detail)


def test_the_guideline_page_has_an_anchor_per_section(client):
    response = client.get("/pedoman")
    assert response.status_code == 200
    page = response.text
    for anchor in ("s1", "s4-1", "s4-2", "s7-11"):
        assert f'id="{anchor}"' in page
    assert "<table>" in page and "<script" not in page


def test_markdown_is_escaped():
    assert render_markdown("**a** <b>x</b> `c`") == (
        "<p><strong>a</strong> &lt;b&gt;x&lt;/b&gt; <code>c</code></p>"
    )


def test_the_assets_ship_in_the_package():
    """Every file under serve/static/ matches a package-data pattern: a regular (non-editable)
    install serves the same pages."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    patterns = setuptools["package-data"]["netralitas.serve"]
    assert "netralitas.serve.pages" in setuptools["packages"]
    for path in (root / "serve" / "static").iterdir():
        name = f"static/{path.name}"
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
