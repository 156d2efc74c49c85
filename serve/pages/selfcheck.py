"""The self-check page, `/cek`: a civil servant pastes a draft and sees, in Indonesian, whether it
reads as taking a side, which words weigh most, and the guideline rule that fits.

A plain HTML form (works without JavaScript). The draft is scored by the same steps as
`POST /v1/score` with `explain` (`serve/scoring.py`: the Scorer decides, through the batcher,
under the same admission budget and deadline), and then forgotten: it is never stored, never
logged (the access log line has the method, route, status and time only), and no cookie is set.
Without a key (the default) callers are limited per address (`throttle.py`); with
`NETRALITAS_SELF_CHECK_KEY_REQUIRED` the form asks for a key with the `score` scope, which is
charged against that key's quota like an API call.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from netralitas.model.text.normalize import TextNormalizer
from netralitas.serve.admission import OverBudget, RateLimited, RateLimiter
from netralitas.serve.batcher import QueueFull
from netralitas.serve.deps import ReadyService, ServiceState, get_ready, get_service
from netralitas.serve.errors import ApiError
from netralitas.serve.highlight import highlight_html
from netralitas.serve.limits import check_request_cost, request_cost
from netralitas.serve.pages.advice import ADVICE, pick_rule
from netralitas.serve.pages.guideline import render_markdown, rule_text, section_anchor
from netralitas.serve.pages.shell import escape, html_page, page_response
from netralitas.serve.pages.throttle import address_limiter
from netralitas.serve.schemas import ScoreItem, ScoreRequest, ScoreResult
from netralitas.serve.scoring import score_within

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Service = Annotated[ServiceState, Depends(get_service)]

_OBFUSCATION = {
    "invisible": "karakter tak terlihat",
    "styled": "huruf bergaya",
    "confusable": "huruf mirip dari abjad lain",
    "number_emoji": "emoji angka",
    "spaced": "huruf yang dispasi",
    "leet": "angka pengganti huruf",
    "stretched": "huruf yang dipanjangkan",
}


class PageError(Exception):
    """A refusal shown on the page, in Indonesian, with the HTTP status of the API's answer."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@router.get("/cek")
async def self_check_form(service: Service) -> HTMLResponse:
    _check_enabled(service)
    return _page(service, "")


@router.post("/cek")
async def self_check(request: Request, service: Service) -> HTMLResponse:
    _check_enabled(service)
    form = await _form(request)
    draft = form.get("draf", "").replace("\r\n", "\n")
    try:
        headers = await _admit(request, service, form.get("kunci", ""))
        if not draft.strip():
            raise PageError(422, "Draf masih kosong. Tulis atau tempel draf dulu, lalu periksa.")
        limit = service.settings.max_text_chars
        if len(draft) > limit:
            raise PageError(
                422,
                f"Draf terlalu panjang: {len(draft)} karakter, batasnya {limit}. "
                "Pendekkan draf atau periksa per bagian.",
            )
        ready = await _ready(service)
        result = await _score(request, ready, draft)
    except PageError as exc:
        return _page(service, draft, error=exc)
    mentions = _normalizer(request, ready).mentions_contestant(draft)
    return _page(
        service, draft, result=_result_html(ready, draft, result, mentions), headers=headers
    )


def _check_enabled(service: ServiceState) -> None:
    if not service.settings.self_check:
        raise ApiError(404, "not_found", "the self-check page is turned off on this server")


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form fields (first value of each); anything else reads as an empty form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(body, keep_blank_values=True, max_num_fields=10)
    except ValueError:  # more fields than the form has: not our form
        return {}
    return {name: values[0] for name, values in fields.items()}


async def _admit(request: Request, service: ServiceState, presented: str) -> dict[str, str]:
    """Check the key (when required) and charge the caller's rate; the RateLimit-* headers."""
    settings = service.settings
    try:
        if settings.self_check_key_required:
            presented = presented.strip() or _header_key(request)
            if not presented:
                raise PageError(401, "Halaman ini memerlukan kunci akses. Isi kunci Anda.")
            key = service.keys.find(presented)
            if key is None:
                raise PageError(401, "Kunci akses tidak dikenal. Periksa kunci Anda.")
            if "score" not in key.scopes:
                raise PageError(
                    403, "Kunci ini tidak boleh memakai pemeriksaan draf. Hubungi administrator."
                )
            quota = await service.limiter.acharge(key.name, 1)
        else:
            quota = _throttle(request, service).charge(_address(request), 1)
    except RateLimited as exc:
        raise PageError(
            429,
            f"Terlalu banyak pemeriksaan dalam semenit. Coba lagi setelah {exc.retry_after_s} "
            "detik.",
            exc.quota.headers() | {"Retry-After": str(exc.retry_after_s)},
        ) from None
    return quota.headers() if quota is not None else {}


def _header_key(request: Request) -> str:
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        return bearer[7:].strip()
    return request.headers.get("x-api-key", "").strip()


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _throttle(request: Request, service: ServiceState) -> RateLimiter:
    """The app's per-address limiter, made on first use (one per app)."""
    state = request.app.state
    throttle = getattr(state, "self_check_throttle", None)
    if throttle is None:
        throttle = address_limiter(service.settings.self_check_per_minute)
        state.self_check_throttle = throttle
    return throttle


def _normalizer(request: Request, ready: ReadyService) -> TextNormalizer:
    """A masking normaliser for the served model's profiles, built once per loaded model."""
    state = request.app.state
    cached = getattr(state, "self_check_normalizer", None)
    if cached is None or cached[0] is not ready.model:
        cached = (ready.model, TextNormalizer(ready.model.profiles))
        state.self_check_normalizer = cached
    return cached[1]


