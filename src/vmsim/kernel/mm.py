"""AddressSpace (mm) and VMA: the regions a process may touch, and where new ones go.

A VMA covers the half-open range [start, end) with one protection and one kind
("text", "data", "heap", "stack", "mmap", "file", "shm", "replay"). The address space
keeps them sorted; `find_vma(addr)` returns the first VMA that ends above addr (it may
start above addr too: then addr is in a hole, or just below a stack that can grow).
"""

from __future__ import annotations

import bisect
import errno
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vmsim.errors import SyscallError, format_addr
from vmsim.hw.pte import ACCESSED, COW, DIRTY, WRITE, pg_round_up
from vmsim.kernel.vm import scan_ptes, set_pte, unmap_pages, vma_pte_flags

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel

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


# --- system calls on an address space ----------------------------------------------------


def _einval(what: str) -> SyscallError:
    return SyscallError(errno.EINVAL, what)


def split_vma(mm: AddressSpace, vma: VMA, addr: int) -> VMA:
    """Split vma at addr (strictly inside it); return the upper part."""
    upper = vma.split_copy(addr, vma.end, mm.layout.page_size.bit_length() - 1)
    if upper.backing is not None:
        upper.backing.map_count += 1
    vma.end = addr
    mm.reindex()
    mm.insert(upper)
    return upper


def _isolate(mm: AddressSpace, start: int, end: int) -> list[VMA]:
    """The VMAs covering [start, end), split so that none sticks out of the range."""
    out = []
    for vma in mm.overlapping(start, end):
        if vma.start < start:
            vma = split_vma(mm, vma, start)
        if vma.end > end:
            split_vma(mm, vma, end)
        out.append(vma)
    return out


def do_mmap(
    k: Kernel,
    mm: AddressSpace,
    length: int,
    prot: int,
    kind: str = "mmap",
    shared: bool = False,
    backing: Any = None,
    pgoff: int = 0,
    name: str = "",
    addr: int | None = None,
) -> int:
    """Map length bytes (rounded up to pages); return the start. SyscallError.

    Placed top-down below mmap_base, or exactly at `addr` when given (Linux's
    MAP_FIXED_NOREPLACE: EEXIST if anything is mapped there).
    """
    ps = mm.layout.page_size
    if length <= 0:
        raise _einval(f"mmap: length {length} must be positive")
    length = pg_round_up(length, ps)
    if length > mm.layout.user_top:
        raise SyscallError(errno.ENOMEM, f"mmap: {length} bytes is larger than the address space")
    vma = VMA(0, length, prot, kind, shared=shared, backing=backing, pgoff=pgoff, name=name)
    pages = 0 if shared or not prot & PROT_WRITE else length // ps
    if pages and not k.vm_enough_memory(pages, vma):
        raise SyscallError(errno.ENOMEM, f"mmap: cannot commit {length} more bytes (overcommit)")
    if addr is not None:
        _check_fixed(mm, addr, length)
    else:
        addr = mm.get_unmapped_area(length)
    if addr is None:
        k.vm_unacct_memory(pages)
        raise SyscallError(errno.ENOMEM, f"mmap: no room for {length} bytes in the address space")
    vma.start, vma.end = addr, addr + length
    mm.insert(vma)
    if backing is not None:
        backing.map_count += 1
    return addr


def _span(start: int, end: int) -> str:
    """A half-open range of addresses for an error message."""
    return f"[{format_addr(start)}, {format_addr(end)})"


def _check_fixed(mm: AddressSpace, addr: int, length: int) -> None:
    """A fixed placement must be aligned, inside user space and over nothing mapped."""
    if addr % mm.layout.page_size:
        raise _einval(f"mmap: address {format_addr(addr)} is not page-aligned")
    if addr < mm.layout.mmap_min_addr or addr + length > mm.layout.user_top:
        raise SyscallError(
            errno.ENOMEM, f"mmap: {_span(addr, addr + length)} is outside user space"
        )
    if mm.overlapping(addr, addr + length):
        raise SyscallError(errno.EEXIST, f"mmap: {_span(addr, addr + length)} is already mapped")


def do_munmap(k: Kernel, mm: AddressSpace, addr: int, length: int) -> None:
    """Unmap [addr, addr + length): mappings go, VMAs are cut. SyscallError(EINVAL)."""
    ps = mm.layout.page_size
    if addr % ps:
        raise _einval(f"munmap: address {format_addr(addr)} is not page-aligned")
    if length <= 0 or addr < 0 or addr + length > mm.layout.user_top:
        raise _einval(f"munmap: bad range {format_addr(addr)}+{length}")
    end = addr + pg_round_up(length, ps)
    for vma in _isolate(mm, addr, end):
        close_vma(k, mm, vma)


