"""Ptmalloc: glibc 2.36's malloc.c (x86-64, one thread, main arena), ported line by line.

Method names are glibc's (`_int_malloc`, `_int_free`, `sysmalloc`, `systrim`,
`malloc_consolidate`, `unlink_chunk`, `tcache_put`, ...). The `libc_*` methods are
glibc's `__libc_*` entry points without the C-library bookkeeping (events, errno
saving) that `vmsim.libc.malloc.GlibcHeap` adds on top. Error messages are glibc's,
delivered through `UserMemory.abort` (SIGABRT -> HeapCorruption), and so are the
asserts glibc compiles in ("Fatal glibc error: malloc assertion failure in ...").
MORECORE is glibc's __sbrk, which keeps the break in `__curbrk` (libc data).

Left out, all invisible to a one-threaded program: memory tagging, hooks, perturb
bytes, THP/hugetlb, and the arenas of other threads. mremap(2) is used when the
memory offers one (`mem.mremap(old_addr, old_size, new_size)`), else emulated by
mmap + copy + munmap. malloc_trim reports the pages it would madvise(MADV_DONTNEED)
but leaves them mapped (UserMemory has no madvise).
"""

from __future__ import annotations

import contextlib
import copy
import errno as _errno
import random
from typing import NoReturn, Self

from vmsim.libc.ptmalloc.layout import (
    AV_ATTACHED_THREADS,
    AV_NEXT,
    CH_BK,
    CH_FD,
    CHUNK_HDR_SZ,
    DATA_CURBRK,
    DATA_SIZE,
    DATA_TCACHE_KEY,
    DEFAULT_MMAP_MAX,
    DEFAULT_MMAP_THRESHOLD,
    DEFAULT_MMAP_THRESHOLD_MAX,
    DEFAULT_MXFAST,
    DEFAULT_TOP_PAD,
    DEFAULT_TRIM_THRESHOLD,
    FASTBIN_CONSOLIDATION_THRESHOLD,
    HEAP_MAX_SIZE,
    IS_MMAPPED,
    M_ARENA_MAX,
    M_ARENA_TEST,
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TOP_PAD,
    M_TRIM_THRESHOLD,
    MALLOC_ALIGN_MASK,
    MALLOC_ALIGNMENT,
    MASK32,
    MASK64,
    MAX_FAST_SIZE,
    MAX_ITERS,
    MAX_TCACHE_COUNT,
    MAX_TCACHE_SIZE,
    MIN_CHUNK_SIZE,
    MINSIZE,
    MMAP_AS_MORECORE_SIZE,
    MP_ARENA_MAX,
    MP_ARENA_TEST,
    MP_MAX_MMAPPED_MEM,
    MP_MAX_N_MMAPS,
    MP_MMAP_THRESHOLD,
    MP_MMAPPED_MEM,
    MP_N_MMAPS,
    MP_N_MMAPS_MAX,
    MP_NO_DYN_THRESHOLD,
    MP_SBRK_BASE,
    MP_TCACHE_BINS,
    MP_TCACHE_COUNT,
    MP_TCACHE_MAX_BYTES,
    MP_TCACHE_UNSORTED_LIMIT,
    MP_TOP_PAD,
    MP_TRIM_THRESHOLD,
    NBINS,
    NFASTBINS,
    NON_MAIN_ARENA,
    PREV_INUSE,
    PTRDIFF_MAX,
    SIZE_BITS,
    SIZE_MAX,
    SIZE_SZ,
    SIZEOF_TCACHE,
    TCACHE_FILL_COUNT,
    TCACHE_MAX_BINS,
    TE_KEY,
    align_down,
    align_up,
    bin_index,
    checked_request2size,
    csize2tidx,
    fastbin_index,
    in_smallbin_range,
    largebin_index,
    misaligned_chunk,
    powerof2,
    protect_ptr,
    request2size,
    smallbin_index,
    to_signed64,
)
from vmsim.libc.ptmalloc.state import MallocState
from vmsim.libc.usermem import UserMemory

FAILURE = 0
"""MORECORE_FAILURE (glibc's __default_morecore returns NULL) and MAP_FAILED here."""


