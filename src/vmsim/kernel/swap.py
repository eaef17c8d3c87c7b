"""Swap-out and swap-in of anonymous and shared-memory pages.

swap_out_frame writes a frame to its slot (unless the swap cache says the slot already
holds it unchanged) and turns every PTE that mapped it into a swap entry; do_swap_page
(a fault on a swap entry) reads it back and maps it for every user of the slot. When
swap is more than half full, pages leave the swap cache as soon as they come back in
(Linux's vm_swap_full()). A shared-memory page's object remembers its slot meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic
from vmsim.events import SwapIn, SwapOut
from vmsim.kernel.filemap import add_to_page_cache, delete_from_page_cache
from vmsim.kernel.mm import VM_FAULT_DONE, VM_FAULT_MAJOR, AddressSpace, VmFault, VmFaultFlag
from vmsim.kernel.swap_state import swap_cache_drop
from vmsim.kernel.vm import map_page, set_pte, vma_pte_flags, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def swap_out_frame(k: Kernel, ppn: int) -> bool:
    """Reclaim an anonymous frame: write it to swap if needed, unmap it everywhere.

    Every PTE that mapped the frame becomes a swap entry for its slot. Returns False
    (changing nothing) when swap has no room.
    """
    sw = k.swap
    slot = sw.cache_slot.get(ppn)
    mappers = k.frames.mappers(ppn)
    dirty = k.reclaimer.frame_dirty(ppn, mappers)
    if slot is None:
        slot = sw.get_swap_page()
        if slot is None:
            return False
        sw.cache_add(ppn, slot)
        k.frames.get_page(ppn)  # the swap cache's reference
        dirty = True
    if dirty:
        assert sw.dev is not None
        sw.dev.write_slot(slot, k.mem.read_frame(ppn))
        k.stats.pswpout += 1
        k.emit(SwapOut(ppn, slot))
    k.reclaimer.page_dirty.discard(ppn)
    owner = k.page_owner.get(ppn)
    if owner is not None:  # a shared-memory page: its object remembers the slot
        obj, pgoff = owner
        obj.swapped[pgoff] = slot
        sw.object_of[slot] = (obj, pgoff)
        delete_from_page_cache(k, ppn)
    for mm, va in mappers:
        pte_pa, _pte = walk(k, mm, va)
        set_pte(k, mm, va, pte_pa, k.fmt.layout.swap(slot))
        k.frames.rmap_remove(ppn, mm, va)
        sw.add_user(slot, mm, va)
        k.rss_add(mm, -1)
        if mm.owner is not None:
            mm.owner.stats.swap += 1
        k.frames.put_page(ppn)
    sw.cache_drop(ppn)
    k.frames.put_page(ppn)  # the swap cache's reference: the frame is free now
    return True


def do_swap_page(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """A fault on a swap entry: bring the page in (unless cached) and map it for every user."""
    slot = k.fmt.layout.ppn(vmf.pte)
    users = k.swap.users.get(slot, ())
    if (vmf.mm, vmf.va) not in users:
        raise KernelPanic(
            f"do_swap_page: {vmf.va:#x} holds slot {slot} the swap space does not know"
        )
    _, major = swap_in_slot(k, slot, vmf.mm, vmf.va)
    return VM_FAULT_MAJOR if major else VM_FAULT_DONE


def swap_in_slot(k: Kernel, slot: int, mm: AddressSpace, va: int) -> tuple[int, bool]:
    """The frame holding slot's page (read in for mm if needed), mapped for every user.

    Returns (frame, whether it was read from the swap device: a major fault).
    """
    sw = k.swap
    ppn = sw.cache_frame.get(slot)
    major = ppn is None
    if ppn is None:
        obj_page = sw.object_of.get(slot)
        ppn = k.alloc_user_page(mm, "shm" if obj_page else "anon")
        assert sw.dev is not None
        k.mem.write_frame(ppn, sw.dev.read_slot(slot))
        sw.cache_add(ppn, slot)  # kalloc's reference becomes the swap cache's
        if obj_page is not None:
            obj, pgoff = obj_page
            del obj.swapped[pgoff]
            k.frames.get_page(ppn)
            add_to_page_cache(k, obj, pgoff, ppn)
            sw.drop_object_ref(slot)
        k.reclaimer.page_added(ppn, mm)
        k.stats.pswpin += 1
        k.stats.pgmajfault += 1
        k.emit(SwapIn(k.pid_of(mm), va, slot, ppn))
    with k.frames.pinned(ppn):
        map_swapped_users(k, slot, ppn)
    if sw.vm_swap_full():
        k.reclaimer.page_dirty.add(ppn)
        swap_cache_drop(k, ppn)
    return ppn, major


def map_swapped_users(k: Kernel, slot: int, ppn: int) -> None:
    """Map frame ppn at every PTE that holds a swap entry for slot."""
    sw = k.swap
    users = list(sw.users.get(slot, ()))
    exclusive = len(users) == 1
    for mm, va in users:
        vma = mm.vma_at(va)
        if vma is None:
            raise KernelPanic(f"swap-in: {va:#x} of slot {slot} is in no VMA")
        sw.users[slot].discard((mm, va))
        k.frames.get_page(ppn)
        pte_pa, _ = walk(k, mm, va)
        set_pte(k, mm, va, pte_pa, 0)
        map_page(
            k, mm, va, ppn, vma_pte_flags(vma, writable=exclusive or vma.shared), "swap-in", pte_pa
        )
        if mm.owner is not None:
            mm.owner.stats.swap -= 1
