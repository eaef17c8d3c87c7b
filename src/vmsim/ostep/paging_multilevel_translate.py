"""OSTEP `vm-smalltables/paging-multilevel-translate.py`: a two-level page table walk.

A fixed machine: 32-byte pages, 128 frames (4 KiB, 12-bit PA), 1024 virtual pages
(32 KiB, 15-bit VA = PD index 14-10 | PT index 9-5 | offset 4-0). PDEs and PTEs are
one byte: bit 7 valid, bits 6-0 PFN; unused entries hold 0x7f.

RNG order: the page directory's frame (findFree: redraw int(r * 128) until free);
then per allocated page: vp = int(r * 1024) (redraw if taken), its data frame
findFree(), a page-table frame findFree() if the PDE is still invalid, then 32 data
bytes int(r * 31); then per address: if r * 100 > 50 or i >= allocated, a random VA
int(r * 32768), else (alloc[i] << 5) | int(r * 32).
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmsim.ostep.common import OstepError, OstepOptionParser, ParserExit, Printer, parse, seeded

NAME = "paging-multilevel-translate"
PAGE_SIZE = 32
PAGE_BITS = 5
FRAMES = 128
VPAGES = 1024
UNUSED = 0x7F
VALID = 0x80


def make_parser() -> OstepOptionParser:
    """The original's flags, defaults and help, in its order."""
    p = OstepOptionParser("paging-multilevel-translate.py")
    add = p.add_option
    add("-s", "--seed", default=0, help="the random seed", action="store", type="int", dest="seed")
    add(
        "-a",
        "--allocated",
        default=64,
        help="number of virtual pages allocated",
        action="store",
        type="int",
        dest="allocated",
    )
    add(
        "-n",
        "--addresses",
        default=10,
        help="number of virtual addresses to generate",
        action="store",
        type="int",
        dest="num",
    )
    add(
        "-c",
        "--solve",
        help="compute answers for me",
        action="store_true",
        default=False,
        dest="solve",
    )
    return p


@dataclass(frozen=True)
class Walk:
    """One two-level walk: the indices and entries read, and where it ended."""

    va: int
    pde_index: int
    pde: int
    pte_index: int | None = None
    pte: int | None = None
    pa: int | None = None

    @property
    def fault(self) -> str | None:
        """'pde' or 'pte' for the level that was not valid, None if translated."""
        if not self.pde & VALID:
            return "pde"
        return "pte" if self.pa is None else None


def walk(memory: bytearray | list[int], pdbr: int, va: int) -> Walk:
    """Walk the two-level table rooted at frame pdbr for va (the translation seam)."""
    pde_index = (va & 0x7C00) >> 10
    pde = memory[(pdbr << PAGE_BITS) | pde_index]
    if not pde & VALID:
        return Walk(va, pde_index, pde)
    pte_index = (va & 0x03E0) >> 5
    pte = memory[((pde & 0x7F) << PAGE_BITS) | pte_index]
    if not pte & VALID:
        return Walk(va, pde_index, pde, pte_index, pte)
    pa = ((pte & 0x7F) << PAGE_BITS) | (va & 0x1F)
    return Walk(va, pde_index, pde, pte_index, pte, pa)


