"""The reviewer console, `/review`, and the guideline page, `/pedoman`.

The console is a static page and one script (`serve/static/review.js`): the reviewer's key stays
in the browser tab (`sessionStorage`) and goes to the API as `Authorization: Bearer KEY`, so the
page itself needs no key and holds no data. The script reads scored files (`netralitas score`
output, JSON Lines or CSV) or pasted items in the browser, scores what has no score through
`POST /v1/score` with `explain`, and records verdicts through `POST /v1/feedback`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from netralitas.serve.pages.guideline import render_guideline
from netralitas.serve.pages.shell import html_page, page_response

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_CONSOLE = """
<header class="top bar">
  <h1>Konsol peninjau</h1>
  <form id="key-form" class="key" autocomplete="off">
    <label for="key">Kunci akses</label>
    <input id="key" type="password" spellcheck="false" placeholder="ntr_...">
    <button type="submit" id="key-save">Simpan</button>
    <button type="button" id="key-forget" class="link">Lupakan</button>
  </form>
  <p id="model" class="muted">Belum terhubung: isi kunci akses lalu Simpan.</p>
</header>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p id="error" class="error" role="alert" hidden></p>
<main class="console">
  <section class="load" aria-labelledby="load-title">
    <h2 id="load-title">Muat item</h2>
    <label for="file">Berkas hasil <code>netralitas score</code> (.jsonl, .csv)</label>
    <input id="file" type="file" accept=".jsonl,.json,.csv,.tsv,.txt">
    <label for="paste">atau tempel: satu item per baris (teks biasa atau JSON Lines)</label>
    <textarea id="paste" rows="4" spellcheck="false"
      placeholder='Ayo coblos nomor 2!&#10;{"id": "fb-1", "text": "Siap pak", "context": "Kampanye akbar paslon 2"}'></textarea>
    <button type="button" id="load">Muat</button>
    <button type="button" id="retry" hidden>Nilai yang belum dinilai</button>
  </section>
  <section class="queue" aria-labelledby="queue-title">
    <h2 id="queue-title">Antrean</h2>
    <p id="counter" class="counter">Belum ada item.</p>
    <label for="filter">Tampilkan</label>
    <select id="filter">
      <option value="all">Semua</option>
      <option value="todo">Belum ditinjau</option>
      <option value="flag">Ditandai (flag)</option>
      <option value="review">Perlu tinjau (review)</option>
      <option value="done">Sudah ditinjau</option>
    </select>
    <ol id="list" class="list"></ol>
  </section>
  <section class="item" id="item" aria-labelledby="item-title" hidden>
    <h2 id="item-title">Item <span id="item-id"></span></h2>
    <p id="item-meta" class="meta"></p>
    <h3>Teks</h3>
    <div id="item-text" class="post"></div>
    <div id="item-context-box" hidden>
      <h3>Konteks (unggahan induk)</h3>
      <div id="item-context" class="post context"></div>
    </div>
    <ol id="item-spans" class="words"></ol>
    <p id="item-verdict" class="verdict"></p>
    <div id="verdicts" class="verdicts"></div>
  </section>
</main>
<footer class="help">
  <p><strong>Pintasan:</strong> <kbd>j</kbd>/<kbd>k</kbd> berikutnya/sebelumnya,
  <kbd>1</kbd>, <kbd>2</kbd>, ... simpan putusan (label di tombol), <kbd>s</kbd> lewati,
  <kbd>u</kbd> hanya yang belum ditinjau. Putusan dikirim ke <code>/v1/feedback</code> atas nama
  kunci Anda. Tanda dari model adalah alasan untuk memeriksa, bukan putusan.
  <a href="/pedoman">Pedoman</a>.</p>
</footer>
"""


@router.get("/review")
async def review_console() -> HTMLResponse:
    return page_response(
        html_page("Konsol peninjau — netralitas", _CONSOLE, scripts=("review.js",))
    )


@router.get("/pedoman")
async def guideline_page() -> HTMLResponse:
    body = (
        '<main class="narrow guideline">'
        '<p><a href="/cek">← Cek draf</a> · <a href="/review">Konsol peninjau</a></p>'
        f"{render_guideline()}</main>"
    )
    return page_response(html_page("Pedoman netralitas", body))
