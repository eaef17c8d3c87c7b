"""OSTEP `vm-smalltables/paging-multilevel-translate.py`: a two-level page table walk.

A fixed machine: 32-byte pages, 128 frames (4 KiB, 12-bit PA), 1024 virtual pages
(32 KiB, 15-bit VA = PD index 14-10 | PT index 9-5 | offset 4-0). PDEs and PTEs are
one byte: bit 7 valid, bits 6-0 PFN; unused entries hold 0x7f.

RNG order: the page directory's frame (findFree: redraw int(r * 128) until free);
then per allocated page: vp = int(r * 1024) (redraw if taken), its data frame
findFree(), a page-table frame findFree() if the PDE is still invalid, then 32 data
bytes int(r * 31); then per address: if r * 100 > 50 or i >= allocated, a random VA
int(r * 32768), else (alloc[i] << 5) | int(r * 32).

The machine is vmsim's: the `ostep-2level` page-table format of `vmsim.hw` (geometry
above, PTE layout `hw.pte.OSTEP_2LEVEL`) over a `vmsim.hw.PhysicalMemory(128, 32)`. The
table is built with the generic `vmsim.hw.walk` (its `alloc` hook takes a page-table
frame and fills it with 0x7f, linked in as `layout.table(ppn)` = 0x80 | ppn) and a
leaf written as `make_pte(pfn, PRESENT)`; each address is translated by the same
`walk`, whose steps give the PDE and PTE printed.
"""

# ruff: noqa: UP031  (printf formats are the original's, kept for byte-exact output)

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmsim.errors import KernelPanic
from vmsim.hw import ptformat
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import PRESENT
from vmsim.hw.ptformat import make_format
from vmsim.ostep.common import OstepError, OstepOptionParser, Printer, run_simulator, seeded

NAME = "paging-multilevel-translate"
PAGE_SIZE = 32
PAGE_BITS = 5
FRAMES = 128
VPAGES = 1024
UNUSED = 0x7F
"""OSTEP's filler for unused PDEs and PTEs: not valid (PFN 127)."""
FORMAT = make_format("ostep-2level")
"""The machine's page-table format (vmsim.hw.ptformat.TEXTBOOK_FORMATS)."""
VALID = FORMAT.layout.present


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


def load_memory(dump: bytes | bytearray | list[int]) -> PhysicalMemory:
    """A PhysicalMemory(128, 32) holding a memory dump (page 0 first, 4096 bytes)."""
    mem = PhysicalMemory(FRAMES, PAGE_SIZE)
    data = bytes(dump)
    if len(data) != FRAMES * PAGE_SIZE:
        raise OstepError(NAME, f"a memory dump is {FRAMES * PAGE_SIZE} bytes, not {len(data)}")
    for ppn in range(FRAMES):
        mem.write_frame(ppn, data[ppn * PAGE_SIZE : (ppn + 1) * PAGE_SIZE])
    return mem


def walk(memory: PhysicalMemory | bytes | bytearray | list[int], pdbr: int, va: int) -> Walk:
    """Walk the two-level table rooted at frame pdbr for va (the translation seam).

    The walk is `vmsim.hw.walk` in the ostep-2level format; `memory` is the machine's
    PhysicalMemory or a 4096-byte dump of it.
    """
    mem = memory if isinstance(memory, PhysicalMemory) else load_memory(memory)
    layout = FORMAT.layout
    steps = ptformat.walk(mem, FORMAT, pdbr, va)
    pde_index, pde = FORMAT.index(va, 0), steps[0].pte
    if len(steps) == 1:
        return Walk(va, pde_index, pde)
    pte_index, pte = FORMAT.index(va, 1), steps[1].pte
    if not layout.flags(pte) & PRESENT:
        return Walk(va, pde_index, pde, pte_index, pte)
    pa = (FORMAT.pte_ppn(pte) << FORMAT.page_shift) | (va & (FORMAT.page_size - 1))
    return Walk(va, pde_index, pde, pte_index, pte, pa)


class SmallMachine:
    """Physical memory, frame bitmap and the one process's page directory."""

    def __init__(self, rnd: Any) -> None:
        self.rnd = rnd
        self.memory = PhysicalMemory(FRAMES, PAGE_SIZE)
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
        self.memory.write_frame(frame, bytes([value]) * PAGE_SIZE)

    def alloc_table(self) -> int:
        """A page-table frame (find_free) full of not-valid 0x7f entries: walk's alloc."""
        pt = self.find_free()
        self.fill(pt, UNUSED)
        return pt

    def map_page(self, vpn: int, pfn: int) -> None:
        """Install vpn -> pfn, taking a page-table frame if the PDE is not valid yet."""
        va = vpn << PAGE_BITS
        leaf = ptformat.walk(self.memory, FORMAT, self.pdbr, va, alloc=self.alloc_table)[-1]
        if leaf.pte & VALID:
            raise KernelPanic(f"map_page: remap of virtual page {vpn}")
        self.memory.write_uint(leaf.pte_pa, FORMAT.pte_size, FORMAT.make_pte(pfn, PRESENT))

    def alloc_process(self, npages: int) -> list[int]:
        """The page directory, then npages random virtual pages with random contents."""
        self.pdbr = self.alloc_table()
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
            self.memory.write_frame(pp, bytes(int(self.rnd() * 31) for _ in range(PAGE_SIZE)))
        return allocated


def run(argv: list[str]) -> int:
    """Run paging-multilevel-translate.py with argv; return its exit status."""
    return run_simulator(make_parser, _simulate, argv)


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
        out("page %3d:" % i + mem.read_frame(i).hex())
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


def _valid(entry: int) -> int:
    """1 if a PDE or PTE is valid, else 0."""
    return 1 if FORMAT.layout.flags(entry) & PRESENT else 0


def _print_walk(w: Walk, mem: PhysicalMemory, out: Printer) -> None:
    """The -c answer for one address: PDE line, PTE line, and the outcome."""
    out("Virtual Address 0x%04x:" % w.va)
    pde_pfn = FORMAT.pte_ppn(w.pde)
    out(
        "  --> pde index:0x%x [decimal %d] pde contents:0x%x (valid %d, pfn 0x%02x [decimal %d])"
        % (w.pde_index, w.pde_index, w.pde, _valid(w.pde), pde_pfn, pde_pfn)
    )
    if w.pte_index is None or w.pte is None:
        out("      --> Fault (page directory entry not valid)")
        return
    pfn = FORMAT.pte_ppn(w.pte)
    out(
        "    --> pte index:0x%x [decimal %d] pte contents:0x%x (valid %d, pfn 0x%02x [decimal %d])"
        % (w.pte_index, w.pte_index, w.pte, _valid(w.pte), pfn, pfn)
    )
    if w.pa is None:
        out("      --> Fault (page table entry not valid)")
    else:
        value = mem.read_uint(w.pa, 1)
        out("      --> Translates to Physical Address 0x%03x --> Value: 0x%02x" % (w.pa, value))
