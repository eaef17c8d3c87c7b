"""OSTEP `vm-segmentation/segmentation.py`: two segments, segment 1 grows down.

RNG order: len0, len1 (each int(asize/4 + asize/4 * r) if -1); base0 (if -1): redraw
int(psize * r) until base0 + len0 < psize; base1 (if -1, kept internally as the LOW
end): redraw until base1 + len1 < psize and it does not touch segment 0; then -n VAs
int(asize * r) unless -A lists them.
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmsim.ostep.common import (
    OstepError,
    OstepOptionParser,
    Printer,
    convert,
    run_simulator,
    seeded,
    to_int,
)

NAME = "segmentation"


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order."""
    p = OstepOptionParser("segmentation.py")
    add = p.add_option
    add("-s", "--seed", default=0, help="the random seed", action="store", type="int", dest="seed")
    add(
        "-A",
        "--addresses",
        default="-1",
        help="a set of comma-separated pages to access; -1 means randomly generate",
        action="store",
        type="string",
        dest="addresses",
    )
    add(
        "-a",
        "--asize",
        default="1k",
        help="address space size (e.g., 16, 64k, 32m, 1g)",
        action="store",
        type="string",
        dest="asize",
    )
    add(
        "-p",
        "--physmem",
        default="16k",
        help="physical memory size (e.g., 16, 64k, 32m, 1g)",
        action="store",
        type="string",
        dest="psize",
    )
    add(
        "-n",
        "--numaddrs",
        default=5,
        help="number of virtual addresses to generate",
        action="store",
        type="int",
        dest="num",
    )
    add(
        "-b",
        "--b0",
        default="-1",
        help="value of segment 0 base register",
        action="store",
        type="string",
        dest="base0",
    )
    add(
        "-l",
        "--l0",
        default="-1",
        help="value of segment 0 limit register",
        action="store",
        type="string",
        dest="len0",
    )
    add(
        "-B",
        "--b1",
        default="-1",
        help="value of segment 1 base register",
        action="store",
        type="string",
        dest="base1",
    )
    add(
        "-L",
        "--l1",
        default="-1",
        help="value of segment 1 limit register",
        action="store",
        type="string",
        dest="len1",
    )
    add("-c", help="compute answers for me", action="store_true", default=False, dest="solve")
    return p


@dataclass(frozen=True)
class Segments:
    """Segment registers: segment 0 grows up from base0; segment 1 grows down to low1."""

    asize: int
    base0: int
    len0: int
    low1: int
    len1: int

    @property
    def top1(self) -> int:
        """The user-visible segment 1 base: one past its highest byte."""
        return self.low1 + self.len1

    def translate(self, va: int) -> tuple[int, int | None]:
        """(segment, physical address or None for a violation) of va."""
        if va >= self.asize / 2:
            pa = self.top1 + (va - self.asize)
            return 1, (None if pa < self.low1 else pa)
        return 0, (None if va >= self.len0 else va + self.base0)


def run(argv: list[str]) -> int:
    """Run segmentation.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


def _error(out: Printer, message: str) -> int:
    """The original's abort_if: 'Error: ...' on stdout, exit status 1."""
    out("Error:", message)
    return 1


