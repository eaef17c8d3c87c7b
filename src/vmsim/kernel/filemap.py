"""The page cache (Linux's mm/filemap.c): memory-mapped host files, page by page.

A `PageCacheObject` is something whose pages can be mapped: a `FileObject` is one host
file (one per real path, shared by every process that maps it); shared memory
(shmem.py) is the other kind. Each keeps a page cache: page offset -> frame. The cache
holds one reference on each of its frames; every PTE that maps a frame holds another.

- find_get_page: the frame of a page, read from the file on first use (fault.py's
  do_fault maps it: shared, read-only, or a private copy).
- Dirty pages of shared file mappings reach the host file on msync, munmap, exit and
  eviction. Clean file pages are dropped on reclaim, never swapped; shm pages go to swap
  (their PTEs become swap entries; the object remembers the slot).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic, SyscallError
from vmsim.kernel.mm import VMA, AddressSpace
from vmsim.kernel.vm import set_pte, walk

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


@dataclass(eq=False)
class PageCacheObject:
    """Something whose pages can be mapped: its page cache and who maps it."""

    page_size: int
    size: int
    """Size in bytes (for a file: its size when it was opened)."""
    pages: dict[int, int] = field(default_factory=dict)
    """Page offset -> frame, for pages in memory."""
    swapped: dict[int, int] = field(default_factory=dict)
    """Page offset -> swap slot, for pages in swap (shm only)."""
    map_count: int = 0
    """VMAs that map this object."""

    kind = "object"

    def read_page(self, pgoff: int) -> bytes:
        """The page's content from its backing store (zeros for shared memory)."""
        return bytes(self.page_size)

    def write_page(self, pgoff: int, data: bytes) -> bool:
        """Write a page back to the backing store; False if there is none."""
        return False