async def _ready(service: ServiceState) -> ReadyService:
    try:
        return await get_ready(service)
    except ApiError as exc:
        raise PageError(
            503, "Layanan sedang menyiapkan model. Coba lagi sebentar lagi.", exc.headers
        ) from None


async def _score(request: Request, ready: ReadyService, draft: str) -> ScoreResult:
    """The draft through the API's own path: cost check, admission budget, Scorer, deadline."""
    settings = ready.settings
    body = ScoreRequest(items=[ScoreItem(id="draf", text=draft)], explain=True)
    busy = {"Retry-After": str(settings.retry_after_s)}
    try:
        cost = request_cost(body, settings.explain_max_spans)
        check_request_cost(cost, settings.max_request_tokens, settings.explain_max_words)
        with ready.budget.admit(cost.tokens):
            (result,) = await score_within(ready, body, request, settings.request_timeout_s)
    except (QueueFull, OverBudget):
        raise PageError(503, "Layanan sedang sibuk. Coba lagi sebentar lagi.", busy) from None
    except ApiError as exc:
        if exc.status == 413:
            raise PageError(413, "Draf terlalu panjang untuk diperiksa. Pendekkan draf.") from None
        raise PageError(
            503, "Pemeriksaan tidak selesai tepat waktu. Coba lagi sebentar lagi.", busy
        ) from None
    return result


def _number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}".replace(".", ",")  # Indonesian decimal comma


def _result_html(ready: ReadyService, draft: str, result: ScoreResult, mentions: bool) -> str:
    advice = ADVICE[result.decision]
    thresholds = ready.model.metadata_.thresholds
    spans = result.explanation or []
    marked = highlight_html(draft, [(s.start, s.end, s.weight) for s in spans])
    if spans:
        words = "".join(
            f"<li><span class='word'>{escape(s.text)}</span> "
            f"<span class='weight'>bobot {_number(s.weight, 3)}</span></li>"
            for s in spans
        )
        words = f'<ol class="words">{words}</ol>'
    else:
        words = '<p class="muted">Tidak ada kata yang menonjol.</p>'
    notes = []
    if result.obfuscation:
        kinds = ", ".join(_OBFUSCATION.get(k, k) for k in result.obfuscation)
        notes.append(
            f"Draf ini memakai {escape(kinds)}. Tulisan yang disamarkan tetap terbaca dan "
            "justru menarik perhatian pemeriksa."
        )
    if result.truncated:
        notes.append("Draf ini panjang: model hanya membaca bagian awalnya.")
    note_html = "".join(f'<p class="note">{n}</p>' for n in notes)
    rule = pick_rule(result.decision, mentions)
    title = render_markdown(rule.title).removeprefix("<p>").removesuffix("</p>")
    return (
        f'<section class="result tone-{advice.tone}" id="hasil" aria-live="polite">'
        f'<h2 class="headline">{escape(advice.headline)}</h2>'
        f"<p>{escape(advice.detail)}</p>"
        f'<p class="score">Skor keberpihakan <strong>{_number(result.score)}</strong> dari 1 '
        f"(terbaca memihak mulai {_number(thresholds.flag)}, perlu hati-hati mulai "
        f"{_number(thresholds.review)}). Ini saran dari model, bukan putusan.</p>"
        f'<h3>Kata yang paling berpengaruh</h3><div class="post">{marked}</div>{words}'
        f"{note_html}"
        f"<h3>Aturan pedoman yang relevan</h3><p>{escape(rule.why)}</p>"
        f'<blockquote class="rule"><p class="rule-title">Pedoman bagian {escape(rule.section)}: '
        f"{title}</p>{render_markdown(rule_text(rule.section))}</blockquote>"
        f'<p><a href="/pedoman#{section_anchor(rule.section)}">Baca bagian ini di pedoman '
        "lengkap</a></p></section>"
    )


def _page(
    service: ServiceState,
    draft: str,
    *,
    result: str = "",
    error: PageError | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = service.settings
    problem = (
        f'<p class="error" role="alert" id="galat">{escape(error.message)}</p>' if error else ""
    )
    key_field = (
        '<label for="kunci">Kunci akses</label>'
        '<input type="password" id="kunci" name="kunci" autocomplete="off" required>'
        if settings.self_check_key_required
        else ""
    )
    # A textarea drops one leading newline: give it one to drop.
    shown = ("\n" + draft) if draft.startswith("\n") else draft
    body = (
        '<header class="top"><h1>Cek draf sebelum diunggah</h1>'
        '<p class="lead">Untuk ASN: tempel draf unggahan, komentar, atau keterangan saat '
        "membagikan, lalu lihat apakah draf itu terbaca memihak salah satu peserta pemilihan. "
        "<strong>Draf tidak disimpan dan tidak dicatat.</strong></p></header>"
        f'<main class="narrow">{problem}{result}'
        '<form method="post" action="/cek#hasil" accept-charset="utf-8" class="cek">'
        '<label for="draf">Draf</label>'
        f'<textarea id="draf" name="draf" rows="7" maxlength="{settings.max_text_chars}" '
        f'required placeholder="Tulis atau tempel draf di sini">{escape(shown)}</textarea>'
        f'{key_field}<button type="submit" id="periksa">Periksa draf</button></form>'
        '<p class="muted">Hasil pemeriksaan adalah saran dari model, bukan putusan. Model bisa '
        'keliru; aturan yang berlaku ada di <a href="/pedoman">pedoman netralitas</a>.</p>'
        "</main>"
    )
    status = error.status if error else 200
    extra = (error.headers if error else {}) | (headers or {})
    return page_response(html_page("Cek draf — netralitas", body), status, extra)
