"""check_invariants: every bookkeeping structure of the kernel agrees with the PTE bytes.

Used by tests after every step and by `Machine.check()`. Raises KernelPanic naming
the first inconsistency found.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic
from vmsim.kernel.vm import scan_ptes, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.mm import AddressSpace

USER_PURPOSES = {"anon", "file", "shm"}


def check_invariants(k: Kernel) -> None:
    """Raise KernelPanic if any kernel structure disagrees with the page tables."""
    mapped: Counter[int] = Counter()
    for proc in k.procs.values():
        if proc.alive:
            mapped += _check_mm(k, proc.mm)
        elif proc.mm.vmas or proc.mm.pgtables:
            raise KernelPanic(f"check: dead pid {proc.pid} still holds VMAs or page tables")
    _check_frames(k, mapped)
    _check_swap(k)
    _check_page_cache(k)
    _check_policies(k)


def _check_mm(k: Kernel, mm: AddressSpace) -> Counter[int]:
    """PTEs of one mm against the rmap, swap users and the owner's counters."""
    layout = k.fmt.layout
    owner = mm.owner
    mapped: Counter[int] = Counter()
    rss = swapped = 0
    for vma in mm.vmas:
        for va, _, pte in scan_ptes(k, mm, vma.start, vma.end):
            if pte & layout.present:
                ppn = layout.ppn(pte)
                if ppn == k.zero_ppn:
                    continue
                if (mm, va) not in k.frames.rmap.get(ppn, ()):
                    raise KernelPanic(
                        f"check: pid {owner.pid} maps {va:#x} -> {ppn} unknown to the rmap"
                    )
                mapped[ppn] += 1
                rss += 1
            else:
                slot = layout.ppn(pte)
                if (mm, va) not in k.swap.users.get(slot, ()):
                    raise KernelPanic(
                        f"check: pid {owner.pid} swap entry {slot} at {va:#x} not a user"
                    )
                swapped += 1
    if owner is not None and (owner.stats.rss, owner.stats.swap) != (rss, swapped):
        raise KernelPanic(
            f"check: pid {owner.pid} counts rss={owner.stats.rss} swap={owner.stats.swap}, "
            f"page tables say {rss} and {swapped}"
        )
    if owner is not None and owner.stats.pgtables != len(mm.pgtables):
        raise KernelPanic(f"check: pid {owner.pid} pgtables count is off")
    return mapped


def _check_frames(k: Kernel, mapped: Counter[int]) -> None:
    """Refcounts, purposes and the rmap of every frame."""
    fr = k.frames
    pgtables = {ppn for p in k.procs.values() for ppn in p.mm.pgtables}
    for ppn in range(fr.nframes):
        purpose, ref = fr.purpose[ppn], fr.refcount[ppn]
        rmap = fr.rmap.get(ppn, set())
        for mm, va in rmap:
            if mm.owner is not None and not mm.owner.alive:
                raise KernelPanic(f"check: frame {ppn} still mapped by dead pid {mm.owner.pid}")
            _pte_pa, pte = walk(k, mm, va)
            if not pte & k.fmt.layout.present or k.fmt.pte_ppn(pte) != ppn:
                raise KernelPanic(f"check: rmap says {va:#x} maps frame {ppn}, its PTE is {pte:#x}")
        if len(rmap) != mapped.get(ppn, 0):
            raise KernelPanic(f"check: frame {ppn} rmap {len(rmap)} != PTEs {mapped.get(ppn, 0)}")
        expected = len(rmap) + (ppn in k.swap.cache_slot) + k.extra_refs(ppn)
        if purpose == "":
            if ref or rmap:
                raise KernelPanic(f"check: free frame {ppn} has refcount {ref} or mappings")
        elif purpose == "pagetable":
            if ppn not in pgtables or ref != 1:
                raise KernelPanic(f"check: page-table frame {ppn} owned by no mm or refcount {ref}")
        elif purpose in USER_PURPOSES and ref != expected:
            raise KernelPanic(f"check: frame {ppn} ({purpose}) refcount {ref}, expected {expected}")
    if fr.nr_free != sum(1 for p in fr.purpose if not p):
        raise KernelPanic("check: free-list length differs from the number of free frames")


def _check_swap(k: Kernel) -> None:
    """Every used slot has a user or a cached frame; cache maps agree."""
    sw = k.swap
    for slot, users in sw.users.items():
        for mm, _va in users:
            if mm.owner is not None and not mm.owner.alive:
                raise KernelPanic(f"check: slot {slot} still held by dead pid {mm.owner.pid}")
    busy = {s for s, users in sw.users.items() if users} | set(sw.cache_frame) | set(sw.object_of)
    if len(busy) != sw.used:
        raise KernelPanic(f"check: {sw.used} slots in use, {len(busy)} referenced")
    for slot, ppn in sw.cache_frame.items():
        if sw.cache_slot.get(ppn) != slot:
            raise KernelPanic(f"check: swap cache maps disagree on slot {slot}")


def _check_page_cache(k: Kernel) -> None:
    """Every page-cache frame belongs to exactly the object page that lists it."""
    listed = 0
    objects = {id(o): o for o in [*k.files.values(), *k.shm.values()]}
    objects.update({id(o): o for o, _ in k.page_owner.values()})
    for obj in objects.values():
        for pgoff, ppn in obj.pages.items():
            listed += 1
            if k.page_owner.get(ppn) != (obj, pgoff):
                raise KernelPanic(
                    f"check: page {pgoff} of an object is frame {ppn}, unknown to the cache"
                )
        for pgoff, slot in obj.swapped.items():
            if k.swap.object_of.get(slot) != (obj, pgoff):
                raise KernelPanic(
                    f"check: page {pgoff} of an object is in slot {slot}, unknown to swap"
                )
    if listed != len(k.page_owner):
        raise KernelPanic("check: page-cache frames that no object lists")


def _check_policies(k: Kernel) -> None:
    """Policies track exactly the resident user frames; cgroup charges are within limits."""
    rc = k.reclaimer
    tracked = [ppn for ppn, pol in enumerate(rc.frame_policy) if pol is not None]
    for ppn in tracked:
        if k.frames.purpose[ppn] not in USER_PURPOSES:
            raise KernelPanic(f"check: policy tracks frame {ppn} ({k.frames.purpose[ppn]!r})")
    total = len(rc.global_policy) + sum(len(p) for p in rc.cgroup_policy.values())
    if total != len(tracked):
        raise KernelPanic(f"check: policies hold {total} frames, {len(tracked)} are tracked")
    for proc in k.procs.values():
        if proc.memory_limit is not None:
            charged = sum(1 for cg in rc.frame_cgroup if cg is proc)
            if charged != rc.charge.get(proc, 0) or charged > proc.memory_limit:
                raise KernelPanic(
                    f"check: pid {proc.pid} charge {charged} vs limit {proc.memory_limit}"
                )
