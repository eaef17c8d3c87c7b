"""OSTEP `vm-mechanism/relocation.py`: base-and-bounds translation.

RNG order: limit (if -1) = int(asize/4 + asize/4 * r); base (if -1): redraw
int(psize * r) until base + limit < psize; then -n VAs int(asize * r).
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
)

NAME = "relocation"


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order."""
    p = OstepOptionParser("relocation.py")
    add = p.add_option
    add("-s", "--seed", default=0, help="the random seed", action="store", type="int", dest="seed")
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
        "--addresses",
        default=5,
        help="number of virtual addresses to generate",
        action="store",
        type="int",
        dest="num",
    )
    add(
        "-b",
        "--b",
        default="-1",
        help="value of base register",
        action="store",
        type="string",
        dest="base",
    )
    add(
        "-l",
        "--l",
        default="-1",
        help="value of limit register",
        action="store",
        type="string",
        dest="limit",
    )
    add(
        "-c",
        "--compute",
        default=False,
        help="compute answers for me",
        action="store_true",
        dest="solve",
    )
    return p


@dataclass(frozen=True)
class BaseBounds:
    """The two registers of the relocation MMU."""

    base: int
    limit: int

    def translate(self, va: int) -> int | None:
        """The physical address of va, or None for a segmentation violation."""
        return self.base + va if va < self.limit else None


def run(argv: list[str]) -> int:
    """Run relocation.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    out("")
    out("ARG seed", opts["seed"])
    out("ARG address space size", opts["asize"])
    out("ARG phys mem size", opts["psize"])
    out("")
    rng = seeded(opts["seed"])
    asize = convert(opts["asize"], NAME, "-a")
    psize = convert(opts["psize"], NAME, "-p")
    for bad, msg in (
        (psize <= 1, "must specify a non-zero physical memory size."),
        (asize == 0, "must specify a non-zero address-space size."),
        (
            psize <= asize,
            "physical memory size must be GREATER than address space size (for this simulation)",
        ),
    ):
        if bad:
            out("Error: " + msg)
            return 1
    limit = convert(opts["limit"], NAME, "-l")
    base = convert(opts["base"], NAME, "-b")
    if limit == -1:
        limit = int(asize / 4.0 + (asize / 4.0 * rng.random()))
    if base == -1:
        if limit > psize - 1:
            raise OstepError(
                NAME,
                f"no base register fits a limit of {limit} in {psize} bytes of physical "
                "memory (the original loops forever)",
            )
        base = int(psize * rng.random())
        while base + limit >= psize:
            base = int(psize * rng.random())
    out("Base-and-Bounds register information:")
    out("")
    out("  Base   : 0x%08x (decimal %d)" % (base, base))
    out("  Limit  : %d" % limit)
    out("")
    if base + limit > psize:
        out("Error: address space does not fit into physical memory with those base/bounds values.")
        out("Base + Limit:", base + limit, "  Psize:", psize)
        return 1
    mmu = BaseBounds(base, limit)
    out("Virtual Address Trace")
    for i in range(opts["num"]):
        va = int(asize * rng.random())
        head = "  VA %2d: 0x%08x (decimal: %4d) --> " % (i, va, va)
        if not opts["solve"]:
            out(head + "PA or segmentation violation?")
            continue
        pa = mmu.translate(va)
        if pa is None:
            out(head + "SEGMENTATION VIOLATION")
        else:
            out(head + "VALID: 0x%08x (decimal: %4d)" % (pa, pa))
    out("")
    if not opts["solve"]:
        out("For each virtual address, either write down the physical address it translates to")
        out("OR write down that it is an out-of-bounds address (a segmentation violation). For")
        out("this problem, you should assume a simple virtual address space of a given size.")
        out("")
    return 0
