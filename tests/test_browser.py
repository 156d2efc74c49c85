"""The reviewer console (`/review`) and the self-check page (`/cek`) in a real browser.

Headless Chromium from the OS packages (`make browser-bin`: Debian's `chromium` and
`chromium-driver`, whose versions always match), driven by Selenium, against the real app served
by uvicorn on a free local port with the session's tiny TF-IDF model and a SQLite feedback store
in a temporary folder. One browser and one server for the module. Screenshots and the pages'
weight and timings go to `reports/browser/`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from netralitas.serve.app import create_app
from netralitas.serve.settings import ServeSettings

from .serve_support import KEYS, auth, free_port, key_entries

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'"
)
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no headless browser: Chromium and chromedriver are not installed (as root on "
    "Debian: `make browser-bin`, i.e. apt-get install chromium chromium-driver)",
)

REPORTS = Path(__file__).resolve().parents[1] / "reports" / "browser"
PARTISAN = "Coblos no 2 pokoknya, Pak Hendro paling peduli sama guru honorer!"
EMOJI = "🔥🔥 Gas pol Kang Sukma, lanjutkan pembangunan desa 👍 👨‍👩‍👧"
NEUTRAL = "Apel pagi hari ini diundur jam 8 karena hujan deras"
LONG = ("Pengumuman dinas: jadwal apel, rapat koordinasi dan kerja bakti minggu ini. " * 40).strip()


@pytest.fixture(scope="module")
def server(tfidf_artifact, tmp_path_factory):
    """The app under uvicorn in a thread of this process, on 127.0.0.1 and a free port."""
    import uvicorn

    db = tmp_path_factory.mktemp("browser") / "feedback.sqlite3"
    settings = ServeSettings(
        model_dir=str(tfidf_artifact), api_keys=key_entries(), feedback_db=str(db)
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start under uvicorn")
        time.sleep(0.05)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", db=db)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
        "--lang=id-ID",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never looks for (or downloads) a driver.
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    REPORTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, seconds: float = 10, what: str = ""):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.05).until(
            lambda d: condition(d) or None
        )
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what or condition}") from None


def console_errors(driver, allowed: tuple[str, ...] = ()) -> list[str]:
    """The browser console's errors since the last call (reading the log empties it)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(a in entry["message"] for a in allowed)
    ]


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def set_value(driver, element_id: str, value: str) -> None:
    # ChromeDriver cannot type characters outside the BMP (emoji): set the value directly.
    js(driver, "document.getElementById(arguments[0]).value = arguments[1]", element_id, value)


def texts(driver, selector: str) -> list[str]:
    return js(
        driver,
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)",
        selector,
    )


def press(driver, key: str) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def open_console(driver, server, key: str = KEYS["ops"][1]) -> None:
    driver.get(f"{server.url}/review")
    wait(driver, lambda d: js(d, "return document.body.dataset.ready === 'true'"), what="script")
    js(driver, "sessionStorage.clear()")
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "key-save").click()


def explained(server, items: list[dict]) -> dict[str, list[str]]:
    """The API's own explanation span texts, per item id."""
    response = httpx.post(
        f"{server.url}/v1/score", json={"items": items, "explain": True}, headers=auth()
    )
    response.raise_for_status()
    return {
        r["id"]: [s["text"] for s in r["explanation"] or []] for r in response.json()["results"]
    }


def test_console_scores_pasted_items_and_highlights_their_words(browser, server):
    open_console(browser, server)
    wait(browser, lambda d: "Model uji" in d.find_element(By.ID, "model").text, what="the model")
    pasted = [
        json.dumps({"id": "fb-uji-1", "text": PARTISAN}, ensure_ascii=False),
        json.dumps({"id": "fb-uji-emoji", "text": EMOJI}, ensure_ascii=False),
        NEUTRAL,  # a plain line: its id is made from its text
        json.dumps({"id": "fb-uji-long", "text": LONG}),
    ]
    set_value(browser, "paste", "\n".join(pasted))
    browser.find_element(By.ID, "load").click()
    wait(
        browser,
        lambda d: len(texts(d, "#list li .badge.pending")) == 0 and len(texts(d, "#list li")) == 4,
        what="4 scored items",
    )
    assert browser.find_element(By.ID, "counter").text == "Belum ditinjau: 4 dari 4"
    expected = explained(
        server, [{"id": "fb-uji-1", "text": PARTISAN}, {"id": "fb-uji-emoji", "text": EMOJI}]
    )
    # The partisan post: its marks are exactly the API's spans.
    assert browser.find_element(By.ID, "item-id").text == "fb-uji-1"
    assert "flag" in browser.find_element(By.ID, "item-meta").text
    marks = texts(browser, "#item-text mark")
    assert marks and sorted(marks) == sorted(expected["fb-uji-1"])
    assert "Hendro" in marks or "2" in marks
    browser.save_screenshot(str(REPORTS / "review-console.png"))
    # The emoji post: spans are code points; cut as UTF-16 they would land two units early.
    press(browser, "j")
    wait(browser, lambda d: d.find_element(By.ID, "item-id").text == "fb-uji-emoji")
    marks = texts(browser, "#item-text mark")
    assert sorted(marks) == sorted(expected["fb-uji-emoji"])
    assert {"Kang", "Sukma"} <= set(marks)
    assert texts(browser, "#item-text") == [EMOJI]  # the whole text, nothing lost or doubled
    browser.save_screenshot(str(REPORTS / "review-emoji.png"))
    # A long post scrolls inside its box: the page does not grow sideways.
    press(browser, "j")
    press(browser, "j")
    wait(browser, lambda d: d.find_element(By.ID, "item-id").text == "fb-uji-long")
    box = js(
        browser,
        "const e = document.getElementById('item-text'); "
        "return [e.scrollHeight, e.clientHeight, document.documentElement.scrollWidth, "
        "window.innerWidth]",
    )
    assert box[0] >= box[1] and box[2] <= box[3]
    assert console_errors(browser) == []


