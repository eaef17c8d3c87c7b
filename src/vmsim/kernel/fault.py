"""The page-fault path: handle_page_fault -> handle_mm_fault -> one do_* handler.

handle_page_fault checks the VMA (no VMA: SIGSEGV/SEGV_MAPERR, unless a stack can
grow down to cover the address; an access the VMA does not allow: SEGV_ACCERR).
handle_mm_fault then decides on the state of the PTE (the decision table):

| PTE | access | handler |
| --- | --- | --- |
| none | read/exec | do_anonymous_page: map the shared zero page read-only |
| none | write | do_anonymous_page: a fresh zeroed frame (minor fault) |
| none, file/shm VMA | any | do_file_page |
| swap entry | any | do_swap_page (major fault) |
| present, read-only | write | do_wp_page (zero page or copy-on-write) |
| present, allowed | any | nothing to do (spurious: the access is retried) |
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic, SyscallError, format_addr
from vmsim.events import CowCopy
from vmsim.events import PageFault as PageFaultEvent
from vmsim.hw.mmu import ACCESS_NAMES, EXEC, READ, WRITE_ACCESS
from vmsim.hw.pte import PRESENT, USER, WRITE
from vmsim.kernel.filemap import do_file_page
from vmsim.kernel.mm import PROT_EXEC, PROT_READ, PROT_WRITE, VMA, AddressSpace
from vmsim.kernel.swap import do_swap_page
from vmsim.kernel.vm import map_page, set_pte, vma_pte_flags, walk, zap_pte

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc


@dataclass
class VmFault:
    """Everything a do_* handler needs about one fault (Linux's struct vm_fault)."""

    mm: AddressSpace
    vma: VMA
    va: int
    """Page-aligned faulting address."""
    access: int
    pte_pa: int
    pte: int

    @property
    def write(self) -> bool:
        """Whether the faulting access is a write."""
        return self.access == WRITE_ACCESS


def handle_page_fault(k: Kernel, proc: Proc, va: int, access: int, reason: str) -> None:
    """Resolve a user page fault, or deliver SIGSEGV (raises SegmentationFault)."""
    k.stats.pgfault += 1
    k.emit(PageFaultEvent(proc.pid, va, ACCESS_NAMES[access], reason))
    vma = find_fault_vma(k, proc.mm, va)
    if vma is None:
        raise k.deliver_segv(proc, va, access, "SEGV_MAPERR")
    if not vma_permits(vma, access):
        raise k.deliver_segv(proc, va, access, "SEGV_ACCERR")
    k.faulting = proc
    try:
        handle_mm_fault(k, vma, proc.mm, va, access)
    finally:
        k.faulting = None


def find_fault_vma(k: Kernel, mm: AddressSpace, va: int) -> VMA | None:
    """The VMA that covers va, growing a stack down to it if it may; None if none can."""
    if not 0 <= va < k.fmt.user_top:
        return None
    vma = mm.find_vma(va)
    if vma is None:
        return None
    if va >= vma.start:
        return vma
    if vma.growsdown and expand_stack(k, mm, vma, va):
        return vma
    return None


def vma_permits(vma: VMA, access: int) -> bool:
    """Whether the VMA's protection allows this access."""
    need = {READ: PROT_READ, WRITE_ACCESS: PROT_WRITE, EXEC: PROT_EXEC}[access]
    return bool(vma.prot & need)


def expand_stack(k: Kernel, mm: AddressSpace, vma: VMA, va: int) -> bool:
    """Grow a stack VMA down to cover va, within the stack limit and the guard gap."""
    lay = mm.layout
    new_start = va & ~(lay.page_size - 1)
    if vma.end - new_start > lay.stack_limit:
        return False
    i = mm.vmas.index(vma)
    prev_end = mm.vmas[i - 1].end if i > 0 else 0
    if new_start < prev_end + lay.stack_guard_gap:
        return False
    if not k.vm_enough_memory((vma.start - new_start) // lay.page_size, vma):
        return False
    vma.start = new_start
    return True


def handle_mm_fault(k: Kernel, vma: VMA, mm: AddressSpace, va: int, access: int) -> None:
    """Dispatch on the PTE's state (the decision table in this module's docstring)."""
    page_va = va & ~(k.fmt.page_size - 1)
    pte_pa, pte = walk(k, mm, page_va, alloc=True)
    vmf = VmFault(mm, vma, page_va, access, pte_pa, pte)
    if pte == 0:
        if vma.backing is not None:
            do_file_page(k, vmf)
        else:
            do_anonymous_page(k, vmf)
        return
    flags = k.fmt.layout.flags(pte)
    if not flags & PRESENT:
        do_swap_page(k, vmf)
    elif vmf.write and not flags & WRITE:
        do_wp_page(k, vmf)
    elif not flags & USER:
        raise KernelPanic(f"handle_mm_fault: supervisor PTE at {va:#x} in a permitted VMA")


def do_anonymous_page(k: Kernel, vmf: VmFault) -> None:
    """First touch of an anonymous page: zero page on a read, a fresh frame on a write."""
    owner = k.owner_of(vmf.mm)
    if not vmf.write and vmf.vma.zero_page:
        map_page(
            k,
            vmf.mm,
            vmf.va,
            k.zero_ppn,
            vma_pte_flags(vmf.vma, writable=False),
            "zero-page",
            vmf.pte_pa,
        )
        k.stats.zero_page_map += 1
    else:
        # without the zero page (replays) every first touch is one fault, as the textbook counts
        ppn = k.alloc_user_page(vmf.mm, "anon")
        map_page(k, vmf.mm, vmf.va, ppn, vma_pte_flags(vmf.vma, writable=True), "anon", vmf.pte_pa)
        k.reclaimer.page_added(ppn, vmf.mm)
    if owner is not None:
        owner.stats.min_flt += 1


def do_wp_page(k: Kernel, vmf: VmFault) -> None:
    """A write to a present read-only page of a writable VMA: reuse the frame or copy it.

    The zero page is always replaced by a fresh frame; a page of a shared mapping, or a
    private anonymous page mapped only here, is reused (made writable); anything else
    (copy-on-write after fork, a private file page) is copied.
    """
    old = k.fmt.pte_ppn(vmf.pte)
    owner = k.owner_of(vmf.mm)
    if old == k.zero_ppn:
        wp_page_copy(k, vmf, old, "anon")
    elif vmf.vma.shared or (k.frames.purpose[old] == "anon" and k.frames.mapcount(old) == 1):
        wp_page_reuse(k, vmf, old)
    else:
        wp_page_copy(k, vmf, old, "cow-copy")
    if owner is not None:
        owner.stats.min_flt += 1


def wp_page_reuse(k: Kernel, vmf: VmFault, ppn: int) -> None:
    """Make the existing mapping writable (and no longer copy-on-write)."""
    layout = k.fmt.layout
    cow = bool(vmf.pte & layout.cow)
    k.swap_cache_drop(ppn)
    new = (vmf.pte | layout.write) & ~layout.cow
    set_pte(k, vmf.mm, vmf.va, vmf.pte_pa, new)
    if cow:
        k.stats.cow_fault += 1
        if vmf.mm.owner is not None:
            vmf.mm.owner.stats.cow_fault += 1


def wp_page_copy(k: Kernel, vmf: VmFault, old: int, how: str) -> None:
    """Give this mapping its own writable copy of frame old."""
    with k.frames.pinned(old):
        new = k.alloc_user_page(vmf.mm, "anon")
    if old != k.zero_ppn:
        k.mem.copy_frame(old, new)
        k.stats.cow_fault += 1
        k.stats.cow_copy += 1
        if vmf.mm.owner is not None:
            vmf.mm.owner.stats.cow_fault += 1
        k.emit(CowCopy(k.pid_of(vmf.mm), vmf.va, old, new))
    zap_pte(k, vmf.mm, vmf.va, vmf.pte_pa, vmf.pte)
    map_page(k, vmf.mm, vmf.va, new, vma_pte_flags(vmf.vma, writable=True), how, vmf.pte_pa)
    k.reclaimer.page_added(new, vmf.mm)


def fault_in(k: Kernel, mm: AddressSpace, va: int, write: bool) -> int:
    """Physical address of va for a kernel access on mm's behalf, faulting the page in.

    Raises SyscallError(EFAULT) when va is not a valid user address for the access.
    """
    access = WRITE_ACCESS if write else READ
    for _ in range(4):
        _pte_pa, pte = walk(k, mm, va)
        flags = k.fmt.layout.flags(pte)
        if flags & PRESENT and flags & USER and (not write or flags & WRITE):
            return (k.fmt.pte_ppn(pte) << k.fmt.page_shift) | (va & (k.fmt.page_size - 1))
        vma = find_fault_vma(k, mm, va)
        if vma is None or not vma_permits(vma, access):
            raise SyscallError(
                errno.EFAULT, f"bad user address {format_addr(va)} for {ACCESS_NAMES[access]}"
            )
        handle_mm_fault(k, vma, mm, va, access)
    raise KernelPanic(f"fault_in: {va:#x} still not mapped after faulting")
