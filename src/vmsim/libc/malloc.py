"""GlibcHeap: the malloc family of a simulated process, as glibc 2.36 does it on x86-64.

The allocator itself is `vmsim.libc.ptmalloc` (malloc.c ported line by line, all of
its metadata in the process's simulated memory). This class is the C library face
of it: the public functions with their C semantics (NULL returns, errno, free(NULL),
realloc(NULL, n), realloc(p, 0), calloc overflow, EINVAL for bad alignments), a
`LibcCall` event per call, and the inspection tools (`check`, `chunks`, `mallinfo`).

Pointers and sizes are C's: a negative Python int is taken as the size_t it would
convert to (malloc(-1) asks for SIZE_MAX bytes and fails with ENOMEM).
"""

from __future__ import annotations

import errno as _errno

from vmsim.errors import ConfigError
from vmsim.libc.api import Chunk, MallInfo, call_event, returned
from vmsim.libc.ptmalloc import heapwalk
from vmsim.libc.ptmalloc.core import Ptmalloc
from vmsim.libc.ptmalloc.layout import (
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TOP_PAD,
    M_TRIM_THRESHOLD,
    MASK64,
    MP_SBRK_BASE,
    powerof2,
)
from vmsim.libc.registry import register_allocator
from vmsim.libc.usermem import UserMemory

_PTR_SIZE = 8


def _c(v: int) -> int:
    """A Python int as the size_t / pointer C would see."""
    return v & MASK64


def _hex(p: int) -> str:
    """A pointer as C prints it (NULL for 0)."""
    return f"{_c(p):#x}" if p else "NULL"


