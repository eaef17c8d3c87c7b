"""Plain text: one address a line, in hex (`0x...`) or decimal, with an optional kind.

A line is `ADDRESS`, `ADDRESS KIND` or `KIND ADDRESS`, separated by blanks or a comma.
KIND is R (read: a load), W (write: a store) or X (execute: an instruction fetch);
lackey's letters L, S, M, I are accepted too. A line without a kind is a load.
Addresses are decimal unless written with 0x; with radix 16 bare hex is read too.
Blank lines and `#` comments are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numba import njit

from vmsim.errors import ConfigError
from vmsim.kinds import INSTR, LOAD, MODIFY, STORE
from vmsim.trace.base import CHUNK_REFS, TraceChunk, register_format
from vmsim.trace.inputs import Input
from vmsim.trace.lines import HEX, LineReader, skip_line

KIND_OF = np.full(256, -1, dtype=np.int8)
for _letters, _kind in (("RrLl", LOAD), ("WwSs", STORE), ("XxIi", INSTR), ("Mm", MODIFY)):
    for _c in _letters:
        KIND_OF[ord(_c)] = _kind
KIND_LETTERS = np.array([b"X", b"R", b"W", b"M"])


@njit(cache=True, nogil=True)
def _blank(c: int) -> bool:
    """Space, tab or comma."""
    return c == 32 or c == 9 or c == 44


@njit(cache=True, nogil=True)
def _eol(c: int) -> bool:
    """Newline or carriage return."""
    return c == 10 or c == 13


@njit(cache=True, nogil=True)
def parse_text(
    buf: np.ndarray,
    end: int,
    addrs: np.ndarray,
    kinds: np.ndarray,
    sizes: np.ndarray,
    skip_bad: bool,
    option: int,
) -> tuple[int, int, int, int, int, int]:
    """Parse the lines of buf[:end] into the arrays; option is the radix (0: auto, 16: hex)."""
    hexv = HEX
    kof = KIND_OF
    n = 0
    lines = 0
    bad = 0
    first_bad = -1
    skipped = 0
    i = 0
    while i < end:
        start = i
        while i < end and (buf[i] == 32 or buf[i] == 9):
            i += 1
        if _eol(buf[i]) or buf[i] == 35:
            i = skip_line(buf, start, end)
            lines += 1
            skipped += 1
            continue
        kind = -1
        if kof[buf[i]] >= 0 and i + 1 < end and _blank(buf[i + 1]):
            kind = kof[buf[i]]
            i += 1
            while i < end and _blank(buf[i]):
                i += 1
        radix = option
        if i + 1 < end and buf[i] == 48 and (buf[i + 1] == 120 or buf[i + 1] == 88):
            radix = 16
            i += 2
        a = np.uint64(0)
        nd = 0
        ok = True
        while i < end:
            h = hexv[buf[i]]
            if h < 0 or (radix != 16 and h > 9):
                break
            if radix == 16:
                ok = bool(ok and nd < 16)
                a = (a << np.uint64(4)) | np.uint64(h)
            else:
                ok = bool(ok and a <= np.uint64(1844674407370955161) and nd < 20)
                a = a * np.uint64(10) + np.uint64(h)
            nd += 1
            i += 1
        ok = ok and nd > 0
        if ok and kind < 0 and i < end and _blank(buf[i]):
            while i < end and _blank(buf[i]):
                i += 1
            if kof[buf[i]] >= 0:
                kind = kof[buf[i]]
                i += 1
        while ok and i < end and (buf[i] == 32 or buf[i] == 9):
            i += 1
        if ok and i < end and buf[i] == 35:
            i = skip_line(buf, i, end) - 1
        ok = ok and i < end and _eol(buf[i])
        if not ok:
            bad += 1
            if first_bad < 0:
                first_bad = start
            if not skip_bad:
                return n, start, lines, bad, first_bad, skipped
            i = skip_line(buf, start, end)
            lines += 1
            continue
        addrs[n] = a
        kinds[n] = LOAD if kind < 0 else kind
        n += 1
        i = skip_line(buf, i, end)
        lines += 1
    return n, end, lines, bad, first_bad, skipped


@register_format("text", "one address a line (hex 0x... or decimal), optional R/W/X column")
class TextReader(LineReader):
    """Reader of plain address-per-line text."""

    extensions = (".txt", ".addr")
    kernel = parse_text
    min_line = 2  # "1\n"

    def __init__(
        self,
        path: str | Path | Input,
        *,
        skip_bad: bool = False,
        chunk_refs: int = CHUNK_REFS,
        radix: int = 0,
    ) -> None:
        super().__init__(path, skip_bad=skip_bad, chunk_refs=chunk_refs)
        if radix not in (0, 10, 16):
            raise ConfigError("radix", radix, "0 (auto: 0x is hex, else decimal), 10 or 16")
        self.option = 16 if radix == 16 else 0

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """The first non-comment line is an address with an optional kind letter."""
        import re

        kind = rb"[RWXILSMrwxilsm]"
        pat = rb"^(" + kind + rb"[ \t,]+)?(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)([ \t,]+" + kind + rb")?$"
        for line in head.split(b"\n")[:-1] or [head]:
            s = line.strip()
            if not s or s.startswith(b"#"):
                continue
            return re.match(pat, s) is not None
        return False

    def why(self, text: bytes) -> str:
        """The text format's syntax."""
        return "not an address line ('ADDRESS [R|W|X]', hex with 0x or decimal)"


def write_text(chunks: Iterable[TraceChunk], out: BinaryIO) -> int:
    """Write chunks as '0xADDRESS K' lines; return the number of references written."""
    total = 0
    for ch in chunks:
        letters = KIND_LETTERS[ch.kinds].tolist()
        out.write(
            b"".join(
                b"0x%x %s\n" % (a, k) for a, k in zip(ch.addresses.tolist(), letters, strict=True)
            )
        )
        total += len(ch)
    return total