def test_a_verdict_by_keyboard_is_stored(browser, server):
    press(browser, "k")
    press(browser, "k")
    press(browser, "k")
    wait(browser, lambda d: d.find_element(By.ID, "item-id").text == "fb-uji-1")
    press(browser, "1")  # the first side label: supportive
    wait(browser, lambda d: "tersimpan" in d.find_element(By.ID, "status").text, what="saved")
    with sqlite3.connect(server.db) as conn:
        rows = conn.execute(
            "select label, reviewer, key_name, text from feedback where item_id = 'fb-uji-1'"
        ).fetchall()
    assert rows == [("supportive", "ops", "ops", PARTISAN)]
    # The console moved on to the next unreviewed item and counts what is left.
    assert browser.find_element(By.ID, "item-id").text == "fb-uji-emoji"
    assert browser.find_element(By.ID, "counter").text == "Belum ditinjau: 3 dari 4"
    press(browser, "2")  # neutral for the emoji post
    wait(browser, lambda d: d.find_element(By.ID, "counter").text == "Belum ditinjau: 2 dari 4")
    with sqlite3.connect(server.db) as conn:
        label = conn.execute("select label from feedback where item_id = 'fb-uji-emoji'").fetchone()
    assert label == ("neutral",)
    # `u`: only what is still to review.
    press(browser, "u")
    shown = js(
        browser,
        "return Array.from(document.querySelectorAll('#list li')).filter(li => !li.hidden).length",
    )
    assert shown == 2
    press(browser, "u")
    assert console_errors(browser) == []


def test_a_scored_file_is_read_without_rescoring(browser, server, tmp_path):
    rows = [
        {
            "id": "berkas-1",
            "label": "supportive",
            "decision": "review",
            "score": 0.5,
            "score_neutral": 0.5,
            "score_supportive": 0.5,
            "truncated": False,
            "obfuscation": [],
            "model_name": "uji",
            "model_version": "0.9",
            "text": "Gas pol Kang Sukma 👍",
            "explanation": [
                {"start": 8, "end": 18, "text": "Kang Sukma", "weight": 0.3},
                {"start": 19, "end": 20, "text": "👍", "weight": 0.1},
            ],
        },
    ]
    liked = "🔥 Coblos no 2 pokoknya, Pak Hendro paling peduli sama guru honorer!"
    rows.append({"id": "suka-1", "text": "", "action": "like", "context": liked})  # unscored
    path = tmp_path / "scored.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.ID, "load").click()
    wait(
        browser,
        lambda d: (
            "berkas-1"
            in js(
                d, "return Array.from(document.querySelectorAll('#list li'), li => li.dataset.id)"
            )
        ),
    )
    js(browser, "document.querySelector('#list li[data-id=\"berkas-1\"]').click()")
    wait(browser, lambda d: d.find_element(By.ID, "item-id").text == "berkas-1")
    assert "skor 0.500" in browser.find_element(By.ID, "item-meta").text  # the file's score
    assert texts(browser, "#item-text mark") == ["Kang Sukma", "👍"]
    assert js(browser, "return document.querySelector('#item-text mark').className") == "w5"
    # A like has no text: the liked post (the context) was judged, and is where the marks are.
    wait(
        browser,
        lambda d: js(
            d, "return document.querySelector('#list li[data-id=\"suka-1\"] .badge.flag') !== null"
        ),
    )
    js(browser, "document.querySelector('#list li[data-id=\"suka-1\"]').click()")
    wait(browser, lambda d: d.find_element(By.ID, "item-id").text == "suka-1")
    expected = explained(server, [{"id": "suka-1", "text": "", "action": "like", "context": liked}])
    assert texts(browser, "#item-text mark") == []
    assert sorted(texts(browser, "#item-context mark")) == sorted(expected["suka-1"])
    assert "tindakan: like" in browser.find_element(By.ID, "item-meta").text
    # A verdict on a like is stored on the liked post, as training reads a labelled like.
    press(browser, "1")
    wait(browser, lambda d: "suka-1 tersimpan" in d.find_element(By.ID, "status").text)
    with sqlite3.connect(server.db) as conn:
        row = conn.execute(
            "select label, text, context from feedback where item_id = 'suka-1'"
        ).fetchone()
    assert row == ("supportive", liked, None)
    assert console_errors(browser) == []