class SmallMachine:
    """Physical memory, frame bitmap and the one process's page directory."""

    def __init__(self, rnd: Any) -> None:
        self.rnd = rnd
        self.memory = bytearray(PAGE_SIZE * FRAMES)
        self.used = bytearray(FRAMES)
        self.nused = 0
        self.pdbr = -1

    def find_free(self) -> int:
        """A random free frame (redraw until free), now taken."""
        if self.nused >= FRAMES:
            raise OstepError(
                NAME,
                f"out of physical frames: all {FRAMES} are in use (-a asks for too many pages)",
            )
        look = int(self.rnd() * FRAMES)
        while self.used[look]:
            look = int(self.rnd() * FRAMES)
        self.used[look] = 1
        self.nused += 1
        return look

    def fill(self, frame: int, value: int) -> None:
        """Set every byte of frame to value."""
        self.memory[frame * PAGE_SIZE : (frame + 1) * PAGE_SIZE] = bytes([value]) * PAGE_SIZE

    def map_page(self, vpn: int, pfn: int) -> None:
        """Install vpn -> pfn, taking a page-table frame if the PDE is not valid yet."""
        pde_addr = (self.pdbr << PAGE_BITS) | (vpn >> 5)
        pde = self.memory[pde_addr]
        if not pde & VALID:
            pt = self.find_free()
            self.memory[pde_addr] = VALID | pt
            self.fill(pt, UNUSED)
        else:
            pt = pde & 0x7F
        self.memory[(pt << PAGE_BITS) | (vpn & 0x1F)] = VALID | pfn

    def alloc_process(self, npages: int) -> list[int]:
        """The page directory, then npages random virtual pages with random contents."""
        self.pdbr = self.find_free()
        self.fill(self.pdbr, UNUSED)
        taken = bytearray(VPAGES)
        allocated: list[int] = []
        for _ in range(npages):
            if len(allocated) >= VPAGES:
                raise OstepError(NAME, f"-a {npages}: only {VPAGES} virtual pages exist")
            vp = int(self.rnd() * VPAGES)
            while taken[vp]:
                vp = int(self.rnd() * VPAGES)
            taken[vp] = 1
            allocated.append(vp)
            pp = self.find_free()
            self.map_page(vp, pp)
            base = pp * PAGE_SIZE
            for j in range(PAGE_SIZE):
                self.memory[base + j] = int(self.rnd() * 31)
        return allocated


def run(argv: list[str]) -> int:
    """Run paging-multilevel-translate.py with argv; return its exit status."""
    try:
        o = parse(make_parser(), argv)
    except ParserExit as e:
        return e.status
    out = Printer()
    try:
        return _simulate(vars(o), out)
    finally:
        out.flush()


def _simulate(opts: dict[str, Any], out: Printer) -> int:
    """Everything after option parsing."""
    out("ARG seed", opts["seed"])
    out("ARG allocated", opts["allocated"])
    out("ARG num", opts["num"])
    out("")
    rnd = seeded(opts["seed"]).random
    m = SmallMachine(rnd)
    allocated = m.alloc_process(opts["allocated"])
    mem = m.memory
    for i in range(FRAMES):
        out("page %3d:" % i + mem[i * PAGE_SIZE : (i + 1) * PAGE_SIZE].hex())
    out("")
    out("PDBR:", m.pdbr, " (decimal) [This means the page directory is held in this page]")
    out("")
    for i in range(opts["num"]):
        if rnd() * 100 > 50.0 or i >= len(allocated):
            va = int(rnd() * 1024 * 32)
        else:
            va = (allocated[i] << 5) | int(rnd() * 32)
        if not opts["solve"]:
            out(
                "Virtual Address %04x: Translates To What Physical Address "
                "(And Fetches what Value)? Or Fault?" % va
            )
            continue
        _print_walk(walk(mem, m.pdbr, va), mem, out)
    out("")
    return 0


def _print_walk(w: Walk, mem: bytearray, out: Printer) -> None:
    """The -c answer for one address: PDE line, PTE line, and the outcome."""
    out("Virtual Address 0x%04x:" % w.va)
    pde_pfn = w.pde & 0x7F
    out(
        "  --> pde index:0x%x [decimal %d] pde contents:0x%x (valid %d, pfn 0x%02x [decimal %d])"
        % (w.pde_index, w.pde_index, w.pde, w.pde >> 7, pde_pfn, pde_pfn)
    )
    if w.pte_index is None or w.pte is None:
        out("      --> Fault (page directory entry not valid)")
        return
    pfn = w.pte & 0x7F
    out(
        "    --> pte index:0x%x [decimal %d] pte contents:0x%x (valid %d, pfn 0x%02x [decimal %d])"
        % (w.pte_index, w.pte_index, w.pte, w.pte >> 7, pfn, pfn)
    )
    if w.pa is None:
        out("      --> Fault (page table entry not valid)")
    else:
        out("      --> Translates to Physical Address 0x%03x --> Value: 0x%02x" % (w.pa, mem[w.pa]))