@dataclass(eq=False)
class FileObject(PageCacheObject):
    """A host file mapped into processes, with its page cache."""

    path: str = ""
    fd: int = -1
    writable: bool = False

    kind = "file"

    def read_page(self, pgoff: int) -> bytes:
        """The page at pgoff, read from the host file (zeros past the end)."""
        data = os.pread(self.fd, self.page_size, pgoff * self.page_size)
        return data.ljust(self.page_size, b"\0")

    def write_page(self, pgoff: int, data: bytes) -> bool:
        """Write the page back, clipped to the file's size (mmap never grows a file)."""
        start = pgoff * self.page_size
        n = min(self.page_size, self.size - start)
        if n > 0:
            os.pwrite(self.fd, data[:n], start)
        return True

    def close(self) -> None:
        """Close the host file."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_file(k: Kernel, path: str, writable: bool) -> FileObject:
    """The FileObject of a host file (one per real path), opened for writing if asked."""
    real = os.path.realpath(path)
    obj = k.files.get(real)
    try:
        if obj is None:
            _check_mappable(real, path)
            fd = os.open(real, os.O_RDWR if writable else os.O_RDONLY)
            obj = FileObject(
                k.fmt.page_size, os.fstat(fd).st_size, path=real, fd=fd, writable=writable
            )
            k.files[real] = obj
        elif writable and not obj.writable:
            fd = os.open(real, os.O_RDWR)
            os.close(obj.fd)
            obj.fd, obj.writable = fd, True
    except FileNotFoundError:
        raise SyscallError(errno.ENOENT, f"mmap: no such file: {path}") from None
    except PermissionError:
        raise SyscallError(errno.EACCES, f"mmap: {path} cannot be opened for writing") from None
    return obj


def _check_mappable(real: str, path: str) -> None:
    """ENODEV (Linux's mmap answer) unless real is a regular file, as a directory is not.

    Checked before open, which would block on a FIFO.
    """
    mode = os.stat(real).st_mode
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise SyscallError(errno.ENODEV, f"mmap: {path} is {what}: it cannot be mapped")


def page_offset(vma: VMA, va: int, page_shift: int) -> int:
    """Offset, in pages, of va within the object vma maps."""
    return vma.pgoff + ((va - vma.start) >> page_shift)


def find_get_page(
    k: Kernel, obj: PageCacheObject, pgoff: int, mm: AddressSpace
) -> tuple[int, bool]:
    """The frame caching obj's page pgoff, read in for mm if needed; (frame, major fault).

    OutOfMemory if no frame can be found for it.
    """
    ppn = obj.pages.get(pgoff)
    if ppn is not None:
        return ppn, False
    ppn = k.alloc_user_page(mm, obj.kind)
    data = obj.read_page(pgoff)
    k.mem.write_frame(ppn, data)
    add_to_page_cache(k, obj, pgoff, ppn)
    k.reclaimer.page_added(ppn, mm)
    if isinstance(obj, FileObject):
        k.stats.pgpgin += 1
        k.stats.pgmajfault += 1
        return ppn, True
    return ppn, False


def add_to_page_cache(k: Kernel, obj: PageCacheObject, pgoff: int, ppn: int) -> None:
    """Enter frame ppn in obj's page cache (kalloc's reference becomes the cache's)."""
    obj.pages[pgoff] = ppn
    k.page_owner[ppn] = (obj, pgoff)


def delete_from_page_cache(k: Kernel, ppn: int) -> None:
    """Take ppn out of its object's page cache and drop the cache's reference."""
    obj, pgoff = k.page_owner.pop(ppn)
    if obj.pages.get(pgoff) != ppn:
        raise KernelPanic(f"page cache: frame {ppn} is not page {pgoff} of its object")
    del obj.pages[pgoff]
    k.frames.put_page(ppn)


def writeback_page(k: Kernel, ppn: int) -> bool:
    """Write a dirty page-cache frame to its file and mark it clean everywhere.

    Returns whether it was written (only file pages of shared mappings get dirty).
    """
    owner = k.page_owner.get(ppn)
    if owner is None:
        return False
    obj, pgoff = owner
    mappers = k.frames.mappers(ppn)
    if not k.reclaimer.frame_dirty(ppn, mappers) or not isinstance(obj, FileObject):
        return False
    obj.write_page(pgoff, k.mem.read_frame(ppn))
    k.stats.pgpgout += 1
    clean_ptes(k, ppn, mappers)
    return True


def clean_ptes(k: Kernel, ppn: int, mappers: list[tuple[AddressSpace, int]]) -> None:
    """Clear the dirty bit in every PTE that maps ppn, and the frame's dirty flag."""
    dirty = k.fmt.layout.dirty
    for mm, va in mappers:
        pte_pa, pte = walk(k, mm, va)
        if pte & dirty:
            set_pte(k, mm, va, pte_pa, pte & ~dirty)
    k.reclaimer.page_dirty.discard(ppn)


def msync(k: Kernel, mm: AddressSpace, start: int, end: int) -> int:
    """Write back the dirty pages of the files mapped shared in [start, end); return how many.

    As Linux's msync(MS_SYNC), every dirty cached page of the file range counts, whoever
    dirtied it.
    """
    written = 0
    shift = k.fmt.page_shift
    for vma in mm.overlapping(start, end):
        obj = vma.backing
        if not vma.shared or not isinstance(obj, FileObject):
            continue
        first = page_offset(vma, max(start, vma.start), shift)
        last = page_offset(vma, min(end, vma.end) - 1, shift)
        for pgoff in range(first, last + 1):
            ppn = obj.pages.get(pgoff)
            if ppn is not None and writeback_page(k, ppn):
                written += 1
    return written


def reclaim_page_cache_frame(k: Kernel, ppn: int) -> bool:
    """Reclaim a file page: write it back if dirty, unmap it everywhere, drop it."""
    writeback_page(k, ppn)
    for mm, va in k.frames.mappers(ppn):
        pte_pa, _ = walk(k, mm, va)
        set_pte(k, mm, va, pte_pa, 0)
        k.frames.rmap_remove(ppn, mm, va)
        k.rss_add(mm, -1)
        k.frames.put_page(ppn)
    delete_from_page_cache(k, ppn)
    return True