def close_vma(k: Kernel, mm: AddressSpace, vma: VMA) -> None:
    """Remove a whole VMA: shared file writes reach the file, mappings go, commit returns."""
    k.vma_closing(mm, vma)
    unmap_pages(k, mm, vma.start, vma.end)
    k.vm_unacct_memory(committed_pages_of(mm, vma))
    mm.remove(vma)
    k.vma_closed(mm, vma)


def committed_pages_of(mm: AddressSpace, vma: VMA) -> int:
    """committed_pages with the address space's page size."""
    if vma.shared or not vma.prot & PROT_WRITE or vma.noreserve:
        return 0
    return vma.length // mm.layout.page_size


def do_mprotect(k: Kernel, mm: AddressSpace, addr: int, length: int, prot: int) -> None:
    """Change the protection of [addr, addr + length), PTEs included. SyscallError."""
    ps = mm.layout.page_size
    if addr % ps:
        raise _einval(f"mprotect: address {format_addr(addr)} is not page-aligned")
    if length <= 0:
        raise _einval(f"mprotect: length {length} must be positive")
    end = addr + pg_round_up(length, ps)
    covered = sum(min(v.end, end) - max(v.start, addr) for v in mm.overlapping(addr, end))
    if covered != end - addr:
        raise SyscallError(errno.ENOMEM, f"mprotect: {_span(addr, end)} is not all mapped")
    for vma in _isolate(mm, addr, end):
        before, after = committed_pages_of(mm, vma), 0
        old_prot, vma.prot = vma.prot, prot
        after = committed_pages_of(mm, vma)
        if after > before and not k.vm_enough_memory(after - before, vma):
            vma.prot = old_prot
            raise SyscallError(errno.ENOMEM, "mprotect: cannot commit the memory (overcommit)")
        k.vm_unacct_memory(max(0, before - after))
        change_protection(k, mm, vma)


def change_protection(k: Kernel, mm: AddressSpace, vma: VMA) -> None:
    """Rewrite the present PTEs of vma for its (new) protection.

    Write permission is only ever removed here: a page that may become writable again
    gets it on its next write fault (do_wp_page), which keeps zero-page and COW sharing
    correct.
    """
    layout = k.fmt.layout
    for va, pte_pa, pte in scan_ptes(k, mm, vma.start, vma.end):
        if not pte & layout.present:
            continue
        flags = layout.flags(pte)
        keep = flags & (ACCESSED | DIRTY | COW | WRITE)
        new_flags = vma_pte_flags(vma, writable=bool(keep & WRITE)) | (keep & ~WRITE)
        new = k.fmt.make_pte(layout.ppn(pte), new_flags)
        if new != pte:
            set_pte(k, mm, va, pte_pa, new)


def do_brk(k: Kernel, mm: AddressSpace, new_brk: int) -> int:
    """Move the program break to new_brk; return it. SyscallError(ENOMEM) if it cannot."""
    ps = mm.layout.page_size
    if new_brk < mm.start_brk:
        raise SyscallError(
            errno.ENOMEM, f"brk: {format_addr(new_brk)} is below the heap start {mm.start_brk:#x}"
        )
    old_end = pg_round_up(mm.brk, ps)
    new_end = pg_round_up(new_brk, ps)
    heap = mm.vma_at(mm.start_brk) if mm.brk > mm.start_brk else None
    if new_end < old_end and heap is not None:
        unmap_pages(k, mm, new_end, old_end)
        k.vm_unacct_memory((old_end - new_end) // ps)
        if new_end == mm.start_brk:
            mm.remove(heap)
        else:
            heap.end = new_end
            mm.reindex()
    elif new_end > old_end:
        if mm.overlapping(old_end, new_end + ps) or new_end > mm.layout.mmap_base:
            raise SyscallError(
                errno.ENOMEM, f"brk: no room to grow the heap to {format_addr(new_brk)}"
            )
        pages = (new_end - old_end) // ps
        if not k.vm_enough_memory(pages, heap):
            raise SyscallError(errno.ENOMEM, f"brk: cannot commit {pages} more pages (overcommit)")
        if heap is None:
            mm.insert(VMA(mm.start_brk, new_end, PROT_READ | PROT_WRITE, "heap"))
        else:
            heap.end = new_end
            mm.reindex()
    mm.brk = new_brk
    return new_brk
