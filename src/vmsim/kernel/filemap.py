"""Page-cache objects: memory-mapped host files and shared memory, and their fault path.

A `FileObject` is one host file (one per real path, shared by every process that maps
it); a `ShmObject` is a shared-memory segment (anonymous MAP_SHARED memory, or a named
one from shm_open). Both keep a page cache: page offset -> frame. The cache holds one
reference on each of its frames; every PTE that maps a frame holds another.

- do_file_page: the first touch of a page of a file or shm VMA. Shared mappings map the
  cached frame itself; a private mapping maps it read-only and a write gets a private
  copy (copy-on-write: the file never sees private writes).
- Touching a file mapping beyond the end of the file is SIGBUS.
- Dirty pages of shared file mappings reach the host file on msync, munmap, exit and
  eviction. Clean file pages are dropped on reclaim, never swapped; shm pages go to swap
  (their PTEs become swap entries; the object remembers the slot).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmsim.errors import ConfigError, KernelPanic, SyscallError
from vmsim.kernel.faultaround import fault_around, read_around
from vmsim.kernel.vm import map_page, set_pte, vma_pte_flags

if TYPE_CHECKING:
    from vmsim.kernel.fault import VmFault
    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.mm import VMA, AddressSpace


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


@dataclass(eq=False)
class ShmObject(PageCacheObject):
    """A shared-memory segment: anonymous shared memory or a named shm_open segment."""

    name: str = ""
    unlinked: bool = False
    """A named segment lives until shm_unlink and its last unmap; an anonymous one
    until its last unmap."""

    kind = "shm"

    @property
    def persistent(self) -> bool:
        """Whether the segment outlives its mappings (named and not unlinked)."""
        return bool(self.name) and not self.unlinked


def open_file(k: Kernel, path: str, writable: bool) -> FileObject:
    """The FileObject of a host file (one per real path), opened for writing if asked."""
    real = os.path.realpath(path)
    obj = k.files.get(real)
    try:
        if obj is None:
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
    except IsADirectoryError:
        raise SyscallError(errno.EACCES, f"mmap: {path} is a directory") from None
    except PermissionError:
        raise SyscallError(errno.EACCES, f"mmap: {path} cannot be opened for writing") from None
    return obj


def shm_open(k: Kernel, name: str, size: int) -> ShmObject:
    """The named segment `name`, created with `size` bytes if it does not exist."""
    if not name:
        raise ConfigError("name", name, "a non-empty name")
    obj = k.shm.get(name)
    if obj is None:
        obj = ShmObject(k.fmt.page_size, size, name=name)
        k.shm[name] = obj
    elif size > obj.size:
        obj.size = size  # ftruncate up
    return obj


def page_offset(vma: VMA, va: int, page_shift: int) -> int:
    """Offset, in pages, of va within the object vma maps."""
    return vma.pgoff + ((va - vma.start) >> page_shift)


def do_file_page(k: Kernel, vmf: VmFault) -> None:
    """First touch of a page of a file or shm VMA (see the module docstring)."""
    vma, mm = vmf.vma, vmf.mm
    obj: PageCacheObject = vma.backing
    pgoff = page_offset(vma, vmf.va, k.fmt.page_shift)
    owner = k.owner_of(mm)
    if isinstance(obj, FileObject) and pgoff * obj.page_size >= obj.size:
        raise k.deliver_sigbus(
            owner, vmf.va, vmf.access, f"page {pgoff} is beyond the end of {obj.path}"
        )
    ppn, major = find_get_page(k, obj, pgoff, mm, vmf.va)
    if major and isinstance(obj, FileObject):
        read_around(k, vmf, obj, pgoff, ppn)
    if vma.shared or not vmf.write:
        k.frames.get_page(ppn)
        flags = vma_pte_flags(vma, writable=vma.shared)
        map_page(
            k,
            mm,
            vmf.va,
            ppn,
            flags,
            f"{obj.kind}-{'shared' if vma.shared else 'private'}",
            vmf.pte_pa,
        )
    else:
        with k.frames.pinned(ppn):
            new = k.alloc_user_page(mm, "anon")
        k.mem.copy_frame(ppn, new)
        map_page(k, mm, vmf.va, new, vma_pte_flags(vma, writable=True), "private-copy", vmf.pte_pa)
        k.reclaimer.page_added(new, mm)
    if isinstance(obj, FileObject):
        fault_around(k, vmf, obj)
    if owner is not None:
        if major:
            owner.stats.maj_flt += 1
            k.stats.pgmajfault += 1
        else:
            owner.stats.min_flt += 1


def find_get_page(
    k: Kernel, obj: PageCacheObject, pgoff: int, mm: AddressSpace, va: int
) -> tuple[int, bool]:
    """The frame caching obj's page pgoff, reading it in if needed; (frame, major fault)."""
    ppn = obj.pages.get(pgoff)
    if ppn is not None:
        return ppn, False
    slot = obj.swapped.get(pgoff)
    if slot is not None:
        from vmsim.kernel.swap import swap_in_slot

        return swap_in_slot(k, slot, mm, va)
    ppn = k.alloc_user_page(mm, obj.kind)
    data = obj.read_page(pgoff)
    k.mem.write_frame(ppn, data)
    add_to_page_cache(k, obj, pgoff, ppn)
    k.reclaimer.page_added(ppn, mm)
    if isinstance(obj, FileObject):
        k.stats.pgpgin += 1
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
    from vmsim.kernel.vm import walk

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
    from vmsim.kernel.vm import walk

    writeback_page(k, ppn)
    for mm, va in k.frames.mappers(ppn):
        pte_pa, _ = walk(k, mm, va)
        set_pte(k, mm, va, pte_pa, 0)
        k.frames.rmap_remove(ppn, mm, va)
        k.rss_add(mm, -1)
        k.frames.put_page(ppn)
    delete_from_page_cache(k, ppn)
    return True


def release_object(k: Kernel, obj: PageCacheObject) -> None:
    """The last mapping of obj went: free its cache (and swap) unless it persists."""
    if isinstance(obj, ShmObject) and obj.persistent:
        return
    for ppn in list(obj.pages.values()):
        if k.frames.mapcount(ppn):
            raise KernelPanic(f"release_object: frame {ppn} is still mapped")
        writeback_page(k, ppn)
        k.swap_cache_drop(ppn)
        delete_from_page_cache(k, ppn)
    for pgoff, slot in list(obj.swapped.items()):
        del obj.swapped[pgoff]
        k.swap.drop_object_ref(slot)
    if isinstance(obj, FileObject):
        obj.close()
        k.files.pop(obj.path, None)
    elif isinstance(obj, ShmObject) and obj.name and k.shm.get(obj.name) is obj:
        del k.shm[obj.name]
