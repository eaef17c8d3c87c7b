"""Mappings of user memory (Linux's mm/memory.c): zap and unmap, and fork's uvm_copy.

Unmapping a range clears every PTE in it: a present one loses its frame reference
(and keeps its dirty bit on the frame), a swap entry gives back its claim on the slot.
A frame that only the swap cache still holds is freed with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmsim.events import UnmapPage
from vmsim.hw.physmem import runs
from vmsim.kernel.mm import PROT_WRITE, VMA, AddressSpace
from vmsim.kernel.swap_state import free_swap_entry, swap_cache_drop
from vmsim.kernel.vm import leaf_ranges, scan_ptes, set_pte, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def put_user_page(k: Kernel, ppn: int) -> None:
    """Drop a mapping's reference; a swap-cache page nobody maps any more is freed.

    A page-cache page stays (its object keeps it) until reclaim or the object goes.
    """
    if not k.frames.put_page(ppn) and not k.frames.mapcount(ppn) and ppn not in k.page_owner:
        swap_cache_drop(k, ppn)


def zap_pte(k: Kernel, mm: AddressSpace, va: int, pte_pa: int, pte: int) -> int:
    """Remove one present mapping: clear the PTE, drop the rmap entry and the frame reference.

    Returns the frame number that was mapped.
    """
    set_pte(k, mm, va, pte_pa, 0)
    ppn = _release_mapping(k, mm, va, pte)
    if ppn != k.zero_ppn:
        k.rss_add(mm, -1)
    return ppn


def _release_mapping(k: Kernel, mm: AddressSpace, va: int, pte: int) -> int:
    """The present PTE of mm at va is cleared: its rmap entry and frame reference go (the
    caller counts rss). Returns the frame number that was mapped."""
    ppn = k.fmt.layout.ppn(pte)
    if k.events is not None:
        k.emit(UnmapPage(k.pid_of(mm), va, ppn))
    if ppn != k.zero_ppn:
        # the dirty bit leaves with the PTE: keep it on the frame, unless this is the
        # frame's last reference (put_page below frees it, and the mark with it)
        if pte & k.fmt.layout.dirty and k.frames.refcount[ppn] > 1:
            k.reclaimer.page_dirty.add(ppn)
        k.frames.rmap_remove(ppn, mm, va)
        put_user_page(k, ppn)
    return ppn


def zap_pte_range(
    k: Kernel, mm: AddressSpace, table_pa: int, base: int, first: int, last: int
) -> None:
    """Clear the non-zero PTEs among entries first..last-1 of the leaf table at table_pa
    (entry i maps base + (i << page_shift)), as Linux's zap_pte_range: a present one as
    zap_pte clears it, a swap entry giving back its claim on the slot. The counts are those
    of one PTE at a time (a load per entry, a store and a TLB page flush per PTE cleared);
    the stores go in runs at the end (nothing reads the table meanwhile)."""
    fmt = k.fmt
    size, shift, present, zero = fmt.pte_size, fmt.page_shift, fmt.layout.present, k.zero_ppn
    cleared: list[int] = []
    unmapped = 0
    for i, pte in enumerate(k.mem.read_uints(table_pa + first * size, last - first, size), first):
        if not pte:
            continue
        va = base + (i << shift)
        cleared.append(i)
        k.flush_tlb_page(mm, va)
        if pte & present:
            unmapped += _release_mapping(k, mm, va, pte) != zero
        else:
            free_swap_entry(k, mm, va, pte)
    for a, b in runs(cleared):
        k.mem.zero_uints(table_pa + a * size, b - a, size)
    if unmapped:
        k.rss_add(mm, -unmapped)


def unmap_pages(k: Kernel, mm: AddressSpace, start: int, end: int) -> None:
    """Remove every mapping in [start, end): frames lose a reference, swap slots are freed
    (the frames freed are zeroed together at the end: FrameAllocator.gather)."""
    with k.frames.gather():
        for table_pa, base, first, last in leaf_ranges(k, mm, start, end):
            zap_pte_range(k, mm, table_pa, base, first, last)


def uvm_copy(k: Kernel, src: AddressSpace, dst: AddressSpace, vma: VMA) -> None:
    """Copy vma's mappings from src to dst for fork, sharing frames copy-on-write.

    In a private writable VMA both PTEs lose write permission and get the COW mark, so
    the first write on either side goes through do_wp_page. Shared VMAs share as they
    are. Swap entries are copied: the slot gains a user. The child's PTEs start with
    the accessed bit clear.
    """
    layout = k.fmt.layout
    cow = not vma.shared and bool(vma.prot & PROT_WRITE)
    for va, pte_pa, pte in scan_ptes(k, src, vma.start, vma.end):
        if not pte & layout.present:
            _copy_swap_entry(k, dst, va, walk(k, dst, va, alloc=True)[0], pte)
            continue
        ppn = layout.ppn(pte)
        with k.frames.pinned(ppn):
            dst_pa, _ = walk(k, dst, va, alloc=True)
        pte = k.mem.read_uint(pte_pa, layout.size)  # reclaim may have run meanwhile
        if not pte & layout.present:  # swapped out while the child's table was allocated
            _copy_swap_entry(k, dst, va, dst_pa, pte)
            continue
        if cow and pte & layout.write:
            pte = (pte & ~layout.write) | layout.cow
            set_pte(k, src, va, pte_pa, pte)
        set_pte(k, dst, va, dst_pa, pte & ~layout.accessed)
        if ppn != k.zero_ppn:
            k.frames.get_page(ppn)
            k.frames.rmap_add(ppn, dst, va)
            k.rss_add(dst, 1)


def _copy_swap_entry(k: Kernel, dst: AddressSpace, va: int, dst_pa: int, pte: int) -> None:
    """The child's PTE at va holds the same swap entry: the slot gains a user."""
    set_pte(k, dst, va, dst_pa, pte)
    k.swap.add_user(k.fmt.layout.ppn(pte), dst, va)
    if dst.owner is not None:
        dst.owner.stats.swap += 1


def move_ptes(k: Kernel, mm: AddressSpace, start: int, end: int, new_start: int) -> None:
    """Move every PTE of [start, end) to the same offset from new_start (mremap).

    Frames and swap slots follow their PTE (rmap and swap users updated), nothing is
    copied or faulted in; the destination must hold no PTEs.
    """
    layout = k.fmt.layout
    for va, pte_pa, _ in list(scan_ptes(k, mm, start, end)):
        pte = k.mem.read_uint(pte_pa, layout.size)
        if not pte:
            continue
        new_va = new_start + (va - start)
        ppn = layout.ppn(pte)
        present = bool(pte & layout.present)
        if present:
            with k.frames.pinned(ppn):  # a table allocation may reclaim
                dst_pa, _ = walk(k, mm, new_va, alloc=True)
        else:
            dst_pa, _ = walk(k, mm, new_va, alloc=True)
        pte = k.mem.read_uint(pte_pa, layout.size)  # reclaim may have swapped it meanwhile
        if not pte:
            continue
        ppn, present = layout.ppn(pte), bool(pte & layout.present)
        set_pte(k, mm, va, pte_pa, 0)
        set_pte(k, mm, new_va, dst_pa, pte)
        if not present:
            k.swap.add_user(ppn, mm, new_va)
            k.swap.remove_user(ppn, mm, va)
        elif ppn != k.zero_ppn:
            k.frames.rmap_remove(ppn, mm, va)
            k.frames.rmap_add(ppn, mm, new_va)
