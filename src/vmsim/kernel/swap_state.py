"""Swap slots and the swap cache (Linux's swapfile.c and swap_state.c).

A swapped-out page is recorded in each PTE that mapped it as a swap entry (the slot
number where the frame number was, present bit clear: hw/pte.py). The swap space
knows, per slot, which (mm, va) hold such an entry (its "users"), so that swap-in maps
the page back for all of them at once. The swap cache pairs a resident frame with the
slot that holds a copy of it (and holds one reference on the frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmsim.errors import KernelPanic
from vmsim.hw.swapdev import SwapDevice
from vmsim.kernel.mm import AddressSpace

if TYPE_CHECKING:
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


def swap_cache_drop(k: Kernel, ppn: int) -> None:
    """Forget ppn's swap copy (it is about to change, or nobody maps it) and its reference."""
    if k.swap.cache_drop(ppn) is not None:
        k.frames.put_page(ppn)


def free_swap_entry(k: Kernel, mm: AddressSpace, va: int, pte: int) -> None:
    """A PTE holding a swap entry is being cleared (munmap, exit): drop its claim on the slot."""
    slot = k.fmt.layout.ppn(pte)
    k.swap.remove_user(slot, mm, va)
    if mm.owner is not None:
        mm.owner.stats.swap -= 1
