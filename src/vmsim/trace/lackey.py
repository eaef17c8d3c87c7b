"""valgrind lackey's text format (`valgrind --tool=lackey --trace-mem=yes`).

One reference a line: `I  ADDR,SIZE` (instruction fetch), ` L ADDR,SIZE` (load),
` S ADDR,SIZE` (store), ` M ADDR,SIZE` (modify: load then store of the same bytes);
ADDR in hex, SIZE in decimal. valgrind's own lines (`==PID== ...`, `--PID-- ...`) and
blank lines are skipped. Parsed by a Numba kernel over the decompressed bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
from numba import njit

from vmsim.kinds import INSTR, LOAD, MODIFY, STORE
from vmsim.trace.base import TraceChunk, register_format
from vmsim.trace.lines import HEX, LineReader, skip_line


@njit(cache=True, nogil=True)
def _valgrind_line(buf: np.ndarray, i: int, end: int) -> bool:
    """Whether the line at i is valgrind's own: ==PID== or --PID--."""
    c = buf[i]
    if i + 2 >= end or buf[i + 1] != c:
        return False
    j = i + 2
    while j < end and 48 <= buf[j] <= 57:
        j += 1
    return j > i + 2 and j + 1 < end and buf[j] == c and buf[j + 1] == c


@njit(cache=True, nogil=True)
def parse_lackey(
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
    n = 0
    lines = 0
    bad = 0
    first_bad = -1
    skipped = 0
    i = 0
    while i < end:
        start = i
        c = buf[i]
        kind = -1
        if c == 73:  # 'I'
            kind = INSTR
            i += 1
        elif c == 32 and i + 1 < end:  # ' L', ' S', ' M'
            k = buf[i + 1]
            if k == 76:
                kind = LOAD
            elif k == 83:
                kind = STORE
            elif k == 77:
                kind = MODIFY
            i += 2
        elif (
            c == 10
            or (c == 13 and i + 1 < end and buf[i + 1] == 10)
            or (c in (61, 45) and _valgrind_line(buf, i, end))  # ==PID== or --PID--
        ):
            i = skip_line(buf, i, end)
            lines += 1
            skipped += 1
            continue
        ok = kind >= 0 and i < end and buf[i] == 32
        while ok and i < end and buf[i] == 32:
            i += 1
        a = np.uint64(0)
        nd = 0
        while ok and i < end:
            h = hexv[buf[i]]
            if h < 0:
                break
            a = (a << np.uint64(4)) | np.uint64(h)
            nd += 1
            i += 1
        ok = ok and 0 < nd <= 16 and i < end and buf[i] == 44
        i += 1
        s = 0
        nd = 0
        while ok and i < end and 48 <= buf[i] <= 57 and nd < 10:
            s = s * 10 + (buf[i] - 48)
            nd += 1
            i += 1
        if ok and i < end and buf[i] == 13:
            i += 1
        ok = ok and nd > 0 and s < 4294967296 and i < end and buf[i] == 10
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
        kinds[n] = kind
        sizes[n] = s
        n += 1
        lines += 1
        i += 1
    return n, end, lines, bad, first_bad, skipped


@register_format("lackey", "valgrind lackey text: 'I  ADDR,SIZE', ' L|S|M ADDR,SIZE'")
class LackeyReader(LineReader):
    """Reader of valgrind lackey's --trace-mem=yes output."""

    has_sizes = True
    extensions = (".lackey", ".trace")
    kernel = parse_lackey
    min_line = 6  # "I 0,1\n"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """A lackey banner, or a first line shaped like a lackey reference."""
        lines = head.split(b"\n")[:20]
        for line in lines:
            if line.startswith((b"==", b"--")):
                if b"Lackey" in line or b"lackey" in line:
                    return True
                continue
            if line.startswith((b"I  ", b" L ", b" S ", b" M ")) and b"," in line:
                return True
            if line.strip():
                return False
        return False

    def why(self, text: bytes) -> str:
        """Lackey's syntax."""
        return "not a lackey line ('I  ADDR,SIZE' or ' L|S|M ADDR,SIZE')"


def write_lackey(chunks: Iterable[TraceChunk], out: BinaryIO) -> int:
    """Write chunks as lackey text; return the number of references written."""
    prefix = np.array([b"I  ", b" L ", b" S ", b" M "])
    total = 0
    for ch in chunks:
        sizes = ch.sizes if ch.sizes is not None else np.ones(len(ch), np.uint32)
        for lo in range(0, len(ch), 1 << 16):
            hi = min(lo + (1 << 16), len(ch))
            lines = [
                b"%s%08x,%d\n" % (p, a, s)
                for p, a, s in zip(
                    prefix[ch.kinds[lo:hi]].tolist(),
                    ch.addresses[lo:hi].tolist(),
                    sizes[lo:hi].tolist(),
                    strict=True,
                )
            ]
            out.write(b"".join(lines))
        total += len(ch)
    return total
