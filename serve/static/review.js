// The reviewer console (/review): load scored or pasted items, show decisions and the words
// behind them, record verdicts with the keyboard. Vanilla JavaScript, no build step, no inline
// code (the page's Content-Security-Policy allows scripts from this server only). Text is only
// ever put in the page with textContent, never parsed as HTML.
//
// Explanation spans are Python string indices: Unicode code points. JavaScript strings index
// UTF-16 units, where an emoji counts twice, so texts are cut as Array.from(text) (code points).
"use strict";

(function () {
  const KEY_STORE = "netralitas.key";
  const DECISIONS = { flag: "tandai", review: "tinjau", clear: "lolos" };
  const $ = (id) => document.getElementById(id);

  const state = {
    key: sessionStorage.getItem(KEY_STORE) || "",
    model: null, // GET /v1/model
    items: [],
    byId: new Map(),
    current: -1,
    filter: "all",
    busy: false,
  };

  // -- the API ---------------------------------------------------------------------------------
  class ApiProblem extends Error {}

  function plainWords(status, body, retryAfter) {
    const detail = body && body.error && body.error.message ? body.error.message : "";
    const wait = retryAfter ? ` Coba lagi setelah ${retryAfter} detik.` : " Coba lagi sebentar lagi.";
    switch (status) {
      case 0:
        return "Server tidak dapat dihubungi. Periksa jaringan, lalu coba lagi.";
      case 401:
        return "Kunci akses tidak dikenal atau belum diisi. Periksa kunci Anda, lalu Simpan lagi.";
      case 403:
        return (
          "Kunci ini tidak punya izin untuk tindakan ini (menyimpan putusan perlu izin " +
          "'feedback', menilai item perlu izin 'score'). Minta kunci yang sesuai ke administrator."
        );
      case 409:
        return "Item dengan id ini sudah tersimpan dengan teks lain. Periksa id di berkas. " + detail;
      case 413:
        return "Permintaan terlalu besar: teks terlalu panjang atau terlalu banyak item. " + detail;
      case 422:
        return "Data ditolak: " + detail;
      case 429:
        return "Batas permintaan per menit untuk kunci ini sudah habis." + wait;
      case 503:
        return "Layanan sedang penuh atau model masih dimuat." + wait;
      case 504:
        return "Penilaian melewati batas waktu. Coba lagi dengan lebih sedikit item.";
      default:
        return `Terjadi kesalahan di server (kode ${status}). ${detail}`;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + state.key };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiProblem(plainWords(0));
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      throw new ApiProblem(plainWords(response.status, data, response.headers.get("Retry-After")));
    }
    return data;
  }

  // -- messages --------------------------------------------------------------------------------
  function say(text) {
    $("status").textContent = text;
  }

  function fail(text) {
    const box = $("error");
    box.textContent = text;
    box.hidden = !text;
  }

  // -- highlighting (code points, like the Python side) ----------------------------------------
  function joinsPrevious(chars, i) {
    if (i <= 0 || i >= chars.length) return false;
    const ch = chars[i];
    const prev = chars[i - 1];
    const code = ch.codePointAt(0);
    if (ch === "\u200d" || prev === "\u200d") return true; // zero-width joiner sequences
    if (/\p{M}/u.test(ch)) return true; // combining marks
    if ((code >= 0xfe00 && code <= 0xfe0f) || (code >= 0x1f3fb && code <= 0x1f3ff)) return true;
    if (code >= 0xe0020 && code <= 0xe007f) return true; // emoji tag characters
    const regional = (c) => c.codePointAt(0) >= 0x1f1e6 && c.codePointAt(0) <= 0x1f1ff;
    if (regional(ch) && regional(prev)) {
      let run = 0;
      while (i - run - 1 >= 0 && regional(chars[i - run - 1])) run++;
      return run % 2 === 1; // flags are pairs
    }
    return false;
  }

  function level(weight, heaviest) {
    if (heaviest <= 0 || weight <= 0) return 1;
    return Math.max(1, Math.min(5, Math.ceil((5 * weight) / heaviest - 1e-9)));
  }

  // Fill `box` with `text`, each span [start, end) (code points) in a <mark>; a stretch covered
  // by several spans is marked once, by the heaviest (the first on a tie), as serve/highlight.py.
  function highlight(box, text, spans) {
    const chars = Array.from(text);
    const n = chars.length;
    const clean = [];
    for (const span of spans || []) {
      let start = Math.max(0, Math.min(n, Math.trunc(Number(span.start))));
      let end = Math.max(0, Math.min(n, Math.trunc(Number(span.end))));
      if (!(start < end)) continue;
      while (start > 0 && joinsPrevious(chars, start)) start--;
      while (end < n && joinsPrevious(chars, end)) end++;
      let weight = Number(span.weight);
      if (!Number.isFinite(weight)) weight = 0;
      clean.push([start, end, weight]);
    }
    box.textContent = "";
    if (!clean.length) {
      box.textContent = text;
      return;
    }
    const heaviest = Math.max(...clean.map((s) => s[2]));
    const owner = new Array(n).fill(-1);
    clean.forEach(([start, end, weight], i) => {
      for (let k = start; k < end; k++) {
        if (owner[k] < 0 || weight > clean[owner[k]][2]) owner[k] = i;
      }
    });
    for (let k = 0; k < n; ) {
      let j = k;
      while (j < n && owner[j] === owner[k]) j++;
      const piece = chars.slice(k, j).join("");
      if (owner[k] < 0) {
        box.append(piece);
      } else {
        const weight = clean[owner[k]][2];
        const mark = document.createElement("mark");
        mark.className = "w" + level(weight, heaviest);
        mark.dataset.weight = String(Number(weight.toPrecision(4)));
        mark.title = "bobot " + weight.toFixed(3);
        mark.textContent = piece;
        box.append(mark);
      }
      k = j;
    }
  }

  // -- reading files and pasted text -----------------------------------------------------------
  function parseDelimited(text, delimiter) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const rows = [];
    let row = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') {
          quoted = false;
        } else {
          field += c;
        }
      } else if (c === '"' && field === "") {
        quoted = true;
      } else if (c === delimiter) {
        row.push(field);
        field = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field);
        rows.push(row);
        row = [];
        field = "";
      } else {
        field += c;
      }
    }
    if (field !== "" || row.length) {
      row.push(field);
      rows.push(row);
    }
    const header = (rows.shift() || []).map((h) => h.trim());
    return rows
      .filter((r) => r.some((cell) => cell !== ""))
      .map((r) => Object.fromEntries(header.map((h, j) => [h, r[j] === undefined ? "" : r[j]])));
  }

  function parseJsonLines(text, where) {
    const trimmed = text.trim();
    if (trimmed.startsWith("[")) return JSON.parse(trimmed);
    const rows = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      try {
        rows.push(JSON.parse(line));
      } catch (err) {
        throw new ApiProblem(`${where} baris ${i + 1} bukan JSON yang sah.`);
      }
    });
    return rows;
  }

  function parsePaste(text) {
    const rows = [];
    for (const line of text.split(/\r?\n/)) {
      if (!line.trim()) continue;
      if (line.trim().startsWith("{")) {
        try {
          rows.push(JSON.parse(line));
          continue;
        } catch (err) {
          // not JSON after all: the line is a post that starts with "{"
        }
      }
      rows.push({ text: line });
    }
    return rows;
  }

  // A stable id for a pasted post (the same text, the same id): FNV-1a, 64 bits.
  function textId(text) {
    let hash = 0xcbf29ce484222325n;
    for (const byte of new TextEncoder().encode(text)) {
      hash ^= BigInt(byte);
      hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    return "tempel-" + hash.toString(16).padStart(16, "0");
  }

  function asList(value) {
    if (Array.isArray(value)) return value;
    if (typeof value === "string" && value.trim()) {
      try {
        const parsed = JSON.parse(value);
        if (Array.isArray(parsed)) return parsed;
      } catch (err) {
        return value.split(";").map((v) => v.trim()).filter(Boolean);
      }
    }
    return [];
  }

  function toItem(row) {
    if (!row || typeof row !== "object") return null;
    let text = typeof row.text === "string" ? row.text : row.input_text;
    const context = typeof row.context === "string" && row.context.trim() ? row.context : null;
    const action = typeof row.action === "string" && row.action ? row.action : null;
    // A like or a reaction has no text of its own: the liked post (context) is what is judged.
    const liked = action === "like" || action === "reaction";
    if ((typeof text !== "string" || !text.trim()) && !(liked && context)) return null;
    if (typeof text !== "string") text = "";
    const id = row.id !== undefined && row.id !== null && String(row.id).trim() ? String(row.id) : textId(text + "\u0000" + (context || ""));
    const score = Number(row.score);
    const decided = Object.hasOwn(DECISIONS, row.decision) && row.score !== "" && Number.isFinite(score);
    const model = row.model && typeof row.model === "object" ? row.model : {};
    return {
      id,
      text,
      context,
      action,
      judgedField: row.judged_field === "context" ? "context" : "text",
      decision: decided ? row.decision : null,
      score: decided ? score : null,
      explanation: asList(row.explanation).filter((s) => s && typeof s === "object"),
      explained: Array.isArray(row.explanation) || typeof row.explanation === "string",
      obfuscation: asList(row.obfuscation).map(String),
      modelVersion: row.model_version || model.version || null,
      verdict: null,
      skipped: false,
      failed: null,
      li: null,
    };
  }

  function addRows(rows, where) {
    let added = 0;
    let skipped = 0;
    for (const row of rows) {
      const item = toItem(row);
      if (!item) {
        skipped++;
        continue;
      }
      if (state.byId.has(item.id)) {
        const old = state.byId.get(item.id);
        if (old.text === item.text) continue; // the same item loaded twice
        item.id = item.id + "#" + textId(item.text).slice(-6);
      }
      state.byId.set(item.id, item);
      state.items.push(item);
      added++;
    }
    let message = `${added} item dimuat dari ${where}.`;
    if (skipped) message += ` ${skipped} baris tanpa kolom text dilewati.`;
    say(message);
    renderList();
    if (state.current < 0 && state.items.length) show(0);
  }

  async function load() {
    fail("");
    const file = $("file").files[0];
    const pasted = $("paste").value;
    try {
      if (file) {
        const text = await file.text();
        const name = file.name.toLowerCase();
        const rows = name.endsWith(".csv")
          ? parseDelimited(text, ",")
          : name.endsWith(".tsv")
            ? parseDelimited(text, "\t")
            : name.endsWith(".txt")
              ? parsePaste(text)
              : parseJsonLines(text, file.name);
        addRows(rows, file.name);
        $("file").value = "";
      }
      if (pasted.trim()) {
        addRows(parsePaste(pasted), "teks yang ditempel");
        $("paste").value = "";
      }
      if (!file && !pasted.trim()) fail("Pilih berkas atau tempel item dulu.");
    } catch (err) {
      fail(err instanceof ApiProblem ? err.message : "Berkas tidak dapat dibaca: " + err.message);
      return;
    }
    await scoreMissing();
  }

  // -- scoring what has no score ---------------------------------------------------------------
  async function scoreMissing() {
    const todo = state.items.filter((item) => item.decision === null && !item.failed);
    $("retry").hidden = true;
    if (!todo.length) return;
    if (!(await connect())) {
      $("retry").hidden = false;
      return;
    }
    const limits = state.model.limits;
    const size = Math.max(1, Math.min(limits.explain_max_items, limits.max_items));
    let done = 0;
    for (let i = 0; i < todo.length; i += size) {
      const batch = [];
      for (const item of todo.slice(i, i + size)) {
        const tooLong = Array.from(item.text).length > limits.max_text_chars ||
          (item.context && Array.from(item.context).length > limits.max_text_chars);
        if (tooLong) {
          item.failed = `lebih dari ${limits.max_text_chars} karakter; tidak dinilai`;
          renderRow(item);
        } else {
          batch.push(item);
        }
      }
      if (!batch.length) continue;
      say(`Menilai item ${done + 1}–${done + batch.length} dari ${todo.length}...`);
      try {
        const answer = await api("POST", "/v1/score", {
          explain: true,
          items: batch.map((it) => {
            const sent = { id: it.id, text: it.text };
            if (it.context) sent.context = it.context;
            if (it.action) sent.action = it.action;
            return sent;
          }),
        });
        answer.results.forEach((result, j) => {
          const item = batch[j];
          item.decision = result.decision;
          item.score = result.score;
          item.explanation = result.explanation || [];
          item.explained = true;
          item.obfuscation = result.obfuscation || [];
          item.judgedField = result.judged_field === "context" ? "context" : "text";
          item.modelVersion = answer.model.version;
          renderRow(item);
        });
        done += batch.length;
      } catch (err) {
        fail(err.message);
        $("retry").hidden = false;
        break;
      }
    }
    say(`${done} item dinilai oleh model.`);
    renderCounter();
    if (state.current >= 0) show(state.current);
  }

  // -- the key and the model -------------------------------------------------------------------
  async function connect() {
    if (state.model) return true;
    if (!state.key) {
      fail("Isi kunci akses dulu, lalu Simpan.");
      return false;
    }
    try {
      state.model = await api("GET", "/v1/model");
    } catch (err) {
      fail(err.message);
      return false;
    }
    const m = state.model;
    $("model").textContent = `Model ${m.name} ${m.version} · label: ${m.labels.join(", ")}`;
    renderVerdictButtons();
    fail("");
    return true;
  }

  // Side labels first (1 = the first side label), the neutral label last.
  function verdictLabels() {
    const m = state.model;
    if (!m) return [];
    return [...m.labels.filter((l) => l !== m.neutral_label), m.neutral_label];
  }

  function renderVerdictButtons() {
    const box = $("verdicts");
    box.textContent = "";
    verdictLabels().forEach((label, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.label = label;
      button.textContent = `${i + 1} · ${label}`;
      button.addEventListener("click", () => record(label));
      box.append(button);
    });
    const skip = document.createElement("button");
    skip.type = "button";
    skip.className = "skip";
    skip.textContent = "s · lewati";
    skip.addEventListener("click", skipCurrent);
    box.append(skip);
  }

  // -- verdicts --------------------------------------------------------------------------------
  async function record(label) {
    const item = state.items[state.current];
    if (!item || state.busy) return;
    if (!(await connect())) return;
    // A like or a reaction has no text of its own: the verdict is on the liked post, stored as
    // the text, which is how training reads a labelled like (model/actions.py, training_view).
    const liked = (item.action === "like" || item.action === "reaction") && !item.text.trim();
    if (!item.text.trim() && !(liked && item.context)) {
      fail("Item ini tidak punya teks untuk disimpan bersama putusan.");
      return;
    }
    state.busy = true;
    fail("");
    const body = { id: item.id, text: liked ? item.context : item.text, label };
    if (item.context && !liked) body.context = item.context;
    const version = item.modelVersion || state.model.version;
    if (version) body.model_version = String(version);
    try {
      const answer = await api("POST", "/v1/feedback", body);
      item.verdict = answer.label;
      item.skipped = false;
      say(`Putusan "${answer.label}" untuk ${item.id} tersimpan (${answer.status}).`);
      renderRow(item);
      renderCounter();
      next(true);
    } catch (err) {
      fail(err.message);
    } finally {
      state.busy = false;
    }
  }

  function skipCurrent() {
    const item = state.items[state.current];
    if (!item) return;
    if (!item.verdict) item.skipped = true;
    renderRow(item);
    next(true);
  }

  // -- the queue -------------------------------------------------------------------------------
  function visible(item) {
    switch (state.filter) {
      case "todo":
        return !item.verdict;
      case "done":
        return Boolean(item.verdict);
      case "flag":
      case "review":
        return item.decision === state.filter;
      default:
        return true;
    }
  }

  function renderRow(item) {
    const li = item.li || document.createElement("li");
    if (!item.li) {
      item.li = li;
      li.addEventListener("click", () => show(state.items.indexOf(item)));
    }
    li.textContent = "";
    li.dataset.id = item.id;
    const mark = document.createElement("span");
    mark.className = "state";
    mark.textContent = item.verdict ? "✓" : item.skipped ? "↷" : "·";
    mark.title = item.verdict ? "sudah ditinjau: " + item.verdict : item.skipped ? "dilewati" : "belum ditinjau";
    const badge = document.createElement("span");
    const kind = item.failed ? "failed" : item.decision || "pending";
    badge.className = "badge " + kind;
    badge.textContent = item.failed ? "gagal" : item.decision ? DECISIONS[item.decision] : "…";
    const snippet = document.createElement("span");
    snippet.className = "snippet";
    snippet.textContent = Array.from(item.text).slice(0, 120).join("");
    li.append(mark, badge, snippet);
    li.hidden = !visible(item);
    li.classList.toggle("current", state.items[state.current] === item);
  }

  function renderList() {
    const list = $("list");
    for (const item of state.items) {
      renderRow(item);
      if (item.li.parentNode !== list) list.append(item.li);
    }
    renderCounter();
  }

  function renderCounter() {
    const total = state.items.length;
    const todo = state.items.filter((item) => !item.verdict).length;
    $("counter").textContent = total
      ? `Belum ditinjau: ${todo} dari ${total}`
      : "Belum ada item.";
    $("counter").dataset.todo = String(todo);
  }

  function show(index) {
    const item = state.items[index];
    if (!item) return;
    const previous = state.items[state.current];
    state.current = index;
    if (previous && previous.li) previous.li.classList.remove("current");
    if (item.li) {
      item.li.classList.add("current");
      item.li.scrollIntoView({ block: "nearest" });
    }
    $("item").hidden = false;
    $("item-id").textContent = item.id;
    const parts = [];
    if (item.failed) parts.push("Tidak dinilai: " + item.failed);
    else if (item.decision) parts.push(`Keputusan model: ${item.decision} (${DECISIONS[item.decision]}) · skor ${item.score.toFixed(3)}`);
    else parts.push("Belum dinilai oleh model.");
    if (item.action) parts.push("tindakan: " + item.action);
    if (item.modelVersion) parts.push("model " + item.modelVersion);
    if (item.obfuscation.length) parts.push("penyamaran dibuka: " + item.obfuscation.join(", "));
    if (item.decision && item.decision !== "clear" && !item.explained) parts.push("berkas tanpa penjelasan kata");
    $("item-meta").textContent = parts.join(" · ");
    // Spans point into the field the model judged (the liked or shared post: the context); a
    // scored file names it on each span (`field`), the API once per result (`judged_field`).
    const inContext = (s) => (s.field || item.judgedField) === "context";
    highlight($("item-text"), item.text, item.explanation.filter((s) => !inContext(s)));
    $("item-context-box").hidden = !item.context;
    highlight($("item-context"), item.context || "", item.explanation.filter(inContext));
    const words = $("item-spans");
    words.textContent = "";
    for (const span of item.explanation) {
      const li = document.createElement("li");
      const word = document.createElement("span");
      word.className = "word";
      word.textContent = span.text;
      const weight = document.createElement("span");
      weight.className = "weight";
      weight.textContent = ` bobot ${Number(span.weight).toFixed(3)}` + (inContext(span) ? " (konteks)" : "");
      li.append(word, weight);
      words.append(li);
    }
    $("item-verdict").textContent = item.verdict
      ? `Putusan Anda: ${item.verdict}`
      : item.skipped
        ? "Dilewati: belum ada putusan."
        : "Belum ada putusan.";
    for (const button of $("verdicts").querySelectorAll("button[data-label]")) {
      button.classList.toggle("chosen", button.dataset.label === item.verdict);
    }
  }

  // The next (or previous) visible item; after a verdict, the next one still to review.
  function next(afterVerdict) {
    const n = state.items.length;
    for (let step = 1; step <= n; step++) {
      const index = state.current + step;
      if (index >= n) break;
      const item = state.items[index];
      if (visible(item) && (!afterVerdict || !item.verdict)) {
        show(index);
        return;
      }
    }
    if (afterVerdict) show(state.current); // refresh the verdict line
  }

  function previous() {
    for (let index = state.current - 1; index >= 0; index--) {
      if (visible(state.items[index])) {
        show(index);
        return;
      }
    }
  }

  function setFilter(value) {
    state.filter = value;
    $("filter").value = value;
    for (const item of state.items) if (item.li) item.li.hidden = !visible(item);
    const current = state.items[state.current];
    if (current && !visible(current)) {
      const first = state.items.findIndex(visible);
      if (first >= 0) show(first);
    }
  }

  // -- keyboard --------------------------------------------------------------------------------
  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    const key = event.key;
    if (key === "j" || key === "ArrowDown") next(false);
    else if (key === "k" || key === "ArrowUp") previous();
    else if (key === "s") skipCurrent();
    else if (key === "u") setFilter(state.filter === "todo" ? "all" : "todo");
    else if (/^[1-9]$/.test(key)) {
      const label = verdictLabels()[Number(key) - 1];
      if (label) record(label);
      else return;
    } else return;
    event.preventDefault();
  }

  // -- start -----------------------------------------------------------------------------------
  function start() {
    $("key").value = state.key;
    $("key-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      state.key = $("key").value.trim();
      state.model = null;
      if (state.key) sessionStorage.setItem(KEY_STORE, state.key);
      if (await connect()) {
        say("Kunci disimpan untuk tab ini.");
        await scoreMissing();
      }
    });
    $("key-forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORE);
      state.key = "";
      state.model = null;
      $("key").value = "";
      $("model").textContent = "Belum terhubung: isi kunci akses lalu Simpan.";
      say("Kunci dihapus dari tab ini.");
    });
    $("load").addEventListener("click", load);
    $("retry").addEventListener("click", () => {
      for (const item of state.items) item.failed = null;
      scoreMissing();
    });
    $("filter").addEventListener("change", (event) => setFilter(event.target.value));
    document.addEventListener("keydown", onKey);
    if (state.key) connect();
    document.body.dataset.ready = "true";
  }

  start();
})();
