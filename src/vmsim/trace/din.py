"""Dinero's `din` format: `LABEL ADDRESS` a line, the rest of the line ignored.

LABEL: 0 read data, 1 write data, 2 instruction fetch, 3 escape (unknown access
type, read here as a load), 4 escape (cache flush: not a reference, skipped).
ADDRESS in hex, with or without 0x. Blank lines and `#` comments are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
from numba import njit

from vmsim.kinds import INSTR, LOAD, STORE
from vmsim.trace.base import TraceChunk, register_format
from vmsim.trace.lines import HEX, LineReader, skip_line

DIN_KINDS = np.array([LOAD, STORE, INSTR, LOAD], dtype=np.uint8)
"""din label -> AccessKind (label 4 is a flush, not a reference)."""
KIND_LABELS = np.array([2, 0, 1, 1], dtype=np.uint8)
"""AccessKind -> din label when writing (a modify is written as a write)."""


@njit(cache=True, nogil=True)
def parse_din(
    buf: np.ndarray,
    end: int,
    addrs: np.ndarray,
    kinds: np.ndarray,
    sizes: np.ndarray,
    skip_bad: bool,
    option: int,
) -> tuple[int, int, int, int, int, int]:
    """Parse the lines of buf[:end] (which ends with a newline) into the arrays."""
    hexv = HEX
    dk = DIN_KINDS
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
        c = buf[i]
        if c == 10 or c == 13 or c == 35:  # blank, CR, '#'
            i = skip_line(buf, start, end)
            lines += 1
            skipped += 1
            continue
        label = c - 48
        i += 1
        ok = 0 <= label <= 4 and i < end and (buf[i] == 32 or buf[i] == 9)
        while ok and i < end and (buf[i] == 32 or buf[i] == 9):
            i += 1
        if ok and i + 1 < end and buf[i] == 48 and (buf[i + 1] == 120 or buf[i + 1] == 88):
            i += 2
        a = np.uint64(0)
        nd = 0
        while ok and i < end:
            h = hexv[buf[i]]
            if h < 0:
                break
            a = (a << np.uint64(4)) | np.uint64(h)
            nd += 1
            i += 1
        ok = ok and 0 < nd <= 16 and i < end
        ok = ok and (buf[i] == 10 or buf[i] == 13 or buf[i] == 32 or buf[i] == 9)
        if not ok:
            bad += 1
            if first_bad < 0:
                first_bad = start
            if not skip_bad:
                return n, start, lines, bad, first_bad, skipped
            i = skip_line(buf, start, end)
            lines += 1
            continue
        i = skip_line(buf, i, end)
        lines += 1
        if label == 4:
            skipped += 1
            continue
        addrs[n] = a
        kinds[n] = dk[label]
        n += 1
    return n, end, lines, bad, first_bad, skipped


@register_format("din", "Dinero din: 'LABEL ADDRESS' (0 read, 1 write, 2 ifetch; hex address)")
class DinReader(LineReader):
    """Reader of Dinero's traditional din format."""

    extensions = (".din",)
    kernel = parse_din
    min_line = 4  # "0 0\n"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """The first non-comment line is a label 0-4, blanks, and a hex address."""
        import re

        for line in head.split(b"\n")[:-1] or [head]:
            s = line.strip()
            if not s or s.startswith(b"#"):
                continue
            return re.match(rb"^[0-4][ \t]+(0[xX])?[0-9a-fA-F]{1,16}([ \t].*)?$", s) is not None
        return False

    def why(self, text: bytes) -> str:
        """din's syntax."""
        return "not a din line ('LABEL ADDRESS', LABEL 0-4, ADDRESS in hex)"


def write_din(chunks: Iterable[TraceChunk], out: BinaryIO) -> int:
    """Write chunks as din lines; return the number of references written."""
    total = 0
    for ch in chunks:
        labels = KIND_LABELS[ch.kinds].tolist()
        out.write(
            b"".join(
                b"%d %x\n" % (lab, a) for lab, a in zip(labels, ch.addresses.tolist(), strict=True)
            )
        )
        total += len(ch)
    return total
