"""A SentencePiece "precompiled charsmap" built from a per-code-point replacement table.

Hugging Face `tokenizers` applies such a map with `normalizers.Precompiled`, in native code: one
normaliser instead of thousands of `Replace` steps. The format (SentencePiece's
`normalizer.cc`, read by the `spm_precompiled` crate of `tokenizers`) is

    u32 trie bytes | darts-clone double-array trie (u32 units) | replacements, each NUL-terminated

The trie maps the UTF-8 bytes of a code point to the offset of its replacement. A unit holds a
label (low 8 bits; bit 31 marks a leaf unit, whose other bits are the value), a has-leaf flag
(bit 8) and the offset to its children (bits 10-31, shifted 8 more when bit 9 is set). From a
node at position p with offset o, the child for byte c is at p ^ o ^ c and a key ending there has
its leaf at p ^ o. Each node gets its own base p ^ o, so no walk can land on a stranger's child.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping

__all__ = ["precompiled_charsmap"]

_LEAF_FLAG = 1 << 8
_VALUE_FLAG = 1 << 31
_MAX_PLAIN_OFFSET = 1 << 21
_BLOCK = 256


def _offset_bits(offset: int) -> int:
    if offset < _MAX_PLAIN_OFFSET:
        return offset << 10
    if offset & 0xFF or offset >= 1 << 29:  # pragma: no cover - needs a trie of millions of keys
        raise ValueError(f"double-array offset {offset} cannot be encoded")
    return (offset << 2) | (1 << 9)


def _double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """darts-clone units for `keys` (distinct, non-empty, without NUL bytes) -> values."""
    end = -1  # the child slot of a node at which a key ends (label 0 in the array)
    root: dict[int, dict] = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[end] = value  # type: ignore[assignment]
    units = [0] * _BLOCK
    used = bytearray(_BLOCK)
    used[0] = 1  # the root
    bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[dict, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = sorted(k for k in node if k != end)
        slots = ([0] if end in node else []) + labels
        while first_free < len(used) and used[first_free]:
            first_free += 1
        candidate = first_free
        while True:
            base = candidate ^ slots[0]
            if base not in bases:
                top = (base | (_BLOCK - 1)) + 1
                if top > len(units):
                    units.extend([0] * (top - len(units)))
                    used.extend(bytes(top - len(used)))
                if all(not used[base ^ s] and base ^ s for s in slots):
                    break
            candidate += 1
            while candidate < len(used) and used[candidate]:
                candidate += 1
        bases.add(base)
        units[position] |= _offset_bits(position ^ base)
        if end in node:
            units[position] |= _LEAF_FLAG
            units[base] = node[end] | _VALUE_FLAG
            used[base] = 1
        for label in labels:
            child = base ^ label
            units[child] = label
            used[child] = 1
            queue.append((node[label], child))
    return units


def precompiled_charsmap(table: Mapping[int, str]) -> bytes:
    """The charsmap replacing each code point of `table` by its string ("" deletes it)."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(table):
        if cp == 0:
            raise ValueError("U+0000 cannot be a key of a precompiled charsmap")
        replacement = table[cp]
        if "\0" in replacement:
            raise ValueError(f"the replacement of U+{cp:04X} contains U+0000")
        if replacement not in where:
            where[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), where[replacement]))
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)
