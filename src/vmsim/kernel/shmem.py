"""Shared memory (Linux's mm/shmem.c): anonymous MAP_SHARED memory and shm_open segments.

A `ShmObject` is a page-cache object without a file: its pages start as zeros and go
to swap under pressure (the object remembers the slot). `release_object` frees any
object's cache (and swap) when its last mapping goes, unless a named segment persists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmsim.errors import ConfigError, KernelPanic
from vmsim.kernel.filemap import (
    FileObject,
    PageCacheObject,
    delete_from_page_cache,
    find_get_page,
    writeback_page,
)
from vmsim.kernel.mm import AddressSpace
from vmsim.kernel.swap import swap_in_slot
from vmsim.kernel.swap_state import swap_cache_drop

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel


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


def shmem_get_page(
    k: Kernel, obj: ShmObject, pgoff: int, mm: AddressSpace, va: int
) -> tuple[int, bool]:
    """The frame of segment page pgoff: cached, back from swap (major), or a new zero page."""
    slot = obj.swapped.get(pgoff)
    if slot is not None:
        return swap_in_slot(k, slot, mm, va)
    return find_get_page(k, obj, pgoff, mm)


def release_object(k: Kernel, obj: PageCacheObject) -> None:
    """The last mapping of obj went: free its cache (and swap) unless it persists."""
    if isinstance(obj, ShmObject) and obj.persistent:
        return
    for ppn in list(obj.pages.values()):
        if k.frames.mapcount(ppn):
            raise KernelPanic(f"release_object: frame {ppn} is still mapped")
        writeback_page(k, ppn)
        swap_cache_drop(k, ppn)
        delete_from_page_cache(k, ppn)
    for pgoff, slot in list(obj.swapped.items()):
        del obj.swapped[pgoff]
        k.swap.drop_object_ref(slot)
    if isinstance(obj, FileObject):
        obj.close()
        k.files.pop(obj.path, None)
    elif isinstance(obj, ShmObject) and obj.name and k.shm.get(obj.name) is obj:
        del k.shm[obj.name]
