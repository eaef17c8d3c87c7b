"""kalloc/kfree: the physical frame allocator, per-frame reference counts and the rmap.

Every frame has a reference count (how many PTEs or kernel holders use it), a purpose
("anon", "pagetable", "zero", "file", "shm", ...) and, for user frames, a reverse map:
the set of (mm, va) pairs whose PTEs point at it. A frame is zeroed when it is freed
(its host bytes are dropped), so no process can read what another left in it.
When no frame is free, kalloc asks `reclaim` (set by the kernel) for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from vmsim.errors import KernelPanic, OutOfMemory
from vmsim.events import Event, FrameAlloc, FrameFree
from vmsim.hw.physmem import PhysicalMemory
from vmsim.stats import VmStat

if TYPE_CHECKING:
    from vmsim.kernel.mm import AddressSpace

RmapEntry = tuple["AddressSpace", int]


class FrameAllocator:
    """The frames of one machine: free list, refcounts, purposes, reverse map."""

    def __init__(self, mem: PhysicalMemory, stats: VmStat, events: list[Event] | None) -> None:
        self.mem = mem
        self.stats = stats
        self.events = events
        self.nframes = mem.nframes
        self.refcount = [0] * mem.nframes
        self.purpose = [""] * mem.nframes
        self.rmap: dict[int, set[RmapEntry]] = {}
        self._free = list(range(mem.nframes - 1, -1, -1))
        self.pinned_frames: set[int] = set()
        """Frames reclaim must not take (a fault is working on them)."""
        self.reclaim: Callable[[], bool] | None = None
        """Called when no frame is free; returns True if it made progress."""
        self.on_free: Callable[[int], None] | None = None
        """Called with each frame kfree is about to put back on the free list."""
        self._gathered: list[int] | None = None
        """While a teardown gathers (`gather`): the frames it freed, not zeroed yet."""

    @property
    def nr_free(self) -> int:
        """Frames on the free list."""
        return len(self._free)

    def kalloc(self, purpose: str) -> int:
        """A zeroed frame with refcount 1; reclaims if none is free, else OutOfMemory."""
        if self._gathered:
            self._zero_gathered()
        while not self._free:
            if self.reclaim is None or not self.reclaim():
                raise OutOfMemory(
                    f"out of physical memory: all {self.nframes} frames are in use "
                    "and none can be reclaimed (add swap or memory)"
                )
        ppn = self._free.pop()
        self.refcount[ppn] = 1
        self.purpose[ppn] = purpose
        self.stats.pgalloc += 1
        if self.events is not None:
            self.events.append(FrameAlloc(ppn, purpose))
        return ppn

    def kalloc_contiguous(self, n: int, purpose: str) -> int:
        """n physically contiguous zeroed frames (refcount 1 each); returns the first.

        Used for large linear page tables. No reclaim: OutOfMemory if no run is free.
        """
        if n == 1:
            return self.kalloc(purpose)
        free = sorted(self._free)
        for i in range(len(free) - n + 1):
            if free[i + n - 1] - free[i] == n - 1:
                first = free[i]
                taken = set(range(first, first + n))
                self._free = [p for p in self._free if p not in taken]
                for ppn in range(first, first + n):
                    self.refcount[ppn] = 1
                    self.purpose[ppn] = purpose
                    self.stats.pgalloc += 1
                return first
        raise OutOfMemory(f"no run of {n} contiguous free frames for a {purpose} table")

    def kfree(self, ppn: int) -> None:
        """Return a frame to the free list, zeroing it; its refcount must have dropped to 0."""
        if self.refcount[ppn] != 0 or not self.purpose[ppn]:
            raise KernelPanic(
                f"kfree: frame {ppn} refcount {self.refcount[ppn]} purpose {self.purpose[ppn]!r}"
            )
        mapped = self.rmap.pop(ppn, None)
        if mapped:
            raise KernelPanic(f"kfree: frame {ppn} still mapped by {len(mapped)} PTEs")
        if self.on_free is not None:
            self.on_free(ppn)
        self.purpose[ppn] = ""
        if self._gathered is None:
            self.mem.release(ppn)
        else:
            self._gathered.append(ppn)
        self._free.append(ppn)
        self.stats.pgfree += 1
        if self.events is not None:
            self.events.append(FrameFree(ppn))

    @contextmanager
    def gather(self) -> Iterator[None]:
        """Zero the frames kfree frees in the block all at once at its end (Linux's
        mmu_gather batching a teardown's pages): runs of frames, not one at a time. They
        are on the free list meanwhile, in kfree's order; a kalloc zeroes them first.
        Within another gather, the outer one zeroes them."""
        if self._gathered is not None:
            yield
            return
        self._gathered = []
        try:
            yield
        finally:
            self._zero_gathered()
            self._gathered = None

    def _zero_gathered(self) -> None:
        """Zero the frames gathered so far."""
        if self._gathered:
            self.mem.release_many(self._gathered)
            self._gathered.clear()

    def get_page(self, ppn: int) -> None:
        """Take one more reference to a frame."""
        if self.refcount[ppn] <= 0:
            raise KernelPanic(f"get_page: frame {ppn} is free")
        self.refcount[ppn] += 1

    def put_page(self, ppn: int) -> bool:
        """Drop one reference; free the frame at zero. True if it was freed."""
        if self.refcount[ppn] <= 0:
            raise KernelPanic(f"put_page: frame {ppn} is free")
        self.refcount[ppn] -= 1
        if self.refcount[ppn] == 0:
            self.kfree(ppn)
            return True
        return False

    def rmap_add(self, ppn: int, mm: AddressSpace, va: int) -> None:
        """Record that mm maps va to ppn."""
        entries = self.rmap.get(ppn)
        if entries is None:
            self.rmap[ppn] = {(mm, va)}
        else:
            entries.add((mm, va))

    def rmap_remove(self, ppn: int, mm: AddressSpace, va: int) -> None:
        """Forget that mm maps va to ppn."""
        entries = self.rmap.get(ppn)
        try:
            if entries is None:
                raise KeyError(ppn)
            entries.remove((mm, va))
        except KeyError:
            raise KernelPanic(f"rmap_remove: frame {ppn} not mapped at {va:#x}") from None
        if not entries:
            del self.rmap[ppn]

    def mapcount(self, ppn: int) -> int:
        """How many PTEs map ppn."""
        return len(self.rmap.get(ppn, ()))

    @contextmanager
    def pinned(self, ppn: int) -> Iterator[None]:
        """Keep reclaim away from ppn for the duration of the block."""
        self.pinned_frames.add(ppn)
        try:
            yield
        finally:
            self.pinned_frames.discard(ppn)

    def mappers(self, ppn: int) -> list[RmapEntry]:
        """Every (mm, va) whose PTE points at ppn."""
        return list(self.rmap.get(ppn, ()))

    def in_use(self) -> int:
        """Frames not on the free list."""
        return self.nframes - len(self._free)