@register_allocator("glibc", "glibc 2.36 ptmalloc2: tcache, fastbins, bins, brk heap, mmap")
class GlibcHeap(Ptmalloc):
    """glibc's malloc family over one process's memory (the default allocator).

    Options are glibc's tunables (None keeps glibc's default): top_pad,
    mmap_threshold, trim_threshold, mmap_max and mxfast behave like the matching
    mallopt() call (setting any of the first four stops the mmap threshold from
    adapting); tcache_count is glibc.malloc.tcache_count. seed fixes tcache_key.
    """

    def __init__(
        self,
        mem: UserMemory,
        *,
        top_pad: int | None = None,
        mmap_threshold: int | None = None,
        trim_threshold: int | None = None,
        mmap_max: int | None = None,
        mxfast: int | None = None,
        tcache_count: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(mem, seed=seed)
        options = {
            "mxfast": (M_MXFAST, mxfast),
            "top_pad": (M_TOP_PAD, top_pad),
            "mmap_threshold": (M_MMAP_THRESHOLD, mmap_threshold),
            "trim_threshold": (M_TRIM_THRESHOLD, trim_threshold),
            "mmap_max": (M_MMAP_MAX, mmap_max),
        }
        for name, (param, value) in options.items():
            if value is not None and (value < 0 or not super().mallopt(param, value)):
                raise ConfigError(name, value, "a size glibc's mallopt accepts")
        if tcache_count is not None and (
            tcache_count < 0 or not self.set_tcache_count(tcache_count)
        ):
            raise ConfigError("tcache_count", tcache_count, "0 to 65535")

    # --- allocation ---------------------------------------------------------------------

    def malloc(self, size: int) -> int:
        """malloc(size): a 16-byte aligned block, or 0 (errno ENOMEM)."""
        ev = call_event(self.mem, "malloc", f"{_c(size)}")
        return returned(ev, self.libc_malloc(_c(size)))

    def calloc(self, count: int, size: int) -> int:
        """calloc(count, size): zeroed memory; 0 with ENOMEM if count x size overflows."""
        ev = call_event(self.mem, "calloc", f"{_c(count)}, {_c(size)}")
        return returned(ev, self.libc_calloc(_c(count), _c(size)))

    def realloc(self, ptr: int, size: int) -> int:
        """realloc(ptr, size): malloc if ptr is NULL; free and NULL if size is 0."""
        ev = call_event(self.mem, "realloc", f"{_hex(ptr)}, {_c(size)}")
        return returned(ev, self.libc_realloc(_c(ptr), _c(size)))

    def reallocf(self, ptr: int, size: int) -> int:
        """FreeBSD's reallocf: like realloc, but frees ptr when the resize fails."""
        ev = call_event(self.mem, "reallocf", f"{_hex(ptr)}, {_c(size)}")
        nptr = self.realloc(ptr, size)
        if not nptr and ptr and _c(size) != 0:
            self.free(ptr)
        return returned(ev, nptr)

    def free(self, ptr: int) -> None:
        """free(ptr): nothing for NULL; errno is left as it was."""
        ev = call_event(self.mem, "free", _hex(ptr))
        saved = self.errno
        self.libc_free(_c(ptr))
        self.errno = saved
        returned(ev, 0)

    def memalign(self, alignment: int, size: int) -> int:
        """memalign: alignment rounded up to a power of two if it is not one."""
        ev = call_event(self.mem, "memalign", f"{_c(alignment)}, {_c(size)}")
        return returned(ev, self.mid_memalign(_c(alignment), _c(size)))

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """aligned_alloc (C17): 0 with EINVAL unless alignment is a power of two."""
        ev = call_event(self.mem, "aligned_alloc", f"{_c(alignment)}, {_c(size)}")
        alignment = _c(alignment)
        if alignment == 0 or not powerof2(alignment):
            self.errno = _errno.EINVAL
            return returned(ev, 0)
        return returned(ev, self.mid_memalign(alignment, _c(size)))

    def posix_memalign(self, alignment: int, size: int) -> tuple[int, int]:
        """posix_memalign: (0, ptr), (EINVAL, 0) for a bad alignment, or (ENOMEM, 0)."""
        ev = call_event(self.mem, "posix_memalign", f"{_c(alignment)}, {_c(size)}")
        alignment = _c(alignment)
        if alignment % _PTR_SIZE != 0 or not powerof2(alignment // _PTR_SIZE) or alignment == 0:
            returned(ev, 0)
            return _errno.EINVAL, 0
        mem = self.mid_memalign(alignment, _c(size))
        returned(ev, mem)
        return (0, mem) if mem else (_errno.ENOMEM, 0)

    def valloc(self, size: int) -> int:
        """valloc: page-aligned memory."""
        ev = call_event(self.mem, "valloc", f"{_c(size)}")
        return returned(ev, self.mid_memalign(self.pagesize, _c(size)))

    def pvalloc(self, size: int) -> int:
        """pvalloc: page-aligned, size rounded up to whole pages (as glibc rounds it)."""
        ev = call_event(self.mem, "pvalloc", f"{_c(size)}")
        rounded = _c(size) + self.pagesize - 1
        if rounded > MASK64:
            self.errno = _errno.ENOMEM
            return returned(ev, 0)
        rounded &= _c(-(self.pagesize - 1))  # glibc 2.36's own rounding, kept as it is
        return returned(ev, self.mid_memalign(self.pagesize, rounded))

    def malloc_usable_size(self, ptr: int) -> int:
        """Bytes usable at ptr (0 for NULL, and for a chunk that is not in use)."""
        ev = call_event(self.mem, "malloc_usable_size", _hex(ptr))
        return returned(ev, self.musable(_c(ptr)) if ptr else 0)

    def malloc_trim(self, pad: int = 0) -> int:
        """malloc_trim(pad): 1 if memory could be given back to the system."""
        ev = call_event(self.mem, "malloc_trim", f"{_c(pad)}")
        return returned(ev, self.mtrim(_c(pad)))

    def mallopt(self, param: int, value: int) -> int:
        """mallopt(param, value) with glibc's M_* parameter numbers; 1 on success."""
        ev = call_event(self.mem, "mallopt", f"{param}, {value}")
        return returned(ev, super().mallopt(param, value))

    # --- inspection ----------------------------------------------------------------------

    def check(self) -> None:
        """Walk every chunk and list; SIGABRT (HeapCorruption) on an inconsistency."""
        try:
            heapwalk.check(self)
        except heapwalk.HeapCheckFailure as exc:
            self.malloc_printerr(str(exc))

    def chunks(self) -> list[Chunk]:
        """Every chunk: (address, size, in use, where) in address order, mmapped last."""
        return heapwalk.chunks(self)

    def mallinfo(self) -> MallInfo:
        """Arena, in-use and free bytes, mmapped blocks and a fragmentation figure."""
        return heapwalk.mallinfo(self)

    @property
    def heap_start(self) -> int:
        """mp_.sbrk_base: where the heap began (0 before the first brk)."""
        return self.mp_get(MP_SBRK_BASE)


__all__ = ["GlibcHeap"]
