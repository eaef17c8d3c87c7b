"""The page-fault path: handle_page_fault -> handle_mm_fault -> one do_* handler.

handle_page_fault checks the VMA (no VMA: SIGSEGV/SEGV_MAPERR, unless a stack can
grow down to cover the address; an access the VMA does not allow: SEGV_ACCERR).
handle_mm_fault then decides on the state of the PTE (the decision table):

| PTE | access | handler |
| --- | --- | --- |
| none | read/exec | do_anonymous_page: map the shared zero page read-only |
| none | write | do_anonymous_page: a fresh zeroed frame (minor fault) |
| none, file/shm VMA | any | do_fault (the page cache's frame, or a private copy) |
| swap entry | any | do_swap_page (major fault) |
| present, read-only | write | do_wp_page (zero page or copy-on-write) |
| present, allowed | any | nothing to do (spurious: the access is retried) |

Every handler returns a `VmFaultFlag` (Linux's VM_FAULT_* codes) instead of acting on
the process: no frame is VM_FAULT_OOM, a file page beyond the end is VM_FAULT_SIGBUS.
The caller, at the trap or system-call boundary, delivers the signal or makes a
process the OOM killer marked exit (kernel.py); nothing here tears a process down.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic, OutOfMemory, SyscallError, format_addr
from vmsim.events import CowCopy
from vmsim.events import PageFault as PageFaultEvent
from vmsim.hw.mmu import ACCESS_NAMES, EXEC, READ, WRITE_ACCESS
from vmsim.hw.pte import PRESENT, USER, WRITE
from vmsim.kernel.faultaround import fault_around, read_around
from vmsim.kernel.filemap import FileObject, PageCacheObject, find_get_page, page_offset
from vmsim.kernel.memory import zap_pte
from vmsim.kernel.mm import (
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VM_FAULT_DONE,
    VM_FAULT_ERROR,
    VM_FAULT_MAJOR,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    VM_FAULT_SIGSEGV,
    VMA,
    AddressSpace,
    VmFault,
    VmFaultFlag,
)
from vmsim.kernel.oom import vm_enough_memory
from vmsim.kernel.shmem import ShmObject, shmem_get_page
from vmsim.kernel.swap import do_swap_page
from vmsim.kernel.swap_state import swap_cache_drop
from vmsim.kernel.vm import leaf_pte_pa, map_page, set_pte, vma_pte_flags, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc

__all__ = [
    "VmFault",
    "VmFaultFlag",
    "anon_write_fault",
    "fault_in",
    "handle_mm_fault",
    "handle_page_fault",
    "handle_pte_fault",
]


def handle_page_fault(k: Kernel, proc: Proc, va: int, access: int, reason: str) -> VmFaultFlag:
    """The trap handler of a user fault: check the VMA, then handle_mm_fault.

    Returns VM_FAULT_SIGSEGV when the address is in no VMA (or the VMA refuses the
    access): the caller delivers SIGSEGV with `segv_code(...)`.
    """
    k.stats.pgfault += 1
    if k.events is not None:
        k.emit(PageFaultEvent(proc.pid, va, ACCESS_NAMES[access], reason))
    mm = proc.mm
    vma = find_fault_vma(k, mm, va)
    if vma is None or not vma.prot & _PROT_NEEDED[access]:
        return VM_FAULT_SIGSEGV
    mm.mmap_lock += 1  # mm.locked(), without a generator per fault
    try:
        return handle_mm_fault(k, vma, mm, va, access, proc)
    finally:
        mm.mmap_lock -= 1


def anon_write_fault(
    k: Kernel, proc: Proc, va: int, access: int, reason: str
) -> VmFaultFlag | None:
    """The commonest user fault, handled as handle_page_fault would without its steps: a
    write to a page not present in a private anonymous VMA whose leaf table the kernel
    knows, a frame free. The same mechanisms (kalloc, map_page, the policy's page_added)
    and the same counts; a swap entry found there goes to handle_pte_fault.

    None, with nothing counted, for any other fault (or while events are recorded, or
    under a cgroup limit): the caller takes handle_page_fault. (A stack may have grown to
    va meanwhile, as find_fault_vma grows it for handle_page_fault, which finds it grown.)
    """
    if access != WRITE_ACCESS or reason != "not-present" or k.events is not None:
        return None
    mm, fmt = proc.mm, k.fmt
    owner = mm.owner
    if (owner is not None and owner.memory_limit is not None) or not k.frames.nr_free:
        return None  # no reclaim and no OOM killer here: nothing needs mmap_lock
    vma = find_fault_vma(k, mm, va)  # (a stack grown as handle_page_fault would)
    if vma is None or vma.backing is not None or not vma.prot & PROT_WRITE:
        return None
    page_va = va & ~(fmt.page_size - 1)
    pte_pa = leaf_pte_pa(k, mm, page_va)
    if pte_pa < 0:
        return None
    k.stats.pgfault += 1
    pte = k.mem.read_uint(pte_pa, fmt.pte_size)
    if pte:
        with mm.locked():
            return handle_pte_fault(k, VmFault(mm, vma, page_va, access, pte_pa, pte, proc))
    ppn = k.alloc_user_page(mm, "anon")
    map_page(k, mm, page_va, ppn, vma_pte_flags(vma, writable=True), "anon", pte_pa)
    k.reclaimer.page_added(ppn, mm)
    proc.stats.min_flt += 1
    return VM_FAULT_DONE


def segv_code(k: Kernel, mm: AddressSpace, va: int) -> str:
    """si_code of a SIGSEGV at va: SEGV_ACCERR inside a VMA, SEGV_MAPERR outside any."""
    inside = 0 <= va < k.fmt.user_top and mm.vma_at(va) is not None
    return "SEGV_ACCERR" if inside else "SEGV_MAPERR"


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


_PROT_NEEDED = {READ: PROT_READ, WRITE_ACCESS: PROT_WRITE, EXEC: PROT_EXEC}


def vma_permits(vma: VMA, access: int) -> bool:
    """Whether the VMA's protection allows this access."""
    return bool(vma.prot & _PROT_NEEDED[access])


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
    if not vm_enough_memory(k, (vma.start - new_start) // lay.page_size):
        return False
    vma.start = new_start
    return True


def handle_mm_fault(
    k: Kernel, vma: VMA, mm: AddressSpace, va: int, access: int, task: Proc | None
) -> VmFaultFlag:
    """Dispatch on the PTE's state (the module's decision table); account the fault.

    A frame that cannot be found (OutOfMemory from kalloc) unwinds the handler and
    comes back as VM_FAULT_OOM; the mm is left as it was before the fault.
    """
    page_va = va & ~(k.fmt.page_size - 1)
    try:
        pte_pa, pte = walk(k, mm, page_va, alloc=True)
    except OutOfMemory:
        return VM_FAULT_OOM
    return handle_pte_fault(k, VmFault(mm, vma, page_va, access, pte_pa, pte, task))


def handle_pte_fault(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """The decision table on the PTE walked (vmf.pte at vmf.pte_pa), and the fault's
    accounting: a minor or a major fault of vmf.task. OutOfMemory is VM_FAULT_OOM."""
    try:
        ret = _dispatch(k, vmf)
    except OutOfMemory:
        return VM_FAULT_OOM
    task = vmf.task
    if task is not None and (ret == VM_FAULT_DONE or not ret & VM_FAULT_ERROR):
        if ret != VM_FAULT_DONE and ret & VM_FAULT_MAJOR:
            task.stats.maj_flt += 1
        else:
            task.stats.min_flt += 1
    return ret


def _dispatch(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """The decision table: the do_* handler for this PTE and access."""
    pte = vmf.pte
    if pte == 0:
        if vmf.vma.backing is not None:
            return do_fault(k, vmf)
        return do_anonymous_page(k, vmf)
    flags = k.fmt.layout.flags(pte)
    if not flags & PRESENT:
        return do_swap_page(k, vmf)
    if vmf.write and not flags & WRITE:
        return do_wp_page(k, vmf)
    if not flags & USER:
        raise KernelPanic(f"handle_mm_fault: supervisor PTE at {vmf.va:#x} in a permitted VMA")
    return VM_FAULT_DONE


def do_anonymous_page(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """First touch of an anonymous page: zero page on a read, a fresh frame on a write."""
    if not vmf.write and vmf.vma.zero_page:
        flags = vma_pte_flags(vmf.vma, writable=False)
        map_page(k, vmf.mm, vmf.va, k.zero_ppn, flags, "zero-page", vmf.pte_pa)
        k.stats.zero_page_map += 1
        return VM_FAULT_DONE
    # without the zero page (replays) every first touch is one fault, as the textbook counts
    ppn = k.alloc_user_page(vmf.mm, "anon")
    map_page(k, vmf.mm, vmf.va, ppn, vma_pte_flags(vmf.vma, writable=True), "anon", vmf.pte_pa)
    k.reclaimer.page_added(ppn, vmf.mm)
    return VM_FAULT_DONE


def do_fault(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """First touch of a page of a file or shm VMA: map the cached frame, or copy it.

    Shared mappings map the page cache's frame itself; a private mapping maps it
    read-only and a write gets a private copy (the file never sees private writes).
    A page of a file mapping beyond the end of the file is VM_FAULT_SIGBUS.
    """
    vma, mm = vmf.vma, vmf.mm
    obj: PageCacheObject = vma.backing
    pgoff = page_offset(vma, vmf.va, k.fmt.page_shift)
    if isinstance(obj, FileObject) and pgoff * obj.page_size >= obj.size:
        return VM_FAULT_SIGBUS
    if isinstance(obj, ShmObject):
        ppn, major = shmem_get_page(k, obj, pgoff, mm, vmf.va)
    else:
        ppn, major = find_get_page(k, obj, pgoff, mm)
        if major and isinstance(obj, FileObject):
            read_around(k, vmf, obj, pgoff, ppn)
    if vma.shared or not vmf.write:
        k.frames.get_page(ppn)
        how = f"{obj.kind}-{'shared' if vma.shared else 'private'}"
        map_page(k, mm, vmf.va, ppn, vma_pte_flags(vma, writable=vma.shared), how, vmf.pte_pa)
    else:
        with k.frames.pinned(ppn):
            new = k.alloc_user_page(mm, "anon")
        k.mem.copy_frame(ppn, new)
        map_page(k, mm, vmf.va, new, vma_pte_flags(vma, writable=True), "private-copy", vmf.pte_pa)
        k.reclaimer.page_added(new, mm)
    if isinstance(obj, FileObject):
        fault_around(k, vmf, obj)
    return VM_FAULT_MAJOR if major else VM_FAULT_DONE


def do_wp_page(k: Kernel, vmf: VmFault) -> VmFaultFlag:
    """A write to a present read-only page of a writable VMA: reuse the frame or copy it.

    The zero page is always replaced by a fresh frame; a page of a shared mapping, or a
    private anonymous page mapped only here, is reused (made writable); anything else
    (copy-on-write after fork, a private file page) is copied.
    """
    old = k.fmt.pte_ppn(vmf.pte)
    if old == k.zero_ppn:
        wp_page_copy(k, vmf, old, "anon")
    elif vmf.vma.shared or (k.frames.purpose[old] == "anon" and k.frames.mapcount(old) == 1):
        wp_page_reuse(k, vmf, old)
    else:
        wp_page_copy(k, vmf, old, "cow-copy")
    return VM_FAULT_DONE


def _count_cow(k: Kernel, mm: AddressSpace) -> None:
    """One more copy-on-write fault, machine-wide and for mm's owner."""
    k.stats.cow_fault += 1
    if mm.owner is not None:
        mm.owner.stats.cow_fault += 1


def wp_page_reuse(k: Kernel, vmf: VmFault, ppn: int) -> None:
    """Make the existing mapping writable (and no longer copy-on-write)."""
    layout = k.fmt.layout
    cow = bool(vmf.pte & layout.cow)
    swap_cache_drop(k, ppn)
    new = (vmf.pte | layout.write) & ~layout.cow
    set_pte(k, vmf.mm, vmf.va, vmf.pte_pa, new)
    if cow:
        _count_cow(k, vmf.mm)


def wp_page_copy(k: Kernel, vmf: VmFault, old: int, how: str) -> None:
    """Give this mapping its own writable copy of frame old."""
    with k.frames.pinned(old):
        new = k.alloc_user_page(vmf.mm, "anon")
    if old != k.zero_ppn:
        k.mem.copy_frame(old, new)
        _count_cow(k, vmf.mm)
        k.stats.cow_copy += 1
        k.emit(CowCopy(k.pid_of(vmf.mm), vmf.va, old, new))
    zap_pte(k, vmf.mm, vmf.va, vmf.pte_pa, vmf.pte)
    map_page(k, vmf.mm, vmf.va, new, vma_pte_flags(vmf.vma, writable=True), how, vmf.pte_pa)
    k.reclaimer.page_added(new, vmf.mm)


def fault_in(k: Kernel, mm: AddressSpace, va: int, write: bool) -> int:
    """Physical address of va for a kernel access on mm's behalf, faulting the page in.

    Raises SyscallError(EFAULT) when va is not a valid user address for the access (or
    its page has no backing), OutOfMemory when no frame can be found for it; the
    caller's system-call boundary turns an OOM kill of mm's owner into its exit.
    """
    access = WRITE_ACCESS if write else READ
    layout = k.fmt.layout
    for _ in range(4):
        _pte_pa, pte = walk(k, mm, va)
        flags = layout.flags(pte)
        if flags & PRESENT and flags & USER and (not write or flags & WRITE):
            return (layout.ppn(pte) << k.fmt.page_shift) | (va & (k.fmt.page_size - 1))
        vma = find_fault_vma(k, mm, va)
        if vma is None or not vma_permits(vma, access):
            raise SyscallError(
                errno.EFAULT, f"bad user address {format_addr(va)} for {ACCESS_NAMES[access]}"
            )
        with mm.locked():
            ret = handle_mm_fault(k, vma, mm, va, access, mm.owner)
        if ret & VM_FAULT_OOM:
            raise OutOfMemory(f"no frame for a kernel access at {format_addr(va)}")
        if ret & VM_FAULT_ERROR:
            raise SyscallError(
                errno.EFAULT, f"no page behind {format_addr(va)} for {ACCESS_NAMES[access]}"
            )
    raise KernelPanic(f"fault_in: {va:#x} still not mapped after faulting")
