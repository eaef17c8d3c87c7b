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
from vmsim.events import LibcCall
from vmsim.libc.api import Chunk, MallInfo, c_ptr, call_event, register_allocator, returned
from vmsim.libc.ptmalloc import heapwalk
from vmsim.libc.ptmalloc.core import Ptmalloc
from vmsim.libc.ptmalloc.layout import (
    HEAP_MAX_SIZE,
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TOP_PAD,
    M_TRIM_THRESHOLD,
    MASK64,
    MAX_FAST_SIZE,
    MAX_TCACHE_COUNT,
    MP_SBRK_BASE,
    powerof2,
)
from vmsim.libc.usermem import UserMemory

_PTR_SIZE = 8
_MALLOPT = {"mxfast": M_MXFAST, "top_pad": M_TOP_PAD, "mmap_threshold": M_MMAP_THRESHOLD,
            "trim_threshold": M_TRIM_THRESHOLD, "mmap_max": M_MMAP_MAX}  # fmt: skip
"""Each tunable option and the mallopt parameter that sets it."""
_TUNABLE_MAX = {"mxfast": MAX_FAST_SIZE, "top_pad": MASK64, "mmap_threshold": HEAP_MAX_SIZE // 2,
                "trim_threshold": MASK64, "mmap_max": 0x7FFFFFFF}  # fmt: skip
"""The largest value glibc accepts for each (mmap_max is an int, n_mmaps_max)."""


def _c(v: int) -> int:
    """A Python int as the size_t / pointer C would see (a negative one wraps around).

    A value above SIZE_MAX is kept as it is, for `_fits` to refuse: no C caller can
    pass it, and wrapping it (1 << 64 to 0) would turn a huge request into a tiny one.
    """
    return v & MASK64 if v < 0 else v


