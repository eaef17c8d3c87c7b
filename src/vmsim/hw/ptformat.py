"""Page-table formats behind one `PageTableFormat`, and the one generic `walk`.

A format says how many levels a table has, how many index bits each level takes from
a virtual address, how big a PTE is and where its bits are (`hw.pte.PteLayout`).
Page-table pages are frames of the same PhysicalMemory and the PTEs are bytes in them;
`walk` reads them (and, for the kernel's software walk, allocates missing tables).

Formats: x86_64 (4 levels x 9 bits, 8-byte PTEs, default), x86_32 (2 x 10 bits,
4-byte PTEs), sv39 (RISC-V, 3 x 9 bits) and linear (one flat table for textbook
machines: any power-of-two page size and address-space size; the table is one
contiguous run of frames).

Textbook formats (TEXTBOOK_FORMATS) are fixed machines of the OSTEP homework that only
`vmsim ostep` uses; `vmsim.Machine` does not boot them (`machine_formats()` lists
what it does): ostep-2level is `paging-multilevel-translate`'s machine, 32-byte pages,
2 levels x 5 index bits (15-bit VA), 1-byte PDE/PTE (hw.pte.OSTEP_2LEVEL), 128 frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vmsim.errors import KernelPanic
from vmsim.hw.physmem import PhysicalMemory
from vmsim.hw.pte import LINEAR, OSTEP_2LEVEL, SV39, X86_32, X86_64, PteLayout


@dataclass(frozen=True)
class PageTableFormat:
    """A page-table format: geometry plus PTE layout."""

    name: str
    level_bits: tuple[int, ...]
    """Index bits per level, root first."""
    page_shift: int
    layout: PteLayout
    user_top: int
    """First virtual address above user space."""
    combine_levels: bool = False
    """x86: effective W and U are the AND over all levels, NX the OR."""
    levels: int = field(init=False)
    """Number of levels (1 for linear)."""
    shifts: tuple[int, ...] = field(init=False, repr=False)
    """Per level: how far to shift a virtual address right to get its index."""
    masks: tuple[int, ...] = field(init=False, repr=False)
    """Per level: the mask of the index bits (after shifting)."""
    pte_size: int = field(init=False, repr=False)
    """PTE size in bytes (the layout's)."""
    page_size: int = field(init=False, repr=False)
    """Page size in bytes."""
    leaf_key_shift: int = field(init=False, repr=False)
    """va >> leaf_key_shift tells which leaf table maps va (always 0 with one level)."""
    leaf_shift: int = field(init=False, repr=False)
    leaf_mask: int = field(init=False, repr=False)
    """(va >> leaf_shift) & leaf_mask: va's entry in its leaf table."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "levels", len(self.level_bits))
        set_(
            self,
            "shifts",
            tuple(self.page_shift + sum(self.level_bits[i + 1 :]) for i in range(self.levels)),
        )
        set_(self, "masks", tuple((1 << b) - 1 for b in self.level_bits))
        set_(self, "pte_size", self.layout.size)  # plain fields: read on every PTE access
        set_(self, "page_size", 1 << self.page_shift)
        set_(self, "leaf_key_shift", self.shifts[-2] if self.levels > 1 else 64)
        set_(self, "leaf_shift", self.shifts[-1])
        set_(self, "leaf_mask", self.masks[-1])

    @property
    def va_bits(self) -> int:
        """Width of a virtual address."""
        return self.page_shift + sum(self.level_bits)

    def index(self, va: int, level: int) -> int:
        """The table index that va selects at `level` (0 = root)."""
        return (va >> self.shifts[level]) & self.masks[level]

    def is_leaf(self, pte: int, level: int) -> bool:
        """Whether a present PTE at `level` maps a page (rather than a lower table)."""
        if level == self.levels - 1:
            return True
        if self.name == "sv39":
            return bool(pte & (0b1110))  # R, W or X set: a leaf (a huge page)
        return False

    def root_frames(self) -> int:
        """Contiguous frames the root table needs (1 except for large linear tables)."""
        size = (1 << self.level_bits[0]) * self.pte_size
        return max(1, -(-size // self.page_size))

    def make_pte(self, ppn: int, flags: int) -> int:
        """A leaf PTE for frame ppn with generic flags (hw.pte)."""
        return self.layout.encode(ppn, flags)

    def pte_ppn(self, pte: int) -> int:
        """The frame number of a PTE."""
        return self.layout.ppn(pte)


def make_format(
    name: str, page_size: int = 4096, address_space: int | None = None
) -> PageTableFormat:
    """The page-table format called `name` (FORMATS, TEXTBOOK_FORMATS); linear needs its sizes."""
    if name == "linear":
        if address_space is None:
            raise KernelPanic("linear format needs an address-space size")
        shift = page_size.bit_length() - 1
        vpn_bits = address_space.bit_length() - 1 - shift
        return PageTableFormat("linear", (vpn_bits,), shift, LINEAR, address_space)
    fmt = FORMATS.get(name, TEXTBOOK_FORMATS.get(name))
    if fmt is None:
        raise KernelPanic(f"unknown page-table format {name!r}")
    return fmt


FORMATS: dict[str, PageTableFormat] = {
    "x86_64": PageTableFormat("x86_64", (9, 9, 9, 9), 12, X86_64, 0x7FFF_FFFF_F000, True),
    "x86_32": PageTableFormat("x86_32", (10, 10), 12, X86_32, 0xC000_0000, True),
    "sv39": PageTableFormat("sv39", (9, 9, 9), 12, SV39, 1 << 38),
}
"""The registry of fixed formats (linear is built per machine by make_format)."""


def machine_formats() -> tuple[str, ...]:
    """Names of the formats a Machine boots: the registry's, and linear (sized per machine)."""
    return (*FORMATS, "linear")


TEXTBOOK_FORMATS: dict[str, PageTableFormat] = {
    "ostep-2level": PageTableFormat("ostep-2level", (5, 5), 5, OSTEP_2LEVEL, 1 << 15),
}
"""Fixed formats of textbook simulators (vmsim ostep); not machine formats (see above)."""


@dataclass(frozen=True, slots=True)
class WalkStep:
    """One PTE visited by a walk."""

    level: int
    pte_pa: int
    pte: int


def walk(
    mem: PhysicalMemory,
    fmt: PageTableFormat,
    root_ppn: int,
    va: int,
    alloc: Callable[[], int] | None = None,
) -> list[WalkStep]:
    """Walk the table rooted at root_ppn for va; return the PTE visited at each level.

    The walk stops at the first not-present entry or at the leaf; the last step is that
    entry. With `alloc` (the kernel's software walk), a missing lower table is allocated
    by calling alloc() -> ppn of a fresh table frame (zeroed on the machine; any filler
    whose entries are not present will do) and linked in with layout.table(ppn), so the
    walk always reaches the leaf level.
    """
    layout = fmt.layout
    size, present = layout.size, layout.present
    ppn_shift, ppn_mask = layout.ppn_shift, layout.ppn_mask
    page_shift = fmt.page_shift
    huge_leaves = fmt.name == "sv39"
    table_pa = root_ppn << page_shift
    steps: list[WalkStep] = []
    last = fmt.levels - 1
    for level, (shift, mask) in enumerate(zip(fmt.shifts, fmt.masks, strict=True)):
        pte_pa = table_pa + ((va >> shift) & mask) * size
        pte = mem.read_uint(pte_pa, size)
        steps.append(WalkStep(level, pte_pa, pte))
        if level == last or (pte & present and huge_leaves and fmt.is_leaf(pte, level)):
            break
        if not pte & present:
            if alloc is None:
                break
            pte = layout.table(alloc())
            mem.write_uint(pte_pa, size, pte)
            steps[-1] = WalkStep(level, pte_pa, pte)
        table_pa = ((pte >> ppn_shift) & ppn_mask) << page_shift
    return steps
