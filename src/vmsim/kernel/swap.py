"""Swap: slots, swap entries in not-present PTEs, the swap cache, swap_out and swap_in.

A swapped-out page is recorded in each PTE that mapped it as a swap entry (the slot
number where the frame number was, present bit clear: hw/pte.py). The swap space
knows, per slot, which (mm, va) hold such an entry (its "users"), so that swap-in maps
the page back for all of them at once: one frame, many PTEs, both ways.

The swap cache pairs a resident frame with the slot that holds a copy of it. When such
a frame is reclaimed again and neither its PTEs' dirty bits nor its page-dirty flag
say it changed, it is not written again. When swap is more than half full, pages
leave the swap cache as soon as they come back in (Linux's vm_swap_full()).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmsim.errors import KernelPanic
from vmsim.events import SwapIn, SwapOut
from vmsim.hw.swapdev import SwapDevice
from vmsim.kernel.filemap import add_to_page_cache, delete_from_page_cache
from vmsim.kernel.mm import AddressSpace
from vmsim.kernel.vm import set_pte, walk

if TYPE_CHECKING:
    from vmsim.kernel.fault import VmFault
    from vmsim.kernel.kernel import Kernel

SwapUser = tuple[AddressSpace, int]


class SwapSpace:
    """Slot allocation, per-slot users, and the swap cache of one swap device."""

    def __init__(self, dev: SwapDevice | None) -> None:
        self.dev = dev
        self.nslots = dev.nslots - 1 if dev is not None else 0
        self._free = list(range(self.nslots, 0, -1))
        self.users: dict[int, set[SwapUser]] = {}
        self.cache_frame: dict[int, int] = {}
        """slot -> frame holding the same page."""
        self.cache_slot: dict[int, int] = {}
        """frame -> slot holding a copy of it."""
        self.object_of: dict[int, tuple[Any, int]] = {}
        """slot -> (shm object, page offset) for a shared-memory page that lives in swap."""

    @property
    def used(self) -> int:
        """Slots in use."""
        return self.nslots - len(self._free)

    def full(self) -> bool:
        """No free slot left."""
        return not self._free

    def vm_swap_full(self) -> bool:
        """More than half of the slots are in use."""
        return self.used * 2 > self.nslots

    def get_swap_page(self) -> int | None:
        """A free slot, or None when swap is full (or absent)."""
        return self._free.pop() if self._free else None

    def release_if_unused(self, slot: int) -> None:
        """Free slot if no PTE refers to it and no frame caches it."""
        if not self.users.get(slot) and slot not in self.cache_frame and slot not in self.object_of:
            self.users.pop(slot, None)
            self._free.append(slot)

    def add_user(self, slot: int, mm: AddressSpace, va: int) -> None:
        """A PTE of mm at va now holds a swap entry for slot."""
        self.users.setdefault(slot, set()).add((mm, va))

    def remove_user(self, slot: int, mm: AddressSpace, va: int) -> None:
        """That PTE no longer refers to slot; free the slot if nothing else does."""
        users = self.users.get(slot)
        if users is None or (mm, va) not in users:
            raise KernelPanic(f"swap: slot {slot} has no user at {va:#x}")
        users.discard((mm, va))
        self.release_if_unused(slot)

    def drop_object_ref(self, slot: int) -> None:
        """The shm object no longer keeps slot (its page came back in, or it went away)."""
        self.object_of.pop(slot, None)
        self.release_if_unused(slot)

    def cache_add(self, ppn: int, slot: int) -> None:
        """Frame ppn and slot hold the same page."""
        self.cache_frame[slot] = ppn
        self.cache_slot[ppn] = slot

    def cache_drop(self, ppn: int) -> int | None:
        """Forget ppn's swap copy (freeing the slot if unused); return the slot it had."""
        slot = self.cache_slot.pop(ppn, None)
        if slot is not None:
            del self.cache_frame[slot]
            self.release_if_unused(slot)
        return slot


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


def do_swap_page(k: Kernel, vmf: VmFault) -> None:
    """A fault on a swap entry: bring the page in (unless cached) and map it for every user."""
    slot = k.fmt.layout.ppn(vmf.pte)
    users = k.swap.users.get(slot, ())
    if (vmf.mm, vmf.va) not in users:
        raise KernelPanic(
            f"do_swap_page: {vmf.va:#x} holds slot {slot} the swap space does not know"
        )
    _, major = swap_in_slot(k, slot, vmf.mm, vmf.va)
    owner = k.owner_of(vmf.mm)
    if owner is not None:
        if major:
            owner.stats.maj_flt += 1
        else:
            owner.stats.min_flt += 1


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
        if sw.cache_drop(ppn) is not None:
            k.frames.put_page(ppn)
    return ppn, major


def map_swapped_users(k: Kernel, slot: int, ppn: int) -> None:
    """Map frame ppn at every PTE that holds a swap entry for slot."""
    from vmsim.kernel.vm import map_page, vma_pte_flags

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


def free_swap_entry(k: Kernel, mm: AddressSpace, va: int, pte: int) -> None:
    """A PTE holding a swap entry is being cleared (munmap, exit): drop its claim on the slot."""
    slot = k.fmt.layout.ppn(pte)
    k.swap.remove_user(slot, mm, va)
    if mm.owner is not None:
        mm.owner.stats.swap -= 1
