"""The system calls on an address space: mmap, munmap, mprotect, brk, mremap (mm/mmap.c).

They change VMAs and, through memory.py, the mappings under them; a VMA that goes
(munmap, exit) writes its shared file pages back first and releases its object after.
"""

from __future__ import annotations

import errno
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vmsim.errors import SyscallError, format_addr
from vmsim.hw.pte import ACCESSED, COW, DIRTY, WRITE, pg_round_up
from vmsim.kernel.filemap import FileObject, msync
from vmsim.kernel.memory import move_ptes, unmap_pages
from vmsim.kernel.mm import PROT_READ, PROT_WRITE, VMA, AddressSpace, committed_pages_of
from vmsim.kernel.oom import vm_enough_memory
from vmsim.kernel.shmem import release_object
from vmsim.kernel.vm import scan_ptes, set_pte, vma_pte_flags

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


def _span(start: int, end: int) -> str:
    """A half-open range of addresses for an error message."""
    return f"[{format_addr(start)}, {format_addr(end)})"


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
    if pages and not vm_enough_memory(k, pages):
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
    obj = vma.backing
    if vma.shared and isinstance(obj, FileObject):
        msync(k, mm, vma.start, vma.end)
    unmap_pages(k, mm, vma.start, vma.end)
    k.vm_unacct_memory(committed_pages_of(mm, vma))
    mm.remove(vma)
    if obj is not None:
        obj.map_count -= 1
        if obj.map_count == 0:
            release_object(k, obj)


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
        if after > before and not vm_enough_memory(k, after - before):
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
        if not vm_enough_memory(k, pages):
            raise SyscallError(errno.ENOMEM, f"brk: cannot commit {pages} more pages (overcommit)")
        if heap is None:
            mm.insert(VMA(mm.start_brk, new_end, PROT_READ | PROT_WRITE, "heap"))
        else:
            heap.end = new_end
            mm.reindex()
    mm.brk = new_brk
    return new_brk


MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2


def do_mremap(
    k: Kernel, mm: AddressSpace, old: int, old_size: int, new_size: int, flags: int,
    new_addr: int = 0,
) -> int:  # fmt: skip
    """Resize (and maybe move) the mapping at [old, old + old_size); return where it is.

    As Linux: shrinking unmaps the tail; growing extends the VMA in place when the pages
    after it are free, else (MREMAP_MAYMOVE) moves it, its PTEs with it (the frames and
    swap slots follow, nothing is copied), to a free range or (MREMAP_FIXED) to new_addr.
    SyscallError: EINVAL, EFAULT (not one VMA), ENOMEM (no room, or overcommit).
    """
    ps = mm.layout.page_size
    old_size, new_size = pg_round_up(old_size, ps), pg_round_up(new_size, ps)
    fixed = bool(flags & MREMAP_FIXED)
    if old % ps or not new_size or flags & ~3 or (fixed and not flags & MREMAP_MAYMOVE):
        raise _einval("mremap: bad address, size or flags")
    vma = mm.vma_at(old)
    if vma is None or old + old_size > vma.end:
        raise SyscallError(errno.EFAULT, f"mremap: {_span(old, old + old_size)} is not one VMA")
    if fixed:
        if new_addr % ps or (new_addr < old + old_size and old < new_addr + new_size):
            raise _einval("mremap: the new range is unaligned or overlaps the old one")
        _check_range(mm, new_addr, new_size)
        do_munmap(k, mm, new_addr, new_size)
    elif new_size <= old_size:
        if new_size < old_size:
            do_munmap(k, mm, old + new_size, old_size - new_size)
        return old
    elif old + old_size == vma.end and _free(mm, vma.end, old + new_size):
        _commit(k, mm, vma, (new_size - old_size) // ps)
        vma.end = old + new_size
        mm.reindex()
        return old
    elif not flags & MREMAP_MAYMOVE:
        raise SyscallError(errno.ENOMEM, "mremap: cannot grow in place")
    return _move_vma(k, mm, old, old_size, new_size, new_addr if fixed else None)


def _free(mm: AddressSpace, start: int, end: int) -> bool:
    """Whether [start, end) is inside user space and no VMA overlaps it."""
    return end <= mm.layout.user_top and not mm.overlapping(start, end)


def _check_range(mm: AddressSpace, addr: int, length: int) -> None:
    """A fixed destination must lie inside user space."""
    if addr < mm.layout.mmap_min_addr or addr + length > mm.layout.user_top:
        raise SyscallError(errno.ENOMEM, f"mremap: {_span(addr, addr + length)} is outside")


def _commit(k: Kernel, mm: AddressSpace, vma: VMA, pages: int) -> None:
    """Charge `pages` more pages of vma against the commit limit (if it is charged)."""
    probe = VMA(0, pages * mm.layout.page_size, vma.prot, vma.kind, shared=vma.shared,
                noreserve=vma.noreserve)  # fmt: skip
    charged = committed_pages_of(mm, probe)
    if charged and not vm_enough_memory(k, charged):
        raise SyscallError(errno.ENOMEM, f"mremap: cannot commit {pages} more pages (overcommit)")


def _move_vma(
    k: Kernel, mm: AddressSpace, old: int, old_size: int, new_size: int, at: int | None
) -> int:
    """Move [old, old + old_size) to a new VMA of new_size bytes (at `at`, or anywhere)."""
    ps = mm.layout.page_size
    (ov,) = _isolate(mm, old, old + old_size)
    new = at if at is not None else mm.get_unmapped_area(new_size)
    if new is None:
        raise SyscallError(errno.ENOMEM, f"mremap: no room for {new_size} bytes")
    extra = max(0, new_size - old_size) // ps
    _commit(k, mm, ov, extra)
    nv = replace(ov, start=new, end=new + new_size)
    mm.insert(nv)
    if nv.backing is not None:
        nv.backing.map_count += 1
    move_ptes(k, mm, ov.start, ov.start + min(old_size, new_size), new)
    if new_size < old_size:
        unmap_pages(k, mm, old + new_size, old + old_size)
        k.vm_unacct_memory(committed_pages_of(mm, ov) * (old_size - new_size) // old_size)
    mm.remove(ov)  # its PTEs moved, its commitment goes with them
    if ov.backing is not None:
        ov.backing.map_count -= 1
    return new
