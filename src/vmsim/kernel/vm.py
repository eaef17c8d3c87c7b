"""Page-table operations in software: walk, set_pte, map_page, the PTE scan, free_pgtables.

Every PTE change goes through `set_pte`, which writes the PTE bytes and then flushes
the matching TLB entry. User frames are entered in the reverse map when mapped and
removed when unmapped; the shared zero page is never in the rmap nor counted in rss.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic
from vmsim.events import MapPage
from vmsim.hw.pte import NX, PRESENT, USER, WRITE
from vmsim.hw.ptformat import walk as hw_walk
from vmsim.kernel.mm import PROT_EXEC, PROT_READ, PROT_WRITE, VMA, AddressSpace

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def pgtable_alloc(k: Kernel, mm: AddressSpace) -> int:
    """A zeroed frame for a page-table page of mm (counted in the owner's pgtables)."""
    ppn = k.frames.kalloc("pagetable")
    mm.pgtables.append(ppn)
    k.stats.pgtable_alloc += 1
    owner = k.owner_of(mm)
    if owner is not None:
        owner.stats.pgtables += 1
    return ppn


def walk(k: Kernel, mm: AddressSpace, va: int, alloc: bool = False) -> tuple[int, int]:
    """(physical address of va's leaf PTE, its value); (-1, 0) if a table is missing.

    With alloc, missing page-table pages are allocated, so a leaf PTE always exists.
    The kernel remembers where each leaf table is (mm.leaf_tables, like the hardware's
    paging-structure caches): upper-level entries only change when a table is added,
    or when all of them go at exit.
    """
    fmt = k.fmt
    known = leaf_pte_pa(k, mm, va)
    if known >= 0:
        return known, k.mem.read_uint(known, fmt.pte_size)
    leaf_index = ((va >> fmt.leaf_shift) & fmt.leaf_mask) * fmt.pte_size
    key = va >> fmt.leaf_key_shift
    steps = hw_walk(k.mem, fmt, mm.root_ppn, va, (lambda: pgtable_alloc(k, mm)) if alloc else None)
    last = steps[-1]
    if last.level != fmt.levels - 1:
        if not last.pte & fmt.layout.present:
            return -1, 0
        raise KernelPanic(f"walk: a huge-page leaf at level {last.level} for {va:#x}")
    mm.leaf_tables[key] = last.pte_pa - leaf_index
    return last.pte_pa, last.pte


def leaf_pte_pa(k: Kernel, mm: AddressSpace, va: int) -> int:
    """The physical address of va's leaf PTE if the kernel remembers its leaf table
    (mm.leaf_tables, filled by walk), else -1; reads no memory."""
    fmt = k.fmt
    table_pa = mm.leaf_tables.get(va >> fmt.leaf_key_shift)
    if table_pa is None:
        return -1
    return table_pa + ((va >> fmt.leaf_shift) & fmt.leaf_mask) * fmt.pte_size


def set_pte(k: Kernel, mm: AddressSpace, va: int, pte_pa: int, pte: int) -> None:
    """Write a PTE and flush the TLB entry that may cache the old one."""
    k.mem.write_uint(pte_pa, k.fmt.pte_size, pte)
    k.flush_tlb_page(mm, va)


def vma_pte_flags(vma: VMA, writable: bool) -> int:
    """Generic PTE flags for a user page of this VMA (writable only if asked and allowed)."""

    flags = PRESENT
    if vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
        flags |= USER  # PROT_NONE pages stay present for the kernel but fault in user mode
    if writable and vma.prot & PROT_WRITE:
        flags |= WRITE
    if not vma.prot & PROT_EXEC:
        flags |= NX
    return flags


def map_page(
    k: Kernel, mm: AddressSpace, va: int, ppn: int, flags: int, how: str, pte_pa: int = -1
) -> None:
    """Point va's PTE at ppn with generic flags; va must not be mapped yet (else KernelPanic)."""
    fmt = k.fmt
    if pte_pa < 0:
        pte_pa, old = walk(k, mm, va, alloc=True)
    else:
        old = k.mem.read_uint(pte_pa, fmt.pte_size)
    if old & fmt.layout.present:
        raise KernelPanic(f"map_pages: remap of {va:#x}")
    # no TLB flush: a TLB never holds a not-present PTE (Linux's set_pte_at, no flush)
    k.mem.write_uint(pte_pa, fmt.pte_size, fmt.layout.encode(ppn, flags | PRESENT))
    if ppn != k.zero_ppn:
        k.frames.rmap_add(ppn, mm, va)
        k.rss_add(mm, 1)
    if k.events is not None:
        k.emit(MapPage(k.pid_of(mm), va, ppn, _prot_text(flags), how))


def scan_ptes(k: Kernel, mm: AddressSpace, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(va, pte_pa, pte) for every non-zero leaf PTE in [start, end), skipping absent tables.

    Each PTE is read just before it is yielded, so the caller may change it (and each
    leaf table is found just after the one before it is done).
    """
    read, size, shift = k.mem.read_uint, k.fmt.pte_size, k.fmt.page_shift
    for table_pa, base, first, last in leaf_ranges(k, mm, start, end):
        for i in range(first, last):
            pte_pa = table_pa + i * size
            pte = read(pte_pa, size)
            if pte:
                yield base + (i << shift), pte_pa, pte


def leaf_ranges(
    k: Kernel, mm: AddressSpace, start: int, end: int
) -> Iterator[tuple[int, int, int, int]]:
    """(table_pa, base, first, last) for every leaf table over [start, end): entries
    first..last-1 of the table at table_pa map va base + (i << page_shift).

    Each table is found just after the one before it is done (its entries may change).
    """
    fmt = k.fmt
    shift = fmt.page_shift
    root = mm.root_ppn << shift
    tables = _leaf_tables(k, root, 0, 0, start, end) if fmt.levels > 1 else [(root, 0, start, end)]
    nentries = 1 << fmt.level_bits[-1]
    for table_pa, base, lo, hi in tables:
        yield table_pa, base, (lo - base) >> shift, min(nentries, ((hi - 1 - base) >> shift) + 1)


def _leaf_tables(
    k: Kernel, table_pa: int, level: int, base: int, start: int, end: int
) -> Iterator[tuple[int, int, int, int]]:
    """(table_pa, base, start, end) of every leaf table under the table at `level` (above
    the leaves) covering from `base`, clipped to [start, end): leaf_ranges's upper levels."""
    fmt = k.fmt
    span_shift = fmt.page_shift + sum(fmt.level_bits[level + 1 :])
    nentries = 1 << fmt.level_bits[level]
    first = max(0, (start - base) >> span_shift)
    last = min(nentries, ((end - 1 - base) >> span_shift) + 1)
    above_leaf = level == fmt.levels - 2
    size = fmt.pte_size
    for i in range(first, last):
        pte = k.mem.read_uint(table_pa + i * size, size)
        if not pte:
            continue
        va = base + (i << span_shift)
        child = fmt.layout.ppn(pte) << fmt.page_shift
        lo, hi = max(start, va), min(end, va + (1 << span_shift))
        if above_leaf:
            yield child, va, lo, hi
        else:
            yield from _leaf_tables(k, child, level + 1, va, lo, hi)


def free_pgtables(k: Kernel, mm: AddressSpace) -> None:
    """Free every page-table page of mm (all mappings must be gone)."""
    owner = k.owner_of(mm)
    mm.leaf_tables.clear()
    for ppn in mm.pgtables:
        k.frames.put_page(ppn)
    if owner is not None:
        owner.stats.pgtables -= len(mm.pgtables)
    mm.pgtables.clear()


def _prot_text(flags: int) -> str:
    """Generic flags -> "rwx"-style text for events."""
    return "r" + ("w" if flags & WRITE else "-") + ("-" if flags & NX else "x")
