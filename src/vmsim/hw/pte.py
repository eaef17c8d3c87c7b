"""PTE bit layouts per format, and the format-independent flags the rest of vmsim uses.

A PTE is an int read from and written to simulated physical memory. Each format maps
the generic flags below to its own bit positions (`PteLayout`); the kernel and the MMU
speak only the generic flags, the bytes in memory are the real format's.

| generic | x86_64 / x86_32 | sv39 (RISC-V) | linear (textbook) |
| --- | --- | --- | --- |
| PRESENT | P (bit 0) | V (bit 0) | V (bit 31) |
| WRITE | R/W (bit 1) | W (bit 2) | W (bit 30) |
| USER | U/S (bit 2) | U (bit 4) | U (bit 29) |
| ACCESSED | A (bit 5) | A (bit 6) | A (bit 28) |
| DIRTY | D (bit 6) | D (bit 7) | D (bit 27) |
| NX | NX (bit 63; x86_32 has none) | not X (bit 3) | NX (bit 26) |
| COW (software) | AVL bit 9 | RSW bit 8 | bit 25 |
| frame number | bits 12 and up | PPN bits 10 and up | bits 0-23 |

sv39 leaves also carry R (bit 1), set on every present leaf; its non-leaf entries are V
only. A not-present, non-zero PTE is a swap entry: its slot number sits where the frame
number would (slot 0 is the swap header, never used, so a swap entry is never 0).

Textbook layouts that only the textbook simulators use (`vmsim ostep`, not `vmsim.Machine`):
OSTEP_2LEVEL is the one-byte PDE/PTE of OSTEP's `paging-multilevel-translate`: valid bit 7,
frame number in bits 0-6, no other flags (a PDE is `table(ppn)` = 0x80 | ppn, the same bits
as a leaf). OSTEP's linear PTE ("valid bit 31 + PFN") is LINEAR with only PRESENT set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRESENT = 1 << 0
WRITE = 1 << 1
USER = 1 << 2
ACCESSED = 1 << 3
DIRTY = 1 << 4
NX = 1 << 5
COW = 1 << 6
"""Generic PTE flags (format-independent)."""

FLAG_NAMES = {
    PRESENT: "present",
    WRITE: "writable",
    USER: "user",
    ACCESSED: "accessed",
    DIRTY: "dirty",
    NX: "nx",
    COW: "cow",
}


@dataclass(frozen=True)
class PteLayout:
    """Where one format keeps each generic flag and the frame number."""

    size: int
    """PTE size in bytes."""
    present: int
    write: int
    user: int
    accessed: int
    dirty: int
    nx: int
    """Mask of the no-execute bit (0: the format has none)."""
    x: int
    """Mask of an execute-permission bit (sv39), 0 if the format uses NX instead."""
    cow: int
    ppn_shift: int
    ppn_bits: int
    leaf_extra: int = 0
    """Bits every present leaf carries (sv39's R)."""
    table_bits: int = 0
    """Bits of a non-leaf entry besides PRESENT (x86: R/W and U/S)."""

    ppn_mask: int = field(init=False, repr=False)
    """Mask of the frame-number field, unshifted."""
    _bits_of: dict[int, int] = field(init=False, repr=False, compare=False)
    """encode's cache: generic flags -> the PTE's flag bits."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppn_mask", (1 << self.ppn_bits) - 1)
        object.__setattr__(self, "_bits_of", {})

    def encode(self, ppn: int, flags: int) -> int:
        """A leaf PTE for frame ppn with the generic flags."""
        bits = self._bits_of.get(flags)
        if bits is None:
            bits = self._bits_of[flags] = self._flag_bits(flags)
        return ((ppn & self.ppn_mask) << self.ppn_shift) | bits

    def _flag_bits(self, flags: int) -> int:
        """The PTE bits that stand for the generic flags (encode's uncached part)."""
        pte = 0
        if flags & PRESENT:
            pte |= self.present | self.leaf_extra
        if flags & WRITE:
            pte |= self.write
        if flags & USER:
            pte |= self.user
        if flags & ACCESSED:
            pte |= self.accessed
        if flags & DIRTY:
            pte |= self.dirty
        if flags & COW:
            pte |= self.cow
        if flags & NX:
            pte |= self.nx
        elif self.x:
            pte |= self.x
        return pte

    def flags(self, pte: int) -> int:
        """The generic flags of a PTE."""
        f = 0
        if pte & self.present:
            f |= PRESENT
        if pte & self.write:
            f |= WRITE
        if pte & self.user:
            f |= USER
        if pte & self.accessed:
            f |= ACCESSED
        if pte & self.dirty:
            f |= DIRTY
        if pte & self.cow:
            f |= COW
        if (self.nx and pte & self.nx) or (self.x and not pte & self.x):
            f |= NX
        return f

    def ppn(self, pte: int) -> int:
        """The frame number (or swap slot) field of a PTE."""
        return (pte >> self.ppn_shift) & self.ppn_mask

    def table(self, ppn: int) -> int:
        """A non-leaf entry pointing at the page-table page in frame ppn."""
        return ((ppn & self.ppn_mask) << self.ppn_shift) | self.present | self.table_bits

    def swap(self, slot: int) -> int:
        """A not-present PTE that records swap slot `slot` (slot >= 1)."""
        return (slot & self.ppn_mask) << self.ppn_shift

    def describe(self, pte: int) -> str:
        """A short human-readable decoding: "ppn=0x12 P W U A D"."""
        if pte == 0:
            return "none"
        f = self.flags(pte)
        if not f & PRESENT:
            return f"swap slot {self.ppn(pte)}"
        bits = [n for m, n in FLAG_NAMES.items() if f & m]
        return f"ppn={self.ppn(pte):#x} " + " ".join(bits)


X86_64 = PteLayout(
    size=8, present=1 << 0, write=1 << 1, user=1 << 2, accessed=1 << 5, dirty=1 << 6,
    nx=1 << 63, x=0, cow=1 << 9, ppn_shift=12, ppn_bits=40, table_bits=(1 << 1) | (1 << 2),
)  # fmt: skip
X86_32 = PteLayout(
    size=4, present=1 << 0, write=1 << 1, user=1 << 2, accessed=1 << 5, dirty=1 << 6,
    nx=0, x=0, cow=1 << 9, ppn_shift=12, ppn_bits=20, table_bits=(1 << 1) | (1 << 2),
)  # fmt: skip
SV39 = PteLayout(
    size=8, present=1 << 0, write=1 << 2, user=1 << 4, accessed=1 << 6, dirty=1 << 7,
    nx=0, x=1 << 3, cow=1 << 8, ppn_shift=10, ppn_bits=44, leaf_extra=1 << 1,
)  # fmt: skip
LINEAR = PteLayout(
    size=4, present=1 << 31, write=1 << 30, user=1 << 29, accessed=1 << 28, dirty=1 << 27,
    nx=1 << 26, x=0, cow=1 << 25, ppn_shift=0, ppn_bits=24,
)  # fmt: skip

OSTEP_2LEVEL = PteLayout(
    size=1, present=1 << 7, write=0, user=0, accessed=0, dirty=0,
    nx=0, x=0, cow=0, ppn_shift=0, ppn_bits=7,
)  # fmt: skip


def pg_round_down(addr: int, page_size: int) -> int:
    """addr rounded down to a page boundary."""
    return addr & ~(page_size - 1)


def pg_round_up(addr: int, page_size: int) -> int:
    """addr rounded up to a page boundary."""
    return (addr + page_size - 1) & ~(page_size - 1)


@dataclass(frozen=True)
class PteInfo:
    """A decoded PTE (what `Process.pte(va)` reports)."""

    frame: int
    """Frame number, -1 when not present."""
    present: bool
    writable: bool
    user: bool
    accessed: bool
    dirty: bool
    nx: bool
    cow: bool
    swap_slot: int | None
    """The swap slot a not-present PTE records, else None."""
    raw: int
    pte_pa: int


def decode(layout: PteLayout, pte: int, pte_pa: int) -> PteInfo:
    """The generic meaning of the PTE value pte (read at physical address pte_pa)."""
    f = layout.flags(pte)
    present = bool(f & PRESENT)
    return PteInfo(
        frame=layout.ppn(pte) if present else -1,
        present=present,
        writable=bool(f & WRITE),
        user=bool(f & USER),
        accessed=bool(f & ACCESSED),
        dirty=bool(f & DIRTY),
        nx=bool(f & NX),
        cow=bool(f & COW),
        swap_slot=None if present else layout.ppn(pte),
        raw=pte,
        pte_pa=pte_pa,
    )
