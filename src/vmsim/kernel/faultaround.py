"""Read-around and fault-around for file mappings, as Linux does them (mm/filemap.c).

Both are off unless `MachineConfig.fault_around_bytes` is larger than a page (Linux's
default is 64 KiB; `vmsim run` uses it).

- read-around (do_sync_mmap_readahead): a major fault on a file page reads the pages
  of the READAROUND_PAGES window centred on it into the page cache with the same I/O:
  one major fault, one pgpgin per page read. It only uses free frames (it never makes
  reclaim run) and is skipped for processes with a memory limit.
- fault-around (do_fault_around -> filemap_map_pages): a read fault on a file mapping
  also maps the pages of its fault_around_bytes-aligned window (within the VMA) that
  are in the page cache and whose PTEs are empty, read-only; they are not faults, and
  a later write to one still faults (copy-on-write, or making a shared page writable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmsim.kernel.filemap import FileObject, add_to_page_cache, page_offset
from vmsim.kernel.mm import VmFault
from vmsim.kernel.vm import map_page, vma_pte_flags, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel

READAROUND_PAGES = 32
"""Linux's default readahead window (VM_READAHEAD_PAGES: 128 KiB of 4 KiB pages)."""


def read_around(k: Kernel, vmf: VmFault, obj: FileObject, pgoff: int, ppn: int) -> None:
    """After a major fault read page pgoff (in frame ppn): read its neighbours in too."""
    owner = k.owner_of(vmf.mm)
    if k.config.fault_around_bytes <= k.fmt.page_size or (owner and owner.memory_limit):
        return
    last = (obj.size - 1) // obj.page_size
    first = max(0, pgoff - READAROUND_PAGES // 2)
    with k.frames.pinned(ppn):
        for off in range(first, min(last, first + READAROUND_PAGES - 1) + 1):
            if off in obj.pages or off in obj.swapped:
                continue
            if k.frames.nr_free <= READAROUND_PAGES:
                return
            new = k.alloc_user_page(vmf.mm, obj.kind)
            k.mem.write_frame(new, obj.read_page(off))
            add_to_page_cache(k, obj, off, new)
            k.reclaimer.page_added(new, vmf.mm)
            k.stats.pgpgin += 1


def fault_around(k: Kernel, vmf: VmFault, obj: FileObject) -> None:
    """After a read fault on a file mapping: map the cached pages of its window."""
    size = k.config.fault_around_bytes
    if size <= k.fmt.page_size or vmf.write:
        return
    vma, mm, ps = vmf.vma, vmf.mm, k.fmt.page_size
    start = max(vma.start, vmf.va & ~(size - 1))
    end = min(vma.end, (vmf.va & ~(size - 1)) + size)
    last = (obj.size - 1) // ps
    how = f"{obj.kind}-{'shared' if vma.shared else 'private'}"
    for va in range(start, end, ps):
        if va == vmf.va:
            continue
        pgoff = page_offset(vma, va, k.fmt.page_shift)
        ppn = obj.pages.get(pgoff)
        if ppn is None or pgoff > last:
            continue
        pte_pa, pte = walk(k, mm, va)
        if pte_pa < 0 or pte:
            continue
        k.frames.get_page(ppn)
        map_page(k, mm, va, ppn, vma_pte_flags(vma, writable=False), how, pte_pa)
