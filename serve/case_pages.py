"""The HTML of case files (serve/cases.py): self-contained pages, inline CSS, no script, every
value escaped, the explanation's words marked in the text as written (serve/highlight.py)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from netralitas.serve.highlight import HIGHLIGHT_CSS, highlight_html

if TYPE_CHECKING:
    from netralitas.serve.cases import Case, CaseSet

__all__ = ["NOTICE", "NO_ACCOUNT", "case_page", "index_page"]

NO_ACCOUNT = "(tanpa akun)"
NOTICE = {
    "id": "Penanda (flag) adalah alasan bagi seseorang untuk memeriksa, bukan putusan. Model bisa "
    "keliru: setiap butir harus dibaca dan dinilai oleh pengawas sebelum ada tindakan apa pun.",
    "en": "A flag is a reason for a person to look, never a verdict. The model can be wrong: a "
    "supervisor must read and judge every item before any action is taken.",
}

_CSS = (
    """\
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0 auto;max-width:60rem;padding:1rem 1.25rem 3rem;line-height:1.5;color:#1d1d1f}
h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.notice{border:2px solid #b45309;background:#fff7ed;padding:.6rem .9rem;border-radius:6px}
.notice p{margin:.2rem 0}.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
article{border:1px solid #ccc;border-radius:8px;padding:.75rem 1rem;margin:1rem 0}
.badge{display:inline-block;padding:0 .5rem;border-radius:4px;font-weight:600;color:#fff}
.flag{background:#b91c1c}.review{background:#a16207}
.post{white-space:pre-wrap;overflow-wrap:anywhere;background:#fafafa;border-left:3px solid #999;
padding:.4rem .6rem;margin:.3rem 0}.judged{border-left-color:#ea580c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0;font-size:.9rem}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}.label{font-size:.85rem;color:#555;margin-top:.5rem}
@media print{.notice{border-color:#000}article{break-inside:avoid}}
"""
    + HIGHLIGHT_CSS
)

_DECISION = {"flag": "ditandai / flagged", "review": "perlu ditinjau / for review"}
_JUDGED = {
    "post": "unggahan / the post",
    "comment": "komentar beserta konteksnya / the comment with its context",
    "caption": "keterangan beserta unggahan yang dibagikan / the caption with the shared post",
    "shared post": "unggahan yang dibagikan / the shared post",
    "liked post": "unggahan yang disukai / the liked post",
}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="id">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(title)}</title>\n<style>\n{_CSS}</style>\n</head>\n<body>\n{body}</body>\n"
        "</html>\n"
    )


def _notice() -> str:
    return (
        '<div class="notice" role="note">'
        f'<p lang="id"><strong>{_e(NOTICE["id"])}</strong></p>'
        f'<p lang="en">{_e(NOTICE["en"])}</p></div>\n'
    )


def _models(cases: CaseSet) -> str:
    models = ", ".join(f"{m['name']} {m['version']}".strip() for m in cases.models) or "-"
    if cases.thresholds:
        t = cases.thresholds
        limits = (
            f"ditandai bila skor ≥ {t['flag']:.3f}; ditinjau bila skor ≥ {t['review']:.3f} "
            f"/ flagged at score ≥ {t['flag']:.3f}, review at ≥ {t['review']:.3f}"
        )
    else:
        limits = (
            "tidak tercatat di berkas skor / not recorded in the scored file "
            "(netralitas cases --model MODEL_DIR)"
        )
    explained = (
        f" · penjelasan oleh / explanations by {_e(cases.explained_by['name'])} "
        f"{_e(cases.explained_by['version'])}"
        if cases.explained_by
        else ""
    )
    return (
        f'<p class="meta">Model: {_e(models)} · ambang / thresholds: {_e(limits)}{explained}'
        f"<br>Sumber / source: {_e(cases.source)}</p>\n"
    )


def _link(url: str | None) -> str:
    if not url:
        return "-"
    # Only web links are made clickable: a javascript: or data: URL stays text.
    if urlsplit(url).scheme.lower() in {"http", "https"}:
        return f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">{_e(url)}</a>'
    return _e(url)


def _block(item: dict[str, Any], which: str, title: str) -> str:
    text = item[which]
    if text is None or (which == "text" and not text and item["judged_field"] != "text"):
        return ""
    judged = item["judged_field"] == which
    spans = [
        (s["start"], s["end"], s["weight"])
        for s in item["explanation"] or ()
        if s.get("field", item["judged_field"]) == which
    ]
    body = highlight_html(text, spans) if judged else _e(text)
    css = "post judged" if judged else "post"
    tag = " (dinilai model / judged)" if judged else ""
    return f'<div class="label">{_e(title)}{tag}</div><div class="{css}">{body}</div>\n'


def _item(item: dict[str, Any]) -> str:
    decision = item["decision"]
    score = f"{item['score']:.3f}" if item["score"] is not None else "-"
    words = ", ".join(
        f"{_e(s['text'])} ({s['weight']:.2g})" for s in item["explanation"] or () if s["text"]
    )
    if item["explanation"] is None:
        words = "tidak ada / none in the scored file (netralitas cases --model MODEL_DIR)"
    rows = [
        ("Tindakan / action", _e(item["action"] or "post")),
        ("Yang dinilai / judged", _e(_JUDGED.get(item["judged"], item["judged"]))),
        ("Waktu / time", _e(item["posted_at"] or "-")),
        ("Tautan / link", _link(item["url"])),
        ("Skor / score", f"{score} · label {_e(item['label'] or '-')}"),
        ("Kata terberat / weightiest words", words or "-"),
        ("Penyamaran / obfuscation", _e(", ".join(item["obfuscation"]) or "-")),
        ("ID", _e(item["id"] if item["id"] is not None else item["where"])),
    ]
    read_as = ""
    if item.get("read_as"):
        read_as = (
            '<div class="label">Dibaca model sebagai / as the model read it</div>'
            f'<div class="post">{_e(item["read_as"])}</div>\n'
        )
    return (
        f'<article><span class="badge {_e(decision)}">{_e(_DECISION.get(decision, decision))}'
        f"</span> skor {score}\n"
        + _block(item, "text", "Teks / text")
        + _block(item, "context", "Konteks / context")
        + read_as
        + "<dl>"
        + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
        + "</dl></article>\n"
    )


def case_page(case: Case, cases: CaseSet) -> str:
    """One account's evidence page."""
    title = f"Berkas kasus / Case file: {case.name}"
    body = (
        f"<h1>{_e(title)}</h1>\n"
        + _notice()
        + f"<p>{case.flags} ditandai / flagged · {case.reviews} perlu ditinjau / for review · "
        f'<a href="index.html">semua akun / all accounts</a></p>\n'
        + _models(cases)
        + "".join(_item(item) for item in case.items)
    )
    return _page(title, body)


def index_page(cases: CaseSet) -> str:
    """The accounts, most flags first."""
    rows = "".join(
        f'<tr><td><a href="{_e(c.stem)}.html">{_e(c.name)}</a></td><td class="n">{c.flags}</td>'
        f'<td class="n">{c.reviews}</td><td><a href="{_e(c.stem)}.json">JSON</a></td></tr>\n'
        for c in cases.cases
    )
    if not rows:
        rows = '<tr><td colspan="4">Tidak ada akun / no accounts</td></tr>\n'
    title = "Berkas kasus per akun / Case files by account"
    body = (
        f"<h1>{_e(title)}</h1>\n"
        + _notice()
        + _models(cases)
        + f'<p class="meta">{cases.rows_read} baris dinilai / scored rows · '
        f"dikelompokkan menurut / grouped by {_e(cases.by)} · "
        f"minimal {cases.min_flags} tanda / min flags</p>\n"
        "<table><thead><tr><th>Akun / account</th><th>Ditandai / flags</th>"
        "<th>Ditinjau / reviews</th><th>Data</th></tr></thead>\n<tbody>\n"
        + rows
        + "</tbody></table>\n"
    )
    return _page(title, body)