def test_api_errors_are_shown_in_plain_words(browser, server):
    open_console(browser, server, key="kunci-yang-salah-sekali")
    wait(browser, lambda d: d.find_element(By.ID, "error").is_displayed(), what="an error")
    assert "Kunci akses tidak dikenal" in browser.find_element(By.ID, "error").text
    # A key without the feedback scope: scoring works, the verdict is refused with a reason.
    open_console(browser, server, key=KEYS["scorer"][1])
    wait(browser, lambda d: "Model uji" in d.find_element(By.ID, "model").text)
    set_value(browser, "paste", NEUTRAL)
    browser.find_element(By.ID, "load").click()
    wait(browser, lambda d: texts(d, "#list li .badge.clear"))
    press(browser, "2")
    wait(browser, lambda d: "tidak punya izin" in d.find_element(By.ID, "error").text)
    # The refused requests are in the console as failed loads (401, 403), nothing else.
    assert console_errors(browser, allowed=("401 (Unauthorized)", "403 (Forbidden)")) == []


def self_check(driver, server, draft: str) -> str:
    driver.get(f"{server.url}/cek")
    set_value(driver, "draf", draft)
    driver.find_element(By.ID, "periksa").click()
    return wait(driver, lambda d: texts(d, ".headline"), what="the advice")[0]


def screenshot(driver, name: str) -> None:
    """The whole page, from the top (a taller window for the shot)."""
    width, height = driver.get_window_size().values()
    js(driver, "window.scrollTo(0, 0)")
    full = js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, full + 140), 4000))
    driver.save_screenshot(str(REPORTS / name))
    driver.set_window_size(width, height)


def test_self_check_of_a_partisan_and_a_neutral_draft(browser, server):
    draft = PARTISAN + " 🔥🔥"
    assert self_check(browser, server, draft) == "Terbaca memihak — sebaiknya jangan diunggah"
    marks = texts(browser, ".result .post mark")
    assert marks and {"Hendro", "2", "no", "pokoknya"} & set(marks)
    assert "Pedoman bagian 4.1" in browser.find_element(By.CSS_SELECTOR, ".rule").text
    assert browser.get_cookies() == []
    screenshot(browser, "self-check.png")
    assert self_check(browser, server, NEUTRAL) == "Terbaca netral"
    assert texts(browser, ".result .post mark") == []
    screenshot(browser, "self-check-neutral.png")
    # The form keeps the draft for editing; nothing of it was stored.
    assert browser.find_element(By.ID, "draf").get_attribute("value") == NEUTRAL
    with sqlite3.connect(server.db) as conn:
        stored = conn.execute("select count(*) from feedback where text = ?", (NEUTRAL,))
        assert stored.fetchone() == (0,)
    assert console_errors(browser) == []


def test_page_weight_and_time_to_interactive(browser, server):
    """Measured, written to reports/browser/pages.json (the load average beside it: the
    machine is shared, so the timings are indicative)."""
    out = {}
    for path, assets in (("/review", ("pages.css", "review.js")), ("/cek", ("pages.css",))):
        weight = {path: len(httpx.get(server.url + path).content)}
        weight |= {a: len(httpx.get(f"{server.url}/static/{a}").content) for a in assets}
        timings = []
        for _ in range(3):
            browser.get(server.url + path)
            wait(browser, lambda d: js(d, "return document.readyState === 'complete'"))
            timings.append(
                js(
                    browser,
                    "const n = performance.getEntriesByType('navigation')[0]; "
                    "return [n.domInteractive, n.loadEventEnd]",
                )
            )
        out[path] = {
            "bytes": weight,
            "total_bytes": sum(weight.values()),
            "dom_interactive_ms": sorted(t[0] for t in timings)[1],
            "load_event_end_ms": sorted(t[1] for t in timings)[1],
        }
        assert out[path]["total_bytes"] < 100_000
    # The self-check answer: the draft scored and explained on the server, then rendered.
    result = httpx.post(f"{server.url}/cek", data={"draf": PARTISAN})
    timings = []
    for _ in range(3):
        self_check(browser, server, PARTISAN)
        timings.append(
            js(
                browser,
                "const n = performance.getEntriesByType('navigation')[0]; "
                "return [n.responseStart, n.domInteractive, n.loadEventEnd]",
            )
        )
    out["POST /cek"] = {
        "bytes": {
            "/cek result": len(result.content),
            "pages.css": out["/cek"]["bytes"]["pages.css"],
        },
        "response_start_ms": sorted(t[0] for t in timings)[1],
        "dom_interactive_ms": sorted(t[1] for t in timings)[1],
        "load_event_end_ms": sorted(t[2] for t in timings)[1],
    }
    out["loadavg"] = (
        Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    )
    (REPORTS / "pages.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(json.dumps(out))
    assert console_errors(browser) == []