def _random_base1_exists(psize: int, base0: int, len0: int, len1: int) -> bool:
    """Whether any draw in [0, psize) can place segment 1 (else the original never stops)."""
    hi = min(psize - 1, psize - 1 - len1)
    above = max(0, base0 + len0 + 1) <= hi
    below = min(hi, base0 - len1 - 1) >= 0
    return above or below


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    out("ARG seed", opts["seed"])
    out("ARG address space size", opts["asize"])
    out("ARG phys mem size", opts["psize"])
    out("")
    rng = seeded(opts["seed"])
    asize = convert(opts["asize"], NAME, "-a")
    psize = convert(opts["psize"], NAME, "-p")
    addresses = str(opts["addresses"])
    if psize <= 4:
        return _error(out, "must specify a bigger physical memory size")
    if asize == 0:
        return _error(out, "must specify a non-zero address-space size")
    if psize <= asize:
        return _error(out, "physical memory size > address space size (for this simulation)")
    len0 = convert(opts["len0"], NAME, "-l")
    len1 = convert(opts["len1"], NAME, "-L")
    base0 = convert(opts["base0"], NAME, "-b")
    base1 = convert(opts["base1"], NAME, "-B")
    if len0 == -1:
        len0 = int(asize / 4.0 + (asize / 4.0 * rng.random()))
    if len1 == -1:
        len1 = int(asize / 4.0 + (asize / 4.0 * rng.random()))
    if (base0 == -1 or base1 == -1) and psize <= 2 * asize:
        return _error(
            out,
            "physical memory must be 2x GREATER than address space size "
            "(if randomly generating base registers)",
        )
    if base0 == -1:
        if len0 > psize - 1:
            raise OstepError(NAME, f"no base fits segment 0 of length {len0} (the original hangs)")
        base0 = int(psize * rng.random())
        while base0 + len0 >= psize:
            base0 = int(psize * rng.random())
    if base1 == -1:
        if not _random_base1_exists(psize, base0, len0, len1):
            raise OstepError(
                NAME, f"no base places segment 1 of length {len1} (the original hangs)"
            )
        while True:
            base1 = int(psize * rng.random())
            if base1 + len1 < psize and (base1 > base0 + len0 or base1 + len1 < base0):
                break
    else:
        base1 = base1 - len1
    for bad, msg in (
        (psize < base0 + len0 - 1, "seg0 is not in physical memory"),
        (psize < base1, "seg1 is not in physical memory"),
        (len0 > asize / 2.0, "length0 register is too large for this address space"),
        (len1 > asize / 2.0, "length1 register is too large for this address space"),
    ):
        if bad:
            return _error(out, msg)
    seg = Segments(asize, base0, len0, base1, len1)
    out("Segment register information:")
    out("")
    out("  Segment 0 base  (grows positive) : 0x%08x (decimal %d)" % (base0, base0))
    out("  Segment 0 limit                  : %d" % len0)
    out("")
    out("  Segment 1 base  (grows negative) : 0x%08x (decimal %d)" % (seg.top1, seg.top1))
    out("  Segment 1 limit                  : %d" % len1)
    out("")
    if base0 + len0 > base1 and base1 > base0:
        return _error(out, "segments overlap in physical memory")
    if addresses == "-1":
        vas: list[str | int] = [int(asize * rng.random()) for _ in range(opts["num"])]
    else:
        vas = list(addresses.split(","))
    return _trace(seg, vas, opts["solve"], out)


def _trace(seg: Segments, vas: list[str | int], solve: bool, out: Printer) -> int:
    """The virtual address trace, and the closing text in question mode."""
    out("Virtual Address Trace")
    for i, text in enumerate(vas):
        va = text if isinstance(text, int) else to_int(text, NAME, "-A address")
        if va < 0 or va >= seg.asize:
            out(
                "Error: virtual address %d cannot be generated in an address space of size %d"
                % (va, seg.asize)
            )
            return 1
        head = "  VA %2d: 0x%08x (decimal: %4d) --> " % (i, va, va)
        if not solve:
            out(head + "PA or segmentation violation?")
            continue
        n, pa = seg.translate(va)
        if pa is None:
            out(head + "SEGMENTATION VIOLATION (SEG%d)" % n)
        else:
            out(head + "VALID in SEG%d: 0x%08x (decimal: %4d)" % (n, pa, pa))
    out("")
    if not solve:
        for line in (
            "For each virtual address, either write down the physical address it translates to",
            "OR write down that it is an out-of-bounds address (a segmentation violation). For",
            "this problem, you should assume a simple address space with two segments: the top",
            "bit of the virtual address can thus be used to check whether the virtual address",
            "is in segment 0 (topbit=0) or segment 1 (topbit=1). Note that the base/limit pairs",
            "given to you grow in different directions, depending on the segment, i.e., segment 0",
            "grows in the positive direction, whereas segment 1 in the negative. ",
            "",
        ):
            out(line)
    return 0