def _fits(*values: int) -> bool:
    """Whether every value (after `_c`) is a size_t, i.e. at most SIZE_MAX."""
    return all(_c(v) <= MASK64 for v in values)


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
        tunables = {"mxfast": mxfast, "top_pad": top_pad, "mmap_threshold": mmap_threshold,
                    "trim_threshold": trim_threshold, "mmap_max": mmap_max}  # fmt: skip
        self.check_options(tcache_count=tcache_count, seed=seed, **tunables)
        super().__init__(mem, seed=seed)
        for name, value in tunables.items():
            if value is not None:
                super().mallopt(_MALLOPT[name], value)
        if tcache_count is not None:
            self.set_tcache_count(tcache_count)

    @staticmethod
    def check_options(*, tcache_count: int | None = None, seed: int | None = None,
                      **tunables: int | None) -> None:  # fmt: skip
        """ConfigError for a tunable glibc would refuse (checked before the heap exists)."""
        limits = {**_TUNABLE_MAX, "tcache_count": MAX_TCACHE_COUNT}
        for name, value in {**tunables, "tcache_count": tcache_count}.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, value, "a size in bytes (a non-negative int)")
            if value > limits[name]:
                raise ConfigError(name, value, f"at most {limits[name]}, as glibc's mallopt allows")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError("seed", seed, "an int (it fixes tcache_key)")

    # --- allocation ---------------------------------------------------------------------

    def malloc(self, size: int) -> int:
        """malloc(size): a 16-byte aligned block, or 0 (errno ENOMEM)."""
        ev = call_event(self.mem, "malloc", f"{_c(size)}")
        if not _fits(size):
            return self._enomem(ev)
        return returned(self.mem, ev, self.libc_malloc(_c(size)))

    def calloc(self, count: int, size: int) -> int:
        """calloc(count, size): zeroed memory; 0 with ENOMEM if count x size overflows."""
        ev = call_event(self.mem, "calloc", f"{_c(count)}, {_c(size)}")
        if not _fits(count, size):
            return self._enomem(ev)
        return returned(self.mem, ev, self.libc_calloc(_c(count), _c(size)))

    def realloc(self, ptr: int, size: int) -> int:
        """realloc(ptr, size): malloc if ptr is NULL; free and NULL if size is 0."""
        ev = call_event(self.mem, "realloc", f"{c_ptr(ptr)}, {_c(size)}")
        if not _fits(size):
            return self._enomem(ev)  # the block at ptr is left as it was
        return returned(self.mem, ev, self.libc_realloc(_c(ptr), _c(size)))

    def reallocf(self, ptr: int, size: int) -> int:
        """FreeBSD's reallocf: like realloc, but frees ptr when the resize fails."""
        ev = call_event(self.mem, "reallocf", f"{c_ptr(ptr)}, {_c(size)}")
        nptr = self.realloc(ptr, size)
        if not nptr and ptr and _c(size) != 0:
            self.free(ptr)
        return returned(self.mem, ev, nptr)

    def _enomem(self, ev: LibcCall) -> int:
        """Fail the call as glibc fails a request it cannot meet: NULL, errno ENOMEM."""
        self.errno = _errno.ENOMEM
        return returned(self.mem, ev, 0)

    def free(self, ptr: int) -> None:
        """free(ptr): nothing for NULL; errno is left as it was."""
        ev = call_event(self.mem, "free", c_ptr(ptr))
        saved = self.errno
        self.libc_free(_c(ptr))
        self.errno = saved
        returned(self.mem, ev, 0)

    def memalign(self, alignment: int, size: int) -> int:
        """memalign: alignment rounded up to a power of two if it is not one."""
        ev = call_event(self.mem, "memalign", f"{_c(alignment)}, {_c(size)}")
        if not _fits(alignment, size):
            return self._enomem(ev)
        return returned(self.mem, ev, self.mid_memalign(_c(alignment), _c(size)))

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """aligned_alloc (C17): 0 with EINVAL unless alignment is a power of two."""
        ev = call_event(self.mem, "aligned_alloc", f"{_c(alignment)}, {_c(size)}")
        alignment = _c(alignment)
        if alignment == 0 or not powerof2(alignment) or not _fits(alignment):
            self.errno = _errno.EINVAL
            return returned(self.mem, ev, 0)
        if not _fits(size):
            return self._enomem(ev)
        return returned(self.mem, ev, self.mid_memalign(alignment, _c(size)))

    def posix_memalign(self, alignment: int, size: int) -> tuple[int, int]:
        """posix_memalign: (0, ptr), (EINVAL, 0) for a bad alignment, or (ENOMEM, 0)."""
        ev = call_event(self.mem, "posix_memalign", f"{_c(alignment)}, {_c(size)}")
        alignment = _c(alignment)
        if (
            alignment % _PTR_SIZE != 0
            or not powerof2(alignment // _PTR_SIZE)
            or alignment == 0
            or not _fits(alignment)
        ):
            returned(self.mem, ev, 0)
            return _errno.EINVAL, 0
        if not _fits(size):
            returned(self.mem, ev, 0)
            return _errno.ENOMEM, 0
        mem = self.mid_memalign(alignment, _c(size))
        returned(self.mem, ev, mem)
        return (0, mem) if mem else (_errno.ENOMEM, 0)

    def valloc(self, size: int) -> int:
        """valloc: page-aligned memory."""
        ev = call_event(self.mem, "valloc", f"{_c(size)}")
        if not _fits(size):
            return self._enomem(ev)
        return returned(self.mem, ev, self.mid_memalign(self.pagesize, _c(size)))

    def pvalloc(self, size: int) -> int:
        """pvalloc: page-aligned, size rounded up to whole pages (as glibc rounds it)."""
        ev = call_event(self.mem, "pvalloc", f"{_c(size)}")
        rounded = _c(size) + self.pagesize - 1
        if rounded > MASK64:
            return self._enomem(ev)
        rounded &= _c(-(self.pagesize - 1))  # glibc 2.36's own rounding, kept as it is
        return returned(self.mem, ev, self.mid_memalign(self.pagesize, rounded))

    def malloc_usable_size(self, ptr: int) -> int:
        """Bytes usable at ptr (0 for NULL, and for a chunk that is not in use)."""
        ev = call_event(self.mem, "malloc_usable_size", c_ptr(ptr))
        return returned(self.mem, ev, self.musable(_c(ptr)) if ptr else 0)

    def malloc_trim(self, pad: int = 0) -> int:
        """malloc_trim(pad): 1 if memory could be given back to the system."""
        ev = call_event(self.mem, "malloc_trim", f"{_c(pad)}")
        return returned(self.mem, ev, self.mtrim(_c(pad)))

    def mallopt(self, param: int, value: int) -> int:
        """mallopt(param, value) with glibc's M_* parameter numbers; 1 on success."""
        ev = call_event(self.mem, "mallopt", f"{param}, {value}")
        return returned(self.mem, ev, super().mallopt(param, value))

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
