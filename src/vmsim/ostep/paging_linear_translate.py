"""OSTEP `vm-paging/paging-linear-translate.py`: a linear page table.

PTE = valid bit 31 | PFN. RNG order: for each VPN in order, loop { if r * 100 >
100 - used: u = int(frames * r); take frame u if free (PTE 0x80000000 | u), else
redraw both } else invalid; then -n VAs int(asize * r) unless -A lists them.

The table is vmsim's own: PTE bytes in a `vmsim.hw.PhysicalMemory`, in the `linear`
format (`make_format("linear", pagesize, asize)`, whose PTE with only PRESENT set is
exactly OSTEP's `0x80000000 | pfn`, and 0 when invalid), read back for printing and
translated by the generic `vmsim.hw.walk`. Where it lives: OSTEP's physical memory is
frames 0 .. frames-1 (what a PFN can name; -p need not be a power of two), and the
table goes right after them, from frame `frames` on (the page-table base; for pages of
1 or 2 bytes rounded up to a 4-byte boundary so no PTE straddles a frame), taking
ceil(vpages * 4 / pagesize) frames of its own. So the table never overlaps a frame a
PTE can point at and the printed output is the original's. PhysicalMemory allocates
lazily: only the table's frames cost host memory. `linear` keeps the PFN in bits 0-23
(its bits 25-30 are flags); with more than 2^24 frames (only possible with pages of 32
bytes or less, since -p stays under 1 GiB) the table uses the same layout with a
31-bit PFN and no flags besides V (OSTEP_LINEAR), which is OSTEP's PTE exactly.
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from vmsim.hw import ptformat
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import LINEAR, PRESENT
from vmsim.hw.ptformat import PageTableFormat, make_format
from vmsim.ostep.common import (
    OstepError,
    OstepOptionParser,
    Printer,
    convert,
    run_simulator,
    seeded,
    to_int,
)

NAME = "paging-linear-translate"
VALID = 0x80000000
"""OSTEP's valid bit (= LINEAR.present)."""
OSTEP_LINEAR = replace(LINEAR, write=0, user=0, accessed=0, dirty=0, nx=0, cow=0, ppn_bits=31)
"""OSTEP's PTE exactly: V (bit 31) and a 31-bit PFN; used only beyond LINEAR's 2^24 frames."""


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order."""
    p = OstepOptionParser("paging-linear-translate.py")
    add = p.add_option
    add(
        "-A",
        "--addresses",
        default="-1",
        help="a set of comma-separated pages to access; -1 means randomly generate",
        action="store",
        type="string",
        dest="addresses",
    )
    add("-s", "--seed", default=0, help="the random seed", action="store", type="int", dest="seed")
    add(
        "-a",
        "--asize",
        default="16k",
        help="address space size (e.g., 16, 64k, 32m, 1g)",
        action="store",
        type="string",
        dest="asize",
    )
    add(
        "-p",
        "--physmem",
        default="64k",
        help="physical memory size (e.g., 16, 64k, 32m, 1g)",
        action="store",
        type="string",
        dest="psize",
    )
    add(
        "-P",
        "--pagesize",
        default="4k",
        help="page size (e.g., 4k, 8k, whatever)",
        action="store",
        type="string",
        dest="pagesize",
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
        "-u",
        "--used",
        default=50,
        help="percent of virtual address space that is used",
        action="store",
        type="int",
        dest="used",
    )
    add("-v", help="verbose mode", action="store_true", default=False, dest="verbose")
    add("-c", help="compute answers for me", action="store_true", default=False, dest="solve")
    return p


def linear_format(pagesize: int, asize: int, frames: int) -> PageTableFormat:
    """vmsim's `linear` format for this machine (pagesize, asize: powers of two).

    With more frames than LINEAR's 24-bit PFN field holds, the same geometry with
    OSTEP_LINEAR (V + 31-bit PFN), so every PTE stays OSTEP's.
    """
    fmt = make_format("linear", pagesize, asize)
    if frames > fmt.layout.ppn_mask + 1:
        return replace(fmt, layout=OSTEP_LINEAR)
    return fmt


class LinearPageTable:
    """A linear page table: one PTE per VPN, PTE bytes in simulated physical memory.

    `ptes` are the initial entries (OSTEP's values: 0x80000000 | pfn, or 0), one per
    VPN; their count times the page size (rounded up to a power of two) is the address
    space. `frames` is the size of OSTEP's physical memory in pages (default: just
    enough for the highest PFN); the table is stored after those frames (module
    docstring) and walked with `vmsim.hw.walk`.
    """

    def __init__(self, ptes: Sequence[int], pagebits: int, frames: int | None = None) -> None:
        self.pagebits = pagebits
        self.entries = len(ptes)
        if frames is None:
            frames = max((p & ~VALID for p in ptes if p & VALID), default=0) + 1
        pagesize = 1 << pagebits
        asize = 1 << (pagebits + max(0, (self.entries - 1).bit_length()))
        self.fmt = linear_format(pagesize, asize, frames)
        pte_size = self.fmt.pte_size
        table_pa = -(-(frames << pagebits) // pte_size) * pte_size
        self.root_ppn = table_pa >> pagebits
        unit = max(pagesize, pte_size)
        self.mem = PhysicalMemory(-(-(table_pa + self.entries * pte_size) // unit), unit)
        for vpn, pte in enumerate(ptes):
            if pte:
                self.mem.write_uint(self._pte_pa(vpn), pte_size, pte)

    def _pte_pa(self, vpn: int) -> int:
        """Physical address of the PTE of vpn."""
        return (self.root_ppn << self.pagebits) + vpn * self.fmt.pte_size

    def map(self, vpn: int, pfn: int) -> None:
        """Make vpn valid, mapping frame pfn (the format's PTE with PRESENT)."""
        self.mem.write_uint(self._pte_pa(vpn), self.fmt.pte_size, self.fmt.make_pte(pfn, PRESENT))

    def pte(self, vpn: int) -> int:
        """The PTE of vpn, read from simulated physical memory."""
        return self.mem.read_uint(self._pte_pa(vpn), self.fmt.pte_size)

    @property
    def vpn_mask(self) -> int:
        """The VPN bits of a 32-bit virtual address."""
        return 0xFFFFFFFF & ~((1 << self.pagebits) - 1)

    def vpn(self, va: int) -> int:
        """The VPN of va, as the original computes it (masked to 32 bits)."""
        return (va & self.vpn_mask) >> self.pagebits

    def translate(self, va: int) -> int | None:
        """The physical address of va (generic walk), or None if its PTE is not valid.

        IndexError if the VPN is beyond the table (the original's crash).
        """
        vpn = self.vpn(va)
        if vpn >= self.entries:
            raise IndexError(f"VPN {vpn} beyond the {self.entries}-entry page table")
        leaf = ptformat.walk(self.mem, self.fmt, self.root_ppn, va & 0xFFFFFFFF)[-1]
        if not self.fmt.layout.flags(leaf.pte) & PRESENT:
            return None
        return (self.fmt.pte_ppn(leaf.pte) << self.pagebits) | (va & ((1 << self.pagebits) - 1))


def run(argv: list[str]) -> int:
    """Run paging-linear-translate.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


def _multiple(big: int, num: int, what: str) -> bool:
    """The original's mustbemultipleof test (float division, as it does it)."""
    if num == 0:
        raise OstepError(NAME, f"-P 0: division by zero checking that {what}")
    return int(float(big) / float(num)) == big / num


def _log2(size: int, option: str) -> int:
    """int(log(size) / log(2)) as the original computes it."""
    if size <= 0:
        raise OstepError(NAME, f"{option} {size}: a size must be positive to take its log2")
    return int(math.log(float(size)) / math.log(2.0))


def _check(asize: int, psize: int, pagesize: int, out: Printer) -> bool:
    """The original's checks, in its order; False after printing the first that fails."""
    simple = (
        (psize <= 1, "Error: must specify a non-zero physical memory size."),
        (asize < 1, "Error: must specify a non-zero address-space size."),
        (psize <= asize, "Error: physical memory size must be GREATER than address space "
         "size (for this simulation)"),
        (psize >= 1 << 30 or asize >= 1 << 30,
         "Error: must use smaller sizes (less than 1 GB) for this simulation."),
    )  # fmt: skip
    for bad, msg in simple:
        if bad:
            out(msg)
            return False
    for big, what in ((asize, "address space"), (psize, "physical memory")):
        if not _multiple(big, pagesize, f"{what} is a multiple of the pagesize"):
            out("Error in argument: %s must be a multiple of the pagesize" % what)
            return False
    if math.pow(2, _log2(asize, "-a")) != asize:
        out("Error in argument: address space must be a power of 2")
        return False
    if math.pow(2, _log2(pagesize, "-P")) != pagesize:
        out("Error in argument: page size must be a power of 2")
        return False
    return True


def build_page_table(
    vpages: int, pagebits: int, frames: int, used: int, rnd: Any, verbose: bool, out: Printer
) -> LinearPageTable:
    """Draw the page table into simulated memory, printing each PTE read back from it."""
    table = LinearPageTable([0] * vpages, pagebits, frames)
    taken = bytearray(max(frames, 0))
    threshold = 100.0 - float(used)
    for v in range(vpages):
        while True:
            if rnd() * 100.0 > threshold:
                u = int(frames * rnd())
                if taken[u]:
                    continue
                taken[u] = 1
                table.map(v, u)
            break
        out(("  [%8d]  " % v if verbose else "  ") + "0x%08x" % table.pte(v))
    out("")
    return table


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    for label, key in (
        ("seed", "seed"), ("address space size", "asize"), ("phys mem size", "psize"),
        ("page size", "pagesize"), ("verbose", "verbose"), ("addresses", "addresses"),
    ):  # fmt: skip
        out("ARG " + label, opts[key])
    out("")
    rng = seeded(opts["seed"])
    asize = convert(opts["asize"], NAME, "-a")
    psize = convert(opts["psize"], NAME, "-p")
    pagesize = convert(opts["pagesize"], NAME, "-P")
    addresses = str(opts["addresses"])
    if not _check(asize, psize, pagesize, out):
        return 1
    frames = int(psize / pagesize)
    vpages = int(asize / pagesize)
    pagebits = _log2(pagesize, "-P")
    for line in (
        "",
        "The format of the page table is simple:",
        "The high-order (left-most) bit is the VALID bit.",
        "  If the bit is 1, the rest of the entry is the PFN.",
        "  If the bit is 0, the page is not valid.",
        "Use verbose mode (-v) if you want to print the VPN # by",
        "each entry of the page table.",
        "",
        "Page Table (from entry 0 down to the max size)",
    ):
        out(line)
    table = build_page_table(
        vpages, pagebits, frames, opts["used"], rng.random, opts["verbose"], out
    )
    if addresses == "-1":
        vas: list[int | str] = [int(asize * rng.random()) for _ in range(opts["num"])]
    else:
        vas = list(addresses.split(","))
    out("Virtual Address Trace")
    for text in vas:
        va = text if isinstance(text, int) else to_int(text, NAME, "-A address")
        head = "  VA 0x%08x (decimal: %8d) --> " % (va, va)
        if not opts["solve"]:
            out(head + "PA or invalid address?")
            continue
        vpn = table.vpn(va)
        if vpn >= table.entries:
            raise OstepError(
                NAME, f"virtual address {va}: VPN {vpn} is beyond the {vpages}-entry page table"
            )
        pa = table.translate(va)
        if pa is None:
            out(head + " Invalid (VPN %d not valid)" % vpn)
        else:
            out(head + "%08x (decimal %8d) [VPN %d]" % (pa, pa, vpn))
    out("")
    if not opts["solve"]:
        out("For each virtual address, write down the physical address it translates to")
        out("OR write down that it is an out-of-bounds address (e.g., segfault).")
        out("")
    return 0
