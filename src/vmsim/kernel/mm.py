"""AddressSpace (mm) and VMA: the regions a process may touch, and where new ones go.

A VMA covers the half-open range [start, end) with one protection and one kind
("text", "data", "heap", "stack", "mmap", "file", "shm", "replay"). The address space
keeps them sorted; `find_vma(addr)` returns the first VMA that ends above addr (it may
start above addr too: then addr is in a hole, or just below a stack that can grow).

This is the bottom of kernel/ (Linux's mm_types.h): the structures every other file
shares, and `VmFault` with the `VM_FAULT_*` result codes a fault handler returns.
It imports nothing else of kernel/.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import IntFlag
from typing import Any

from vmsim.hw.mmu import WRITE_ACCESS

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4


def parse_prot(prot: str | int) -> int:
    """ "rwx"-style text (any subset, "" or "-" for none) or an int -> PROT_* bits."""
    if isinstance(prot, int):
        if not 0 <= prot <= 7:
            raise ValueError(f"prot {prot}: PROT_READ|PROT_WRITE|PROT_EXEC bits")
        return prot
    bits = 0
    for ch in prot.replace("-", ""):
        if ch not in "rwx":
            raise ValueError(f"prot {prot!r}: letters r, w, x")
        bits |= {"r": PROT_READ, "w": PROT_WRITE, "x": PROT_EXEC}[ch]
    return bits


def prot_str(prot: int) -> str:
    """PROT_* bits -> "rw-"-style text."""
    return "".join(ch if prot & bit else "-" for ch, bit in (("r", 1), ("w", 2), ("x", 4)))


@dataclass(eq=False)
class VMA:
    """A virtual memory area [start, end)."""

    start: int
    end: int
    prot: int
    kind: str
    shared: bool = False
    growsdown: bool = False
    noreserve: bool = False
    """Never charged against the commit limit (Linux's VM_NORESERVE)."""
    zero_page: bool = True
    """A read of a never-touched page may map the shared zero page."""
    backing: Any = None
    """What the pages come from when not anonymous: a file mapping or a shm segment."""
    pgoff: int = 0
    """Page offset into the backing object of `start`."""
    name: str = ""

    def __contains__(self, addr: object) -> bool:
        return isinstance(addr, int) and self.start <= addr < self.end

    @property
    def length(self) -> int:
        """Size in bytes."""
        return self.end - self.start

    def split_copy(self, start: int, end: int, page_shift: int) -> VMA:
        """A copy of this VMA restricted to [start, end), with pgoff adjusted."""
        return replace(
            self, start=start, end=end, pgoff=self.pgoff + ((start - self.start) >> page_shift)
        )


@dataclass(frozen=True)
class Layout:
    """Where things go in a user address space of this machine."""

    page_size: int
    user_top: int
    text_start: int
    stack_top: int
    stack_limit: int
    stack_guard_gap: int
    mmap_base: int
    mmap_min_addr: int

    @classmethod
    def for_space(cls, user_top: int, page_size: int, stack_limit: int) -> Layout:
        """The layout Linux would choose, scaled down for tiny textbook address spaces."""
        small = user_top < (1 << 30)
        text_start = page_size if small else 0x400000
        stack_limit = min(stack_limit, user_top // 4)
        stack_limit -= stack_limit % page_size
        guard = min(256 * page_size, max(page_size, (user_top // 64) & ~(page_size - 1)))
        min_gap = min(128 << 20, user_top // 4)
        gap = max(stack_limit, min_gap) + guard
        mmap_base = (user_top - gap) & ~(page_size - 1)
        return cls(
            page_size=page_size,
            user_top=user_top,
            text_start=text_start,
            stack_top=user_top,
            stack_limit=stack_limit,
            stack_guard_gap=guard,
            mmap_base=mmap_base,
            mmap_min_addr=page_size if small else 0x10000,
        )


@dataclass(eq=False)
class AddressSpace:
    """A process's mm: its VMAs, its page-table root, its program break."""

    layout: Layout
    root_ppn: int
    asid: int = 0
    start_brk: int = 0
    brk: int = 0
    vmas: list[VMA] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list, repr=False)
    pgtables: list[int] = field(default_factory=list)
    """Frames of this mm's page-table pages (the root first)."""
    owner: Any = None
    """The kernel Proc this mm belongs to."""
    leaf_tables: dict[int, int] = field(default_factory=dict, repr=False)
    """The kernel's cache of leaf page-table addresses, by va >> (bits the leaf covers)."""
    asid_gen: int = -1
    """ASID generation the asid was allocated in (-1: none yet)."""
    mmap_lock: int = 0
    """Kernel paths working on this mm (a fault, fork, exec): while it is held, the OOM
    killer only marks the owner killed (it exits at its trap boundary) instead of
    tearing the mm down under the path (Linux's oom_reaper cannot take mmap_lock)."""

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold mmap_lock for the duration of the block."""
        self.mmap_lock += 1
        try:
            yield
        finally:
            self.mmap_lock -= 1

    def find_vma(self, addr: int) -> VMA | None:
        """The first VMA with end > addr, or None."""
        i = bisect.bisect_right(self._ends, addr)
        return self.vmas[i] if i < len(self.vmas) else None

    def vma_at(self, addr: int) -> VMA | None:
        """The VMA containing addr, or None."""
        v = self.find_vma(addr)
        return v if v is not None and v.start <= addr else None

    def insert(self, vma: VMA) -> None:
        """Add a VMA that overlaps none."""
        i = bisect.bisect_right(self._ends, vma.start)
        if i < len(self.vmas) and self.vmas[i].start < vma.end:
            raise ValueError(f"VMA [{vma.start:#x}, {vma.end:#x}) overlaps {self.vmas[i]}")
        self.vmas.insert(i, vma)
        self._ends.insert(i, vma.end)

    def remove(self, vma: VMA) -> None:
        """Drop a VMA."""
        i = self.vmas.index(vma)
        del self.vmas[i]
        del self._ends[i]

    def reindex(self) -> None:
        """Rebuild the search index after VMAs changed their bounds in place."""
        self.vmas.sort(key=lambda v: v.start)
        self._ends = [v.end for v in self.vmas]

    def overlapping(self, start: int, end: int) -> list[VMA]:
        """VMAs that intersect [start, end), in address order."""
        out = []
        i = bisect.bisect_right(self._ends, start)
        while i < len(self.vmas) and self.vmas[i].start < end:
            out.append(self.vmas[i])
            i += 1
        return out

    def get_unmapped_area(self, length: int) -> int | None:
        """Top-down: the highest start below mmap_base where length bytes are free."""
        lo_limit = max(self.layout.mmap_min_addr, self.brk)
        hi = self.layout.mmap_base
        for v in reversed(self.vmas):
            if v.start >= hi:
                continue
            if v.end <= hi - length and hi - length >= lo_limit:
                return hi - length
            hi = min(hi, v.start)
        return hi - length if hi - length >= lo_limit else None

    def total_pages(self) -> int:
        """Pages covered by all VMAs."""
        return sum(v.length for v in self.vmas) // self.layout.page_size


def committed_pages_of(mm: AddressSpace, vma: VMA) -> int:
    """Pages vma charges against the commit limit (private writable, not noreserve)."""
    if vma.shared or not vma.prot & PROT_WRITE or vma.noreserve:
        return 0
    return vma.length // mm.layout.page_size


class VmFaultFlag(IntFlag):
    """What a fault handler did (Linux's vm_fault_t); 0: the page is mapped, retry."""

    OOM = 0x1
    """No frame could be found; the access cannot complete."""
    SIGBUS = 0x2
    """The page has no backing (a file mapping beyond the end of its file)."""
    MAJOR = 0x4
    """The page was read from swap or a file."""
    SIGSEGV = 0x40
    """The address is in no VMA, or the VMA does not allow the access."""


VM_FAULT_DONE = VmFaultFlag(0)
VM_FAULT_OOM = VmFaultFlag.OOM
VM_FAULT_SIGBUS = VmFaultFlag.SIGBUS
VM_FAULT_MAJOR = VmFaultFlag.MAJOR
VM_FAULT_SIGSEGV = VmFaultFlag.SIGSEGV
VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV
"""Results after which the access cannot be retried."""


@dataclass(slots=True)
class VmFault:
    """Everything a do_* handler needs about one fault (Linux's struct vm_fault)."""

    mm: AddressSpace
    vma: VMA
    va: int
    """Page-aligned faulting address."""
    access: int
    pte_pa: int
    pte: int
    task: Any = None
    """The Proc the fault is handled for (its counters), None for a kernel access."""

    @property
    def write(self) -> bool:
        """Whether the faulting access is a write."""
        return self.access == WRITE_ACCESS