class Ptmalloc(MallocState):
    """glibc's allocator over one process's memory: main_arena, tcache, brk and mmap."""

    def __init__(self, mem: UserMemory, *, seed: int | None = None) -> None:
        pagesize = mem.page_size
        data = mem.mmap(align_up(DATA_SIZE, pagesize))
        super().__init__(mem, data)
        self.pagesize = pagesize
        self.errno = 0
        """C's errno as this library last set it (ENOMEM, EINVAL)."""
        self.segments: list[int] = []
        """Inspection only: where each contiguous stretch of the arena starts."""
        self.mmapped: dict[int, int] = {}
        """Inspection only: mapping start -> chunk of each mmapped chunk (glibc only counts)."""
        rng = random.Random(seed if seed is not None else f"tcache_key:{mem.pid}")
        self._init_statics()
        self.st(self.data + DATA_TCACHE_KEY, rng.getrandbits(64))
        self.malloc_init_state()

    def clone(self, mem: UserMemory) -> Self:
        """This allocator in a forked child: all its state is in the child's copy of memory."""
        new = copy.copy(self)
        MallocState.__init__(new, mem, self.data)
        new.segments = list(self.segments)
        new.mmapped = dict(self.mmapped)
        return new

    # --- start-up ----------------------------------------------------------------------

    def _init_statics(self) -> None:
        """The initialised .data of malloc.c: `main_arena` and `mp_`."""
        self.st(self.av + AV_NEXT, self.av)
        self.st(self.av + AV_ATTACHED_THREADS, 1)
        self.mp_set(MP_TOP_PAD, DEFAULT_TOP_PAD)
        self.mp_set32(MP_N_MMAPS_MAX, DEFAULT_MMAP_MAX)
        self.mp_set(MP_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD)
        self.mp_set(MP_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
        self.mp_set(MP_ARENA_TEST, 8)
        self.mp_set(MP_TCACHE_COUNT, TCACHE_FILL_COUNT)
        self.mp_set(MP_TCACHE_BINS, TCACHE_MAX_BINS)
        self.mp_set(MP_TCACHE_MAX_BYTES, MAX_TCACHE_SIZE)
        self.mp_set(MP_TCACHE_UNSORTED_LIMIT, 0)

    def malloc_init_state(self) -> None:
        """Circular empty bins, max_fast, and top pointing at the unsorted bin."""
        for i in range(1, NBINS):
            b = self.bin_at(i)
            self.set_fd(b, b)
            self.set_bk(b, b)
        self.set_max_fast(DEFAULT_MXFAST)
        self.set_have_fastchunks(0)
        self.set_top(self.unsorted_chunks())

    def set_max_fast(self, s: int) -> None:
        """set_max_fast(s)."""
        if s <= MALLOC_ALIGN_MASK - SIZE_SZ:
            self.set_max_fast_raw(MIN_CHUNK_SIZE // 2)
        else:
            self.set_max_fast_raw((s + SIZE_SZ) & ~MALLOC_ALIGN_MASK)

    def malloc_printerr(self, msg: str) -> NoReturn:
        """Report heap corruption the way glibc does: the message, then SIGABRT."""
        self.mem.abort(msg)

    def malloc_assert(self, ok: bool | int, function: str, assertion: str) -> None:
        """glibc's malloc.c asserts are compiled in: a failed one aborts like this."""
        if not ok:
            self.malloc_printerr(
                f"Fatal glibc error: malloc assertion failure in {function}: {assertion}"
            )

    def chunk_main_arena(self, p: int) -> bool:
        """chunk_main_arena(p): the NON_MAIN_ARENA bit is clear."""
        return not self.size_nomask(p) & NON_MAIN_ARENA

    def arena_for_chunk(self, p: int) -> int:
        """arena_for_chunk(p): main_arena, or the ar_ptr of the heap_info p claims."""
        if self.chunk_main_arena(p):
            return self.av
        return self.ld(p & ~(HEAP_MAX_SIZE - 1) & MASK64)

    def _assert_arena(self, mem: int, function: str, assertion: str, av: int = 0) -> None:
        """The `!p || chunk_is_mmapped (...) || av == arena_for_chunk (...)` asserts."""
        if mem:
            p = mem - CHUNK_HDR_SZ
            ok = self.chunk_is_mmapped(p) or (av or self.av) == self.arena_for_chunk(p)
            self.malloc_assert(ok, function, assertion)

    # --- system calls (MORECORE, MMAP) -----------------------------------------------------

    def morecore(self, increment: int) -> int:
        """__default_morecore = glibc's __sbrk(increment): the old break, or FAILURE.

        Like glibc, it keeps the break in `__curbrk` (libc data): sbrk(0) is answered
        from there, and the kernel is asked (brk(NULL), here `mem.sbrk(0)`) only the
        first time; a move is one brk(new break) system call.
        """
        curbrk = self.ld(self.data + DATA_CURBRK)
        if curbrk == 0:
            try:
                curbrk = self.mem.sbrk(0)
            except OSError:
                return FAILURE
            self.st(self.data + DATA_CURBRK, curbrk)
        if increment == 0:
            return curbrk
        new = curbrk + increment
        if not 0 <= new <= MASK64:
            return FAILURE
        try:
            self.st(self.data + DATA_CURBRK, self.mem.brk(new))
        except OSError:
            return FAILURE
        return curbrk

    def mmap(self, length: int) -> int:
        """MMAP(0, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS), or FAILURE."""
        try:
            return self.mem.mmap(length, "rw")
        except OSError:
            return FAILURE

    def munmap(self, va: int, length: int) -> None:
        """__munmap; a failure leaves the block hanging around, as glibc does."""
        with contextlib.suppress(OSError):
            self.mem.munmap(va, length)

    def memcpy(self, dst: int, src: int, n: int) -> None:
        """memcpy in 64 KiB pieces (a forged size faults where glibc's copy would)."""
        step = 1 << 16
        for off in range(0, n, step):
            k = min(step, n - off)
            self.mem.store(dst + off, self.mem.load(src + off, k))

    def memset0(self, dst: int, n: int) -> None:
        """memset(dst, 0, n) in 64 KiB pieces."""
        step = 1 << 16
        zeros = bytes(min(step, n))
        for off in range(0, n, step):
            k = min(step, n - off)
            self.mem.store(dst + off, zeros if k == len(zeros) else zeros[:k])

    # --- tcache -------------------------------------------------------------------------

    def tcache_put(self, chunk: int, tc_idx: int, tc: int = 0) -> None:
        """Put a chunk in its tcache bin (the caller checked there is room).

        tc is the tcache pointer when the caller has just read it (else it is read).
        """
        tc = tc or self.tcache()
        e = chunk + CHUNK_HDR_SZ
        self.st(e + TE_KEY, self.tcache_key())
        self.st(e, protect_ptr(e, self.tc_entry(tc, tc_idx)))
        self.set_tc_entry(tc, tc_idx, e)
        self.set_tc_count(tc, tc_idx, self.tc_count(tc, tc_idx) + 1)

    def tcache_get(self, tc_idx: int, tc: int = 0) -> int:
        """Take the first entry of a tcache bin (the caller checked it is not empty)."""
        tc = tc or self.tcache()
        e = self.tc_entry(tc, tc_idx)
        if e & MALLOC_ALIGN_MASK:
            self.malloc_printerr("malloc(): unaligned tcache chunk detected")
        self.set_tc_entry(tc, tc_idx, self.reveal(e))
        self.set_tc_count(tc, tc_idx, self.tc_count(tc, tc_idx) - 1)
        self.st(e + TE_KEY, 0)
        return e

    def tcache_init(self) -> None:
        """Allocate and clear the tcache_perthread_struct (the heap's first chunk)."""
        victim = self._int_malloc(SIZEOF_TCACHE)
        if victim:
            self.set_tcache(victim)
            self.memset0(victim, SIZEOF_TCACHE)

    def maybe_init_tcache(self) -> None:
        """MAYBE_INIT_TCACHE()."""
        if self.tcache() == 0:
            self.tcache_init()

    # --- bins -----------------------------------------------------------------------------

    def unlink_chunk(self, p: int) -> None:
        """Take a free chunk off its (small, large or unsorted) bin list."""
        if self.chunksize(p) != self.prev_size(p + self.chunksize(p)):
            self.malloc_printerr("corrupted size vs. prev_size")
        fd = self.fd(p)
        bk = self.bk(p)
        if self.bk(fd) != p or self.fd(bk) != p:
            self.malloc_printerr("corrupted double-linked list")
        self.set_bk(fd, bk)
        self.set_fd(bk, fd)
        if not in_smallbin_range(self.size_nomask(p)) and self.fd_nextsize(p) != 0:
            self._unlink_nextsize(p, fd)

    def _unlink_nextsize(self, p: int, fd: int) -> None:
        """The skip-list half of unlink_chunk for large chunks."""
        p_fdn = self.fd_nextsize(p)
        p_bkn = self.bk_nextsize(p)
        if self.bk_nextsize(p_fdn) != p or self.fd_nextsize(p_bkn) != p:
            self.malloc_printerr("corrupted double-linked list (not small)")
        if self.fd_nextsize(fd) == 0:
            if p_fdn == p:
                self.set_fd_nextsize(fd, fd)
                self.set_bk_nextsize(fd, fd)
            else:
                self.set_fd_nextsize(fd, p_fdn)
                self.set_bk_nextsize(fd, p_bkn)
                self.set_bk_nextsize(p_fdn, fd)
                self.set_fd_nextsize(p_bkn, fd)
        else:
            self.set_bk_nextsize(p_fdn, p_bkn)
            self.set_fd_nextsize(p_bkn, p_fdn)

    def _link_unsorted_front(self, p: int, msg: str) -> None:
        """Insert p at the front of the unsorted bin, checking the first entry's bk."""
        bck = self.unsorted_chunks()
        fwd = self.fd(bck)
        if self.bk(fwd) != bck:
            self.malloc_printerr(msg)
        self.set_bk(p, bck)
        self.set_fd(p, fwd)
        self.set_fd(bck, p)
        self.set_bk(fwd, p)

    def _split_to_unsorted(self, victim: int, size: int, nb: int, msg: str) -> int:
        """Carve nb bytes off a free chunk; the remainder goes to the unsorted bin."""
        remainder_size = size - nb
        remainder = victim + nb
        self._link_unsorted_front(remainder, msg)
        if not in_smallbin_range(remainder_size):
            self.set_fd_nextsize(remainder, 0)
            self.set_bk_nextsize(remainder, 0)
        self.set_head(victim, nb | PREV_INUSE)
        self.set_head(remainder, remainder_size | PREV_INUSE)
        self.set_foot(remainder, remainder_size)
        return remainder

    # --- malloc -----------------------------------------------------------------------------

    def _int_malloc(self, nbytes: int) -> int:
        """Allocate from main_arena: fastbin, smallbin, unsorted, large bins, binmap, top."""
        nb = checked_request2size(nbytes)
        if nb == 0:
            self.errno = _errno.ENOMEM
            return 0
        if nb <= self.get_max_fast():
            p = self._malloc_fastbin(nb)
            if p:
                return p
        if in_smallbin_range(nb):
            p = self._malloc_smallbin(nb)
            if p:
                return p
            idx = smallbin_index(nb)
        else:
            idx = largebin_index(nb)
            if self.have_fastchunks():
                self.malloc_consolidate()
        tc_idx = csize2tidx(nb)
        tcache_nb = nb if self.tcache() and tc_idx < self.mp_get(MP_TCACHE_BINS) else 0
        while True:
            p, return_cached = self._process_unsorted(nb, tcache_nb, tc_idx)
            if p:
                return p
            if return_cached:
                return self.tcache_get(tc_idx)
            if not in_smallbin_range(nb):
                p = self._malloc_largebin(nb, idx)
                if p:
                    return p
            p = self._malloc_binmap(nb, idx + 1)
            if p:
                return p
            p = self._use_top(nb)
            if p >= 0:
                return p
            idx = smallbin_index(nb) if in_smallbin_range(nb) else largebin_index(nb)

    def _malloc_fastbin(self, nb: int) -> int:
        """Take a chunk from its fastbin, stashing the bin's other chunks in the tcache."""
        idx = fastbin_index(nb)
        fb = self.fastbin(idx)
        victim = self.ld(fb)
        if victim == 0:
            return 0
        if misaligned_chunk(victim):
            self.malloc_printerr("malloc(): unaligned fastbin chunk detected 2")
        self.st(fb, self.reveal(victim + CH_FD))
        if fastbin_index(self.chunksize(victim)) != idx:
            self.malloc_printerr("malloc(): memory corruption (fast)")
        tc = self.tcache()
        tc_idx = csize2tidx(nb)
        if tc and tc_idx < self.mp_get(MP_TCACHE_BINS):
            count = self.mp_get(MP_TCACHE_COUNT)
            while self.tc_count(tc, tc_idx) < count:
                tc_victim = self.ld(fb)
                if tc_victim == 0:
                    break
                if misaligned_chunk(tc_victim):
                    self.malloc_printerr("malloc(): unaligned fastbin chunk detected 3")
                self.st(fb, self.reveal(tc_victim + CH_FD))
                self.tcache_put(tc_victim, tc_idx)
        return victim + CHUNK_HDR_SZ

    def _malloc_smallbin(self, nb: int) -> int:
        """Take the oldest chunk of the exact small bin, stashing others in the tcache."""
        b = self.bin_at(smallbin_index(nb))
        victim = self.bk(b)
        if victim == b:
            return 0
        bck = self.bk(victim)
        if self.fd(bck) != victim:
            self.malloc_printerr("malloc(): smallbin double linked list corrupted")
        self.set_inuse_bit_at_offset(victim, nb)
        self.set_bk(b, bck)
        self.set_fd(bck, b)
        tc = self.tcache()
        tc_idx = csize2tidx(nb)
        if tc and tc_idx < self.mp_get(MP_TCACHE_BINS):
            count = self.mp_get(MP_TCACHE_COUNT)
            while self.tc_count(tc, tc_idx) < count:
                tc_victim = self.bk(b)
                if tc_victim == b or tc_victim == 0:
                    break
                bck = self.bk(tc_victim)
                self.set_inuse_bit_at_offset(tc_victim, nb)
                self.set_bk(b, bck)
                self.set_fd(bck, b)
                self.tcache_put(tc_victim, tc_idx)
        return victim + CHUNK_HDR_SZ

    def _check_unsorted(self, victim: int, bck: int, size: int) -> None:
        """The integrity checks _int_malloc makes on each unsorted chunk."""
        system_mem = self.system_mem()
        nxt = victim + size
        if size <= CHUNK_HDR_SZ or size > system_mem:
            self.malloc_printerr("malloc(): invalid size (unsorted)")
        nsize = self.size_nomask(nxt)
        if nsize < CHUNK_HDR_SZ or nsize > system_mem:
            self.malloc_printerr("malloc(): invalid next size (unsorted)")
        if (self.prev_size(nxt) & ~SIZE_BITS) != size:
            self.malloc_printerr("malloc(): mismatching next->prev_size (unsorted)")
        if self.fd(bck) != victim or self.fd(victim) != self.unsorted_chunks():
            self.malloc_printerr("malloc(): unsorted double linked list corrupted")
        if nsize & PREV_INUSE:
            self.malloc_printerr("malloc(): invalid next->prev_inuse (unsorted)")

    def _process_unsorted(self, nb: int, tcache_nb: int, tc_idx: int) -> tuple[int, bool]:
        """Sort the unsorted bin, taking an exact fit or the last remainder on the way.

        Returns (mem, return_cached): mem when a chunk was taken for the request;
        return_cached when exact fits went to the tcache and one should come back out.
        """
        unsorted = self.unsorted_chunks()
        return_cached = False
        unsorted_count = 0
        iters = 0
        while (victim := self.bk(unsorted)) != unsorted:
            bck = self.bk(victim)
            size = self.chunksize(victim)
            self._check_unsorted(victim, bck, size)
            if (
                in_smallbin_range(nb)
                and bck == unsorted
                and victim == self.last_remainder()
                and size > nb + MINSIZE
            ):
                return self._split_last_remainder(victim, size, nb), False
            self.set_bk(unsorted, bck)
            self.set_fd(bck, unsorted)
            if size == nb:
                self.set_inuse_bit_at_offset(victim, size)
                tc = self.tcache()
                if tcache_nb > 0 and self.tc_count(tc, tc_idx) < self.mp_get(MP_TCACHE_COUNT):
                    self.tcache_put(victim, tc_idx)
                    return_cached = True
                    continue
                return victim + CHUNK_HDR_SZ, False
            self._place_in_bin(victim, size)
            unsorted_count += 1
            limit = self.mp_get(MP_TCACHE_UNSORTED_LIMIT)
            if return_cached and limit > 0 and unsorted_count > limit:
                return self.tcache_get(tc_idx), False
            iters += 1
            if iters >= MAX_ITERS:
                break
        return 0, return_cached

    def _split_last_remainder(self, victim: int, size: int, nb: int) -> int:
        """Use the last remainder for a small request (the one exception to best fit)."""
        unsorted = self.unsorted_chunks()
        remainder_size = size - nb
        remainder = victim + nb
        self.set_bk(unsorted, remainder)
        self.set_fd(unsorted, remainder)
        self.set_last_remainder(remainder)
        self.set_bk(remainder, unsorted)
        self.set_fd(remainder, unsorted)
        if not in_smallbin_range(remainder_size):
            self.set_fd_nextsize(remainder, 0)
            self.set_bk_nextsize(remainder, 0)
        self.set_head(victim, nb | PREV_INUSE)
        self.set_head(remainder, remainder_size | PREV_INUSE)
        self.set_foot(remainder, remainder_size)
        return victim + CHUNK_HDR_SZ

    def _place_in_bin(self, victim: int, size: int) -> None:
        """Put an unsorted chunk in its small bin, or in size order in its large bin."""
        if in_smallbin_range(size):
            victim_index = smallbin_index(size)
            bck = self.bin_at(victim_index)
            fwd = self.fd(bck)
        else:
            victim_index = largebin_index(size)
            bck = self.bin_at(victim_index)
            fwd = self.fd(bck)
            if fwd != bck:
                fwd, bck = self._largebin_position(victim, size | PREV_INUSE, bck, fwd)
            else:
                self.set_fd_nextsize(victim, victim)
                self.set_bk_nextsize(victim, victim)
        self.mark_bin(victim_index)
        self.set_bk(victim, bck)
        self.set_fd(victim, fwd)
        self.set_bk(fwd, victim)
        self.set_fd(bck, victim)

    def _largebin_position(self, victim: int, size: int, bck: int, fwd: int) -> tuple[int, int]:
        """Find (fwd, bck) for a large chunk, maintaining the nextsize skip list."""
        self.malloc_assert(
            self.chunk_main_arena(self.bk(bck)), "_int_malloc", "chunk_main_arena (bck->bk)"
        )
        if size < self.size_nomask(self.bk(bck)):
            fwd = bck
            bck = self.bk(bck)
            first = self.fd(fwd)
            self.set_fd_nextsize(victim, first)
            self.set_bk_nextsize(victim, self.bk_nextsize(first))
            self.set_fd_nextsize(self.bk_nextsize(victim), victim)
            self.set_bk_nextsize(first, victim)
            return fwd, bck
        self.malloc_assert(self.chunk_main_arena(fwd), "_int_malloc", "chunk_main_arena (fwd)")
        while size < self.size_nomask(fwd):
            fwd = self.fd_nextsize(fwd)
            self.malloc_assert(self.chunk_main_arena(fwd), "_int_malloc", "chunk_main_arena (fwd)")
        if size == self.size_nomask(fwd):
            fwd = self.fd(fwd)
        else:
            self.set_fd_nextsize(victim, fwd)
            self.set_bk_nextsize(victim, self.bk_nextsize(fwd))
            if self.fd_nextsize(self.bk_nextsize(fwd)) != fwd:
                self.malloc_printerr("malloc(): largebin double linked list corrupted (nextsize)")
            self.set_bk_nextsize(fwd, victim)
            self.set_fd_nextsize(self.bk_nextsize(victim), victim)
        bck = self.bk(fwd)
        if self.fd(bck) != fwd:
            self.malloc_printerr("malloc(): largebin double linked list corrupted (bk)")
        return fwd, bck

    def _malloc_largebin(self, nb: int, idx: int) -> int:
        """Best fit in the request's own large bin, through the skip list."""
        b = self.bin_at(idx)
        victim = self.fd(b)
        if victim == b or self.size_nomask(victim) < nb:
            return 0
        victim = self.bk_nextsize(victim)
        while (size := self.chunksize(victim)) < nb:
            victim = self.bk_nextsize(victim)
        if victim != self.bk(b) and self.size_nomask(victim) == self.size_nomask(self.fd(victim)):
            victim = self.fd(victim)
        self.unlink_chunk(victim)
        if size - nb < MINSIZE:
            self.set_inuse_bit_at_offset(victim, size)
        else:
            self._split_to_unsorted(victim, size, nb, "malloc(): corrupted unsorted chunks")
        return victim + CHUNK_HDR_SZ

    def _malloc_binmap(self, nb: int, idx: int) -> int:
        """Smallest chunk in the next non-empty bin above idx, found through the binmap."""
        b = self.bin_at(idx)
        block = idx >> 5
        bmap = self.binmap(block)
        bit = 1 << (idx & 31)
        while True:
            if bit > bmap or bit == 0:
                while True:
                    block += 1
                    if block >= 4:
                        return 0
                    bmap = self.binmap(block)
                    if bmap:
                        break
                b = self.bin_at(block << 5)
                bit = 1
            while (bit & bmap) == 0:
                b += 16
                bit = (bit << 1) & MASK32
                self.malloc_assert(bit != 0, "_int_malloc", "bit != 0")
            victim = self.bk(b)
            if victim == b:
                bmap &= ~bit
                self.set_binmap(block, bmap)
                b += 16
                bit = (bit << 1) & MASK32
                continue
            size = self.chunksize(victim)
            self.malloc_assert(
                size >= nb, "_int_malloc", "(unsigned long) (size) >= (unsigned long) (nb)"
            )
            self.unlink_chunk(victim)
            if size - nb < MINSIZE:
                self.set_inuse_bit_at_offset(victim, size)
            else:
                rem = self._split_to_unsorted(
                    victim, size, nb, "malloc(): corrupted unsorted chunks 2"
                )
                if in_smallbin_range(nb):
                    self.set_last_remainder(rem)
            return victim + CHUNK_HDR_SZ

    def _use_top(self, nb: int) -> int:
        """Split the top chunk; else consolidate fastbins (-1: retry) or sysmalloc."""
        victim = self.top()
        size = self.chunksize(victim)
        if size > self.system_mem():
            self.malloc_printerr("malloc(): corrupted top size")
        if size >= nb + MINSIZE:
            remainder = victim + nb
            self.set_top(remainder)
            self.set_head(victim, nb | PREV_INUSE)
            self.set_head(remainder, (size - nb) | PREV_INUSE)
            return victim + CHUNK_HDR_SZ
        if self.have_fastchunks():
            self.malloc_consolidate()
            return -1
        return self.sysmalloc(nb)

    # --- free --------------------------------------------------------------------------

    def _int_free(self, p: int, have_lock: bool) -> None:
        """Release a non-mmapped chunk: tcache, fastbin, or coalesce into unsorted/top."""
        size = self.chunksize(p)
        if p > ((-size) & MASK64) or misaligned_chunk(p):
            self.malloc_printerr("free(): invalid pointer")
        if size < MINSIZE or size & MALLOC_ALIGN_MASK:
            self.malloc_printerr("free(): invalid size")
        if self._free_to_tcache(p, size):
            return
        if size <= self.get_max_fast():
            self._free_to_fastbin(p, size, have_lock)
        elif not self.chunk_is_mmapped(p):
            self._free_coalesce(p, size)
        else:
            self.munmap_chunk(p)

    def _free_to_tcache(self, p: int, size: int) -> bool:
        """The tcache part of _int_free: detect a double free, then cache if room."""
        tc = self.tcache()
        tc_idx = csize2tidx(size)
        if not tc or tc_idx >= self.mp_get(MP_TCACHE_BINS):
            return False
        e = p + CHUNK_HDR_SZ
        count = self.mp_get(MP_TCACHE_COUNT)
        if self.ld(e + TE_KEY) == self.tcache_key():
            tmp = self.tc_entry(tc, tc_idx)
            cnt = 0
            while tmp:
                if cnt >= count:
                    self.malloc_printerr("free(): too many chunks detected in tcache")
                if tmp & MALLOC_ALIGN_MASK:
                    self.malloc_printerr("free(): unaligned chunk detected in tcache 2")
                if tmp == e:
                    self.malloc_printerr("free(): double free detected in tcache 2")
                tmp = self.reveal(tmp)
                cnt += 1
        if self.tc_count(tc, tc_idx) < count:
            self.tcache_put(p, tc_idx, tc)
            return True
        return False

    def _free_to_fastbin(self, p: int, size: int, have_lock: bool) -> None:
        """Push a small chunk on its fastbin (it stays marked in use)."""
        nxt = p + size
        if self.size_nomask(nxt) <= CHUNK_HDR_SZ or self.chunksize(nxt) >= self.system_mem():
            self.malloc_printerr("free(): invalid next size (fast)")
        self.set_have_fastchunks(1)
        idx = fastbin_index(size)
        fb = self.fastbin(idx)
        old = self.ld(fb)
        if old == p:
            self.malloc_printerr("double free or corruption (fasttop)")
        self.st(p + CH_FD, protect_ptr(p + CH_FD, old))
        self.st(fb, p)
        if have_lock and old != 0 and fastbin_index(self.chunksize(old)) != idx:
            self.malloc_printerr("invalid fastbin entry (free)")

    def _free_coalesce(self, p: int, size: int) -> None:
        """Merge with free neighbours, bin in unsorted (or grow top), maybe trim."""
        nextchunk = p + size
        top = self.top()
        if p == top:
            self.malloc_printerr("double free or corruption (top)")
        if self.contiguous() and nextchunk >= top + self.chunksize(top):
            self.malloc_printerr("double free or corruption (out)")
        if not self.prev_inuse(nextchunk):
            self.malloc_printerr("double free or corruption (!prev)")
        nextsize = self.chunksize(nextchunk)
        if self.size_nomask(nextchunk) <= CHUNK_HDR_SZ or nextsize >= self.system_mem():
            self.malloc_printerr("free(): invalid next size (normal)")
        if not self.prev_inuse(p):
            prevsize = self.prev_size(p)
            size += prevsize
            p = (p - prevsize) & MASK64
            if self.chunksize(p) != prevsize:
                self.malloc_printerr("corrupted size vs. prev_size while consolidating")
            self.unlink_chunk(p)
        if nextchunk != top:
            if not self.inuse_bit_at_offset(nextchunk, nextsize):
                self.unlink_chunk(nextchunk)
                size += nextsize
            else:
                self.clear_inuse_bit_at_offset(nextchunk, 0)
            self._link_unsorted_front(p, "free(): corrupted unsorted chunks")
            if not in_smallbin_range(size):
                self.set_fd_nextsize(p, 0)
                self.set_bk_nextsize(p, 0)
            self.set_head(p, size | PREV_INUSE)
            self.set_foot(p, size)
        else:
            size += nextsize
            self.set_head(p, size | PREV_INUSE)
            self.set_top(p)
        if size >= FASTBIN_CONSOLIDATION_THRESHOLD:
            if self.have_fastchunks():
                self.malloc_consolidate()
            if self.chunksize(self.top()) >= self.mp_get(MP_TRIM_THRESHOLD):
                self.systrim(self.mp_get(MP_TOP_PAD))

    def malloc_consolidate(self) -> None:
        """Tear down every fastbin, coalescing its chunks into the unsorted bin or top."""
        self.set_have_fastchunks(0)
        for i in range(NFASTBINS):
            fb = self.fastbin(i)
            p = self.ld(fb)
            self.st(fb, 0)
            while p != 0:
                if misaligned_chunk(p):
                    self.malloc_printerr("malloc_consolidate(): unaligned fastbin chunk detected")
                if fastbin_index(self.chunksize(p)) != i:
                    self.malloc_printerr("malloc_consolidate(): invalid chunk size")
                nextp = self.reveal(p + CH_FD)
                self._consolidate_one(p)
                p = nextp

    def _consolidate_one(self, p: int) -> None:
        """malloc_consolidate's streamlined free() of one fastbin chunk."""
        size = self.chunksize(p)
        nextchunk = p + size
        nextsize = self.chunksize(nextchunk)
        if not self.prev_inuse(p):
            prevsize = self.prev_size(p)
            size += prevsize
            p = (p - prevsize) & MASK64
            if self.chunksize(p) != prevsize:
                self.malloc_printerr("corrupted size vs. prev_size in fastbins")
            self.unlink_chunk(p)
        if nextchunk != self.top():
            if not self.inuse_bit_at_offset(nextchunk, nextsize):
                size += nextsize
                self.unlink_chunk(nextchunk)
            else:
                self.clear_inuse_bit_at_offset(nextchunk, 0)
            unsorted = self.unsorted_chunks()
            first_unsorted = self.fd(unsorted)
            self.set_fd(unsorted, p)
            self.set_bk(first_unsorted, p)
            if not in_smallbin_range(size):
                self.set_fd_nextsize(p, 0)
                self.set_bk_nextsize(p, 0)
            self.set_head(p, size | PREV_INUSE)
            self.set_bk(p, unsorted)
            self.set_fd(p, first_unsorted)
            self.set_foot(p, size)
        else:
            size += nextsize
            self.set_head(p, size | PREV_INUSE)
            self.set_top(p)

    # --- the system: sysmalloc, systrim, mmapped chunks -----------------------------------

    def sysmalloc_mmap(self, nb: int) -> int:
        """Serve a request with its own mapping; returns mem or FAILURE."""
        size = align_up(nb + SIZE_SZ, self.pagesize) & MASK64
        if size <= nb:
            return FAILURE
        mm = self.mmap(size)
        if mm == FAILURE:
            return FAILURE
        self.set_prev_size(mm, 0)
        self.set_head(mm, size | IS_MMAPPED)
        n = self.mp_get32(MP_N_MMAPS) + 1
        self.mp_set32(MP_N_MMAPS, n)
        self.mp_set32(MP_MAX_N_MMAPS, max(self.mp_get32(MP_MAX_N_MMAPS), n))
        total = self.mp_get(MP_MMAPPED_MEM) + size
        self.mp_set(MP_MMAPPED_MEM, total)
        self.mp_set(MP_MAX_MMAPPED_MEM, max(self.mp_get(MP_MAX_MMAPPED_MEM), total))
        self.mmapped[mm] = mm
        return mm + CHUNK_HDR_SZ

    def sysmalloc(self, nb: int) -> int:
        """Get memory from the system: a private mapping, or grow the heap with brk."""
        if nb >= self.mp_get(MP_MMAP_THRESHOLD) and self.mp_get32(MP_N_MMAPS) < self.mp_get32(
            MP_N_MMAPS_MAX
        ):
            mm = self.sysmalloc_mmap(nb)
            if mm != FAILURE:
                return mm
        self._grow_top(nb)
        system_mem = self.system_mem()
        if system_mem > self.max_system_mem():
            self.set_max_system_mem(system_mem)
        p = self.top()
        size = self.chunksize(p)
        if size >= nb + MINSIZE:
            remainder = p + nb
            self.set_top(remainder)
            self.set_head(p, nb | PREV_INUSE)
            self.set_head(remainder, (size - nb) | PREV_INUSE)
            return p + CHUNK_HDR_SZ
        self.errno = _errno.ENOMEM
        return 0

    def _grow_top(self, nb: int) -> None:
        """sysmalloc's main-arena half: extend top by brk, or by mmap when brk fails."""
        old_top = self.top()
        old_size = self.chunksize(old_top)
        old_end = old_top + old_size
        self.malloc_assert(
            (old_top == self.unsorted_chunks() and old_size == 0)
            or (
                old_size >= MINSIZE
                and self.prev_inuse(old_top)
                and (old_end & (self.pagesize - 1)) == 0
            ),
            "sysmalloc",
            "(old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= "
            "MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)",
        )
        self.malloc_assert(
            old_size < nb + MINSIZE,
            "sysmalloc",
            "(unsigned long) (old_size) < (unsigned long) (nb + MINSIZE)",
        )
        brk = snd_brk = FAILURE
        size = nb + self.mp_get(MP_TOP_PAD) + MINSIZE
        if self.contiguous():
            size -= old_size
        size = to_signed64(align_up(size & MASK64, self.pagesize))
        if size > 0:
            brk = self.morecore(size)
        if brk == FAILURE:
            mbrk, size = self._mmap_fallback(size, nb, old_size)
            if mbrk != FAILURE:
                brk = mbrk
                snd_brk = brk + size
        if brk == FAILURE:
            return
        if self.mp_get(MP_SBRK_BASE) == 0:
            self.mp_set(MP_SBRK_BASE, brk)
        self.set_system_mem(self.system_mem() + size)
        if brk == old_end and snd_brk == FAILURE:
            self.set_head(old_top, (size + old_size) | PREV_INUSE)
        elif self.contiguous() and old_size and brk < old_end:
            self.malloc_printerr("break adjusted to free malloc space")
        else:
            self._new_top(brk, snd_brk, size, old_top, old_size, old_end)

    def _mmap_fallback(self, size: int, nb: int, old_size: int) -> tuple[int, int]:
        """sysmalloc_mmap_fallback: map at least 1 MiB as a non-contiguous heap piece."""
        if self.contiguous():
            size = align_up(size + old_size, self.pagesize)
        size &= MASK64
        if size < MMAP_AS_MORECORE_SIZE:
            size = MMAP_AS_MORECORE_SIZE
        if size <= nb:
            return FAILURE, size
        mbrk = self.mmap(size)
        if mbrk == FAILURE:
            return FAILURE, size
        self.set_noncontiguous()
        return mbrk, size

    def _new_top(
        self, brk: int, snd_brk: int, size: int, old_top: int, old_size: int, old_end: int
    ) -> None:
        """First brk, foreign sbrk or non-contiguous space: align a new top, fence the old."""
        correction = 0
        aligned_brk = brk
        if self.contiguous():
            if old_size:
                self.set_system_mem(self.system_mem() + brk - old_end)
            front_misalign = (brk + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK
            if front_misalign > 0:
                correction = MALLOC_ALIGNMENT - front_misalign
                aligned_brk += correction
            correction += old_size
            end_misalign = brk + size + correction
            correction += align_up(end_misalign, self.pagesize) - end_misalign
            snd_brk = self.morecore(correction)
            if snd_brk == FAILURE:
                correction = 0
                snd_brk = self.morecore(0)
        elif snd_brk == FAILURE:
            snd_brk = self.morecore(0)
        if snd_brk == FAILURE:
            return
        self.set_top(aligned_brk)
        self.set_head(aligned_brk, (snd_brk - aligned_brk + correction) | PREV_INUSE)
        self.set_system_mem(self.system_mem() + correction)
        self.segments.append(aligned_brk)
        if old_size != 0:
            old_size = (old_size - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK
            self.set_head(old_top, old_size | PREV_INUSE)
            self.set_head(old_top + old_size, CHUNK_HDR_SZ | PREV_INUSE)
            self.set_head(old_top + old_size + CHUNK_HDR_SZ, CHUNK_HDR_SZ | PREV_INUSE)
            if old_size >= MINSIZE:
                self._int_free(old_top, True)

    def systrim(self, pad: int) -> int:
        """Give the top of the heap back with a negative sbrk; 1 if anything was released."""
        top = self.top()
        top_size = self.chunksize(top)
        top_area = top_size - MINSIZE - 1
        if (top_area & MASK64) <= pad:
            return 0
        extra = to_signed64(align_down((top_area - pad) & MASK64, self.pagesize))
        if extra == 0:
            return 0
        current_brk = self.morecore(0)
        if current_brk != top + top_size:
            return 0
        self.morecore(-extra)
        new_brk = self.morecore(0)
        if new_brk == FAILURE:
            return 0
        released = current_brk - new_brk
        if released == 0:
            return 0
        self.set_system_mem(self.system_mem() - released)
        self.set_head(top, (top_size - released) | PREV_INUSE)
        return 1

    def munmap_chunk(self, p: int) -> None:
        """Unmap an mmapped chunk after checking its header is plausible."""
        size = self.chunksize(p)
        mem = p + CHUNK_HDR_SZ
        offset = self.prev_size(p)
        block = (p - offset) & MASK64
        total_size = (offset + size) & MASK64
        if (block | total_size) & (self.pagesize - 1) or not powerof2(mem & (self.pagesize - 1)):
            self.malloc_printerr("munmap_chunk(): invalid pointer")
        self.mp_set32(MP_N_MMAPS, self.mp_get32(MP_N_MMAPS) - 1)
        self.mp_set(MP_MMAPPED_MEM, self.mp_get(MP_MMAPPED_MEM) - total_size)
        self.mmapped.pop(block, None)
        self.munmap(block, total_size)

    def mremap_chunk(self, p: int, new_size: int) -> int:
        """Resize an mmapped chunk with mremap(MREMAP_MAYMOVE); 0 if that fails."""
        offset = self.prev_size(p)
        size = self.chunksize(p)
        block = (p - offset) & MASK64
        mem = p + CHUNK_HDR_SZ
        total_size = offset + size
        if (block | total_size) & (self.pagesize - 1) or not powerof2(mem & (self.pagesize - 1)):
            self.malloc_printerr("mremap_chunk(): invalid pointer")
        new_size = align_up(new_size + offset + SIZE_SZ, self.pagesize)
        if total_size == new_size:
            return p
        cp = self._mremap(block, total_size, new_size)
        if cp == FAILURE:
            return 0
        self.mmapped.pop(block, None)
        p = cp + offset
        self.mmapped[cp] = p
        self.set_head(p, (new_size - offset) | IS_MMAPPED)
        total = self.mp_get(MP_MMAPPED_MEM) + new_size - size - offset
        self.mp_set(MP_MMAPPED_MEM, total)
        self.mp_set(MP_MAX_MMAPPED_MEM, max(self.mp_get(MP_MAX_MMAPPED_MEM), total))
        return p

    def _mremap(self, block: int, old: int, new: int) -> int:
        """mremap(block, old, new, MREMAP_MAYMOVE), or its emulation."""
        remap = getattr(self.mem, "mremap", None)
        if remap is not None:
            try:
                return int(remap(block, old, new))
            except OSError:
                return FAILURE
        if new < old:
            self.munmap(block + new, old - new)
            return block
        cp = self.mmap(new)
        if cp == FAILURE:
            return FAILURE
        self.memcpy(cp, block, old)
        self.munmap(block, old)
        return cp

    # --- realloc and memalign --------------------------------------------------------------

    def _int_realloc(self, oldp: int, oldsize: int, nb: int) -> int:
        """Resize a heap chunk in place (shrink, grow into top or a free neighbour) or move it."""
        system_mem = self.system_mem()
        if (
            self.size_nomask(oldp) <= CHUNK_HDR_SZ
            or oldsize >= system_mem
            or oldsize != self.chunksize(oldp)
        ):
            self.malloc_printerr("realloc(): invalid old size")
        nxt = oldp + oldsize
        nextsize = self.chunksize(nxt)
        if self.size_nomask(nxt) <= CHUNK_HDR_SZ or nextsize >= system_mem:
            self.malloc_printerr("realloc(): invalid next size")
        if oldsize >= nb:
            newp, newsize = oldp, oldsize
        else:
            top = self.top()
            newsize = oldsize + nextsize
            if nxt == top and newsize >= nb + MINSIZE:
                self.set_head_size(oldp, nb)
                self.set_top(oldp + nb)
                self.set_head(oldp + nb, (newsize - nb) | PREV_INUSE)
                return oldp + CHUNK_HDR_SZ
            if nxt != top and not self.inuse(nxt) and newsize >= nb:
                newp = oldp
                self.unlink_chunk(nxt)
            else:
                return self._realloc_move(oldp, oldsize, nb, nxt)
        return self._realloc_split(newp, newsize, nb)

    def _realloc_split(self, newp: int, newsize: int, nb: int) -> int:
        """Keep nb bytes of a chunk grown or kept in place; free a big enough tail."""
        self.malloc_assert(
            newsize >= nb, "_int_realloc", "(unsigned long) (newsize) >= (unsigned long) (nb)"
        )
        remainder_size = newsize - nb
        if remainder_size < MINSIZE:
            self.set_head_size(newp, newsize)
            self.set_inuse_bit_at_offset(newp, newsize)
        else:
            remainder = newp + nb
            self.set_head_size(newp, nb)
            self.set_head(remainder, remainder_size | PREV_INUSE)
            self.set_inuse_bit_at_offset(remainder, remainder_size)
            self._int_free(remainder, True)
        return newp + CHUNK_HDR_SZ

    def _realloc_move(self, oldp: int, oldsize: int, nb: int, nxt: int) -> int:
        """_int_realloc's allocate-copy-free, merging when malloc hands back the next chunk."""
        newmem = self._int_malloc(nb - MALLOC_ALIGN_MASK)
        if newmem == 0:
            return 0
        newp = newmem - CHUNK_HDR_SZ
        newsize = self.chunksize(newp)
        if newp == nxt:
            return self._realloc_split(oldp, newsize + oldsize, nb)
        self.memcpy(newmem, oldp + CHUNK_HDR_SZ, self.memsize(oldp))
        self._int_free(oldp, True)
        return newmem

    def _int_memalign(self, alignment: int, nbytes: int) -> int:
        """Over-allocate, then give back the misaligned lead and the spare tail."""
        nb = checked_request2size(nbytes)
        if nb == 0:
            self.errno = _errno.ENOMEM
            return 0
        m = self._int_malloc(nb + alignment + MINSIZE)
        if m == 0:
            return 0
        p = m - CHUNK_HDR_SZ
        if m % alignment != 0:
            brk = (((m + alignment - 1) & -alignment) & MASK64) - CHUNK_HDR_SZ
            if brk - p < MINSIZE:
                brk += alignment
            newp = brk
            leadsize = brk - p
            newsize = self.chunksize(p) - leadsize
            if self.chunk_is_mmapped(p):
                self.set_prev_size(newp, self.prev_size(p) + leadsize)
                self.set_head(newp, newsize | IS_MMAPPED)
                self.mmapped[(p - self.prev_size(p)) & MASK64] = newp
                return newp + CHUNK_HDR_SZ
            self.set_head(newp, newsize | PREV_INUSE)
            self.set_inuse_bit_at_offset(newp, newsize)
            self.set_head_size(p, leadsize)
            self._int_free(p, True)
            p = newp
            self.malloc_assert(
                newsize >= nb and (p + CHUNK_HDR_SZ) % alignment == 0,
                "_int_memalign",
                "newsize >= nb && (((unsigned long) (chunk2mem (p))) % alignment) == 0",
            )
        if not self.chunk_is_mmapped(p):
            size = self.chunksize(p)
            if size > nb + MINSIZE:
                remainder = p + nb
                self.set_head(remainder, (size - nb) | PREV_INUSE)
                self.set_head_size(p, nb)
                self._int_free(remainder, True)
        return p + CHUNK_HDR_SZ

    def memsize(self, p: int) -> int:
        """Usable bytes of an in-use chunk."""
        extra = 0 if self.chunk_is_mmapped(p) else SIZE_SZ
        return self.chunksize(p) - CHUNK_HDR_SZ + extra

    def musable(self, mem: int) -> int:
        """malloc_usable_size without the NULL check."""
        p = mem - CHUNK_HDR_SZ
        if self.chunk_is_mmapped(p):
            return self.chunksize(p) - CHUNK_HDR_SZ
        if self.inuse(p):
            return self.memsize(p)
        return 0

    # --- the __libc_* entry points ---------------------------------------------------------

    def libc_malloc(self, nbytes: int) -> int:
        """__libc_malloc: tcache first, then _int_malloc."""
        tbytes = checked_request2size(nbytes)
        if tbytes == 0:
            self.errno = _errno.ENOMEM
            return 0
        tc_idx = csize2tidx(tbytes)
        tc = self.tcache()
        if tc == 0:
            self.tcache_init()
            tc = self.tcache()
        if tc_idx < self.mp_get(MP_TCACHE_BINS) and tc and self.tc_count(tc, tc_idx) > 0:
            return self.tcache_get(tc_idx, tc)
        victim = self._int_malloc(nbytes)
        self._assert_arena(
            victim,
            "__libc_malloc",
            "!victim || chunk_is_mmapped (mem2chunk (victim)) || "
            "&main_arena == arena_for_chunk (mem2chunk (victim))",
        )
        return victim

    def libc_free(self, mem: int) -> None:
        """__libc_free: munmap a mapped chunk (raising the mmap threshold) or _int_free."""
        if mem == 0:
            return
        p = mem - CHUNK_HDR_SZ
        if self.chunk_is_mmapped(p):
            nomask = self.size_nomask(p)
            if (
                not self.mp_get32(MP_NO_DYN_THRESHOLD)
                and nomask > self.mp_get(MP_MMAP_THRESHOLD)
                and nomask <= DEFAULT_MMAP_THRESHOLD_MAX
            ):
                threshold = self.chunksize(p)
                self.mp_set(MP_MMAP_THRESHOLD, threshold)
                self.mp_set(MP_TRIM_THRESHOLD, 2 * threshold)
            self.munmap_chunk(p)
        else:
            self.maybe_init_tcache()
            self.arena_for_chunk(p)  # a forged NON_MAIN_ARENA bit sends glibc to heap_info
            self._int_free(p, False)

    def libc_realloc(self, oldmem: int, nbytes: int) -> int:
        """__libc_realloc: free on 0 bytes, malloc on NULL, mremap or _int_realloc."""
        if nbytes == 0 and oldmem != 0:
            self.libc_free(oldmem)
            return 0
        if oldmem == 0:
            return self.libc_malloc(nbytes)
        oldp = oldmem - CHUNK_HDR_SZ
        oldsize = self.chunksize(oldp)
        if not self.chunk_is_mmapped(oldp):
            self.maybe_init_tcache()
        if oldp > ((-oldsize) & MASK64) or misaligned_chunk(oldp):
            self.malloc_printerr("realloc(): invalid pointer")
        nb = checked_request2size(nbytes)
        if nb == 0:
            self.errno = _errno.ENOMEM
            return 0
        if self.chunk_is_mmapped(oldp):
            return self._realloc_mmapped(oldmem, oldp, oldsize, nbytes, nb)
        ar_ptr = self.arena_for_chunk(oldp)
        newp = self._int_realloc(oldp, oldsize, nb)
        self._assert_arena(
            newp,
            "__libc_realloc",
            "!newp || chunk_is_mmapped (mem2chunk (newp)) || "
            "ar_ptr == arena_for_chunk (mem2chunk (newp))",
            ar_ptr,
        )
        return newp

    def _realloc_mmapped(self, oldmem: int, oldp: int, oldsize: int, nbytes: int, nb: int) -> int:
        """realloc of an mmapped chunk: mremap, else keep it, else malloc-copy-munmap."""
        newp = self.mremap_chunk(oldp, nb)
        if newp:
            return newp + CHUNK_HDR_SZ
        if oldsize - SIZE_SZ >= nb:
            return oldmem
        newmem = self.libc_malloc(nbytes)
        if newmem == 0:
            return 0
        self.memcpy(newmem, oldmem, oldsize - CHUNK_HDR_SZ)
        self.munmap_chunk(oldp)
        return newmem

    def libc_calloc(self, n: int, elem_size: int) -> int:
        """__libc_calloc: _int_malloc (no tcache), clearing only what may be dirty."""
        nbytes = (n & MASK64) * (elem_size & MASK64)
        if nbytes > PTRDIFF_MAX:
            self.errno = _errno.ENOMEM
            return 0
        self.maybe_init_tcache()
        oldtop = self.top()
        oldtopsize = self.chunksize(oldtop)
        fresh = (self.mp_get(MP_SBRK_BASE) + self.max_system_mem() - oldtop) & MASK64
        if oldtopsize < fresh:
            oldtopsize = fresh
        mem = self._int_malloc(nbytes)
        self._assert_arena(
            mem,
            "__libc_calloc",
            "!mem || chunk_is_mmapped (mem2chunk (mem)) || av == arena_for_chunk (mem2chunk (mem))",
        )
        if mem == 0:
            return 0
        p = mem - CHUNK_HDR_SZ
        if self.chunk_is_mmapped(p):
            return mem
        csz = self.chunksize(p)
        if p == oldtop and csz > oldtopsize:
            csz = oldtopsize
        clearsize = (csz - SIZE_SZ) & MASK64
        self.malloc_assert(clearsize // SIZE_SZ >= 3, "__libc_calloc", "nclears >= 3")
        self.memset0(mem, clearsize)
        return mem

    def mid_memalign(self, alignment: int, nbytes: int) -> int:
        """_mid_memalign: malloc for small alignments, else a power of two >= MINSIZE."""
        if alignment <= MALLOC_ALIGNMENT:
            return self.libc_malloc(nbytes)
        if alignment < MINSIZE:
            alignment = MINSIZE
        if alignment > SIZE_MAX // 2 + 1:
            self.errno = _errno.EINVAL
            return 0
        if not powerof2(alignment):
            a = MALLOC_ALIGNMENT * 2
            while a < alignment:
                a <<= 1
            alignment = a
        p = self._int_memalign(alignment, nbytes)
        self._assert_arena(
            p,
            "_mid_memalign",
            "!p || chunk_is_mmapped (mem2chunk (p)) || "
            "&main_arena == arena_for_chunk (mem2chunk (p))",
        )
        return p

    def mtrim(self, pad: int) -> int:
        """malloc_trim: consolidate, count releasable whole pages in free chunks, systrim."""
        self.malloc_consolidate()
        ps = self.pagesize
        psindex = bin_index(ps)
        result = 0
        for i in range(1, NBINS):
            if i != 1 and i < psindex:
                continue
            b = self.bin_at(i)
            p = self.bk(b)
            while p != b:
                size = self.chunksize(p)
                if size > ps - 1 + 48:
                    paligned = (p + 48 + ps - 1) & ~(ps - 1)
                    if size - (paligned - p) > ps - 1:
                        result = 1  # glibc would madvise(MADV_DONTNEED) these pages
                p = self.bk(p)
        return result | self.systrim(pad)

    def mallopt(self, param: int, value: int) -> int:
        """mallopt(param, value): 1 on success, 0 if the value is not allowed."""
        self.malloc_consolidate()
        value &= MASK64
        if param == M_MXFAST:
            if value > MAX_FAST_SIZE:
                return 0
            self.set_max_fast(value)
        elif param in (M_TRIM_THRESHOLD, M_TOP_PAD):
            self.mp_set(MP_TRIM_THRESHOLD if param == M_TRIM_THRESHOLD else MP_TOP_PAD, value)
            self.mp_set32(MP_NO_DYN_THRESHOLD, 1)
        elif param == M_MMAP_THRESHOLD:
            if value > HEAP_MAX_SIZE // 2:
                return 0
            self.mp_set(MP_MMAP_THRESHOLD, value)
            self.mp_set32(MP_NO_DYN_THRESHOLD, 1)
        elif param == M_MMAP_MAX:
            self.mp_set32(MP_N_MMAPS_MAX, value)
            self.mp_set32(MP_NO_DYN_THRESHOLD, 1)
        elif param in (M_ARENA_TEST, M_ARENA_MAX) and 0 < value <= 0x7FFFFFFF:
            self.mp_set(MP_ARENA_TEST if param == M_ARENA_TEST else MP_ARENA_MAX, value)
        return 1

    def set_tcache_count(self, value: int) -> bool:
        """The glibc.malloc.tcache_count tunable."""
        if value > MAX_TCACHE_COUNT:
            return False
        self.mp_set(MP_TCACHE_COUNT, value)
        return True

    def set_tcache_max(self, value: int) -> bool:
        """The glibc.malloc.tcache_max tunable (largest cached request)."""
        if value > MAX_TCACHE_SIZE:
            return False
        self.mp_set(MP_TCACHE_MAX_BYTES, value)
        self.mp_set(MP_TCACHE_BINS, csize2tidx(request2size(value)) + 1)
        return True


__all__ = ["CH_BK", "FAILURE", "Ptmalloc"]
