"""The malloc family's C semantics: NULL, errno, alignment, sizes, reuse, growth."""

from __future__ import annotations

import errno
import itertools

import pytest
from flatmem import FlatMemory

from vmsim.events import LibcCall
from vmsim.libc.malloc import GlibcHeap

KiB = 1024


def in_heap(mem: FlatMemory, p: int) -> bool:
    return mem.heap_base <= p < mem.cur_brk


def where(heap: GlibcHeap, ptr: int) -> str:
    return next(c.where for c in heap.chunks() if c.mem == ptr)


# --- malloc and free ----------------------------------------------------------------


def test_malloc_returns_aligned_nonoverlapping_usable_blocks(heap: GlibcHeap) -> None:
    blocks = [(heap.malloc(n), n) for n in (0, 1, 7, 24, 25, 100, 1000, 5000)]
    for p, n in blocks:
        assert p and p % 16 == 0
        assert heap.malloc_usable_size(p) >= max(n, 1)
    spans = sorted((p, p + heap.malloc_usable_size(p)) for p, _ in blocks)
    assert all(a_end <= b for (_, a_end), (b, _) in itertools.pairwise(spans))
    heap.check()


def test_malloc_zero_gives_a_unique_minimum_chunk(heap: GlibcHeap) -> None:
    a, b = heap.malloc(0), heap.malloc(0)
    assert a and b and a != b
    assert heap.malloc_usable_size(a) == 24  # MINSIZE 32 minus the 8-byte header


def test_first_malloc_grows_the_heap_by_brk_with_top_pad(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(1)
    # tcache_perthread_struct (0x290) comes first; 640 + 128 KiB pad, page-rounded
    assert p - mem.heap_base == 0x2A0
    assert mem.cur_brk - mem.heap_base == 0x21000
    assert heap.heap_start == mem.heap_base


@pytest.mark.parametrize("size", [1 << 63, (1 << 64) - 1, -1, (1 << 64) - 16])
def test_malloc_of_an_impossible_size_is_null_with_enomem(heap: GlibcHeap, size: int) -> None:
    assert heap.malloc(size) == 0
    assert heap.errno == errno.ENOMEM


def test_free_null_does_nothing(heap: GlibcHeap) -> None:
    heap.malloc(10)
    before = heap.chunks()
    heap.free(0)
    assert heap.chunks() == before


def test_free_keeps_errno(heap: GlibcHeap) -> None:
    p = heap.malloc(10)
    heap.malloc(1 << 63)
    heap.free(p)
    assert heap.errno == errno.ENOMEM


def test_freed_small_block_is_reused_lifo_from_tcache(heap: GlibcHeap) -> None:
    a, b = heap.malloc(40), heap.malloc(40)
    heap.free(a)
    heap.free(b)
    assert where(heap, a) == "tcache"
    assert heap.malloc(40) == b
    assert heap.malloc(40) == a


def test_tcache_holds_seven_then_fastbin(heap: GlibcHeap) -> None:
    ptrs = [heap.malloc(24) for _ in range(9)]
    for p in ptrs:
        heap.free(p)
    kinds = [where(heap, p) for p in ptrs]
    assert kinds == ["tcache"] * 7 + ["fastbin"] * 2


def test_large_free_blocks_coalesce(heap: GlibcHeap) -> None:
    a, b, c = heap.malloc(2000), heap.malloc(2000), heap.malloc(2000)
    guard = heap.malloc(10)
    heap.free(a)
    heap.free(c)
    heap.free(b)  # merges with both neighbours
    free = [ch for ch in heap.chunks() if ch.where == "unsorted"]
    assert len(free) == 1 and free[0].mem == a and free[0].size == 3 * 2016
    assert heap.malloc(6000) == a  # the merged block serves a request none could alone
    heap.free(guard)
    heap.check()


def test_free_next_to_top_merges_into_top(heap: GlibcHeap) -> None:
    a = heap.malloc(3000)
    top_before = heap.mallinfo().keepcost
    heap.free(a)
    assert heap.mallinfo().keepcost == top_before + 3008
    assert where_top(heap) == a - 16


def where_top(heap: GlibcHeap) -> int:
    return next(c.addr for c in heap.chunks() if c.where == "top")


def test_heap_grows_when_top_runs_out(heap: GlibcHeap, mem: FlatMemory) -> None:
    brk0 = mem.cur_brk + 0x21000
    ptrs = [heap.malloc(1000) for _ in range(200)]
    assert mem.cur_brk > brk0
    assert all(in_heap(mem, p) for p in ptrs)
    heap.check()


# --- mmap and the adaptive threshold ----------------------------------------------------


def test_big_request_is_mmapped_and_unmapped_on_free(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(200 * KiB)
    assert not in_heap(mem, p)
    info = heap.mallinfo()
    assert info.hblks == 1 and info.hblkhd == 200 * KiB + 4096
    assert heap.malloc_usable_size(p) == 200 * KiB + 4096 - 16
    heap.free(p)
    assert not mem.is_mapped(p)
    assert heap.mallinfo().hblks == 0


def test_mmap_threshold_adapts_upward_on_free(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(200 * KiB)
    heap.free(p)  # threshold becomes this chunk's size
    q = heap.malloc(200 * KiB)
    assert in_heap(mem, q)
    heap.free(q)
    r = heap.malloc(1024 * KiB)  # more than top holds, above the threshold: mapped
    assert not in_heap(mem, r)


def test_mmap_threshold_stops_at_32_mib(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(40 * 1024 * KiB)
    heap.free(p)
    q = heap.malloc(40 * 1024 * KiB)
    assert not in_heap(mem, q)


def test_fixed_mmap_threshold_does_not_adapt(mem: FlatMemory) -> None:
    heap = GlibcHeap(mem, mmap_threshold=128 * KiB)  # as mallopt(M_MMAP_THRESHOLD) does
    p = heap.malloc(200 * KiB)
    assert not in_heap(mem, p)
    heap.free(p)
    assert not in_heap(mem, heap.malloc(200 * KiB))


def test_free_of_much_memory_trims_the_heap(heap: GlibcHeap, mem: FlatMemory) -> None:
    ptrs = [heap.malloc(100 * KiB) for _ in range(4)]
    high = mem.cur_brk
    for p in reversed(ptrs):
        heap.free(p)
    assert mem.cur_brk < high
    assert mem.cur_brk - mem.heap_base <= 0x2A0 + 128 * KiB + 2 * 4096
    heap.check()


def test_malloc_trim_gives_back_the_top(mem: FlatMemory) -> None:
    heap = GlibcHeap(mem, trim_threshold=1 << 40)  # free() never trims by itself
    p = heap.malloc(300 * KiB - 100)
    q = heap.malloc(300 * KiB - 100)
    heap.free(q)
    heap.free(p)
    high = mem.cur_brk
    assert heap.malloc_trim(0) == 1
    assert mem.cur_brk < high
    assert heap.malloc_trim(0) == 0  # nothing left to give
    heap.check()


# --- calloc --------------------------------------------------------------------------------


def test_calloc_clears_recycled_memory(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(2000)
    heap.malloc(10)  # keeps p off the top chunk
    mem.store(p, b"\xaa" * 2000)
    heap.free(p)
    q = heap.calloc(4, 500)
    assert q == p
    assert mem.load(q, 2000) == bytes(2000)


def test_calloc_clears_fastbin_and_smallbin_chunks(heap: GlibcHeap, mem: FlatMemory) -> None:
    ptrs = [heap.malloc(100) for _ in range(9)]
    for p in ptrs:
        mem.store(p, b"\x55" * 100)
        heap.free(p)
    q = heap.calloc(1, 100)  # calloc skips the tcache: this one is recycled
    assert q in ptrs[7:]
    assert mem.load(q, 100) == bytes(100)


class CountingMemory(FlatMemory):
    """Counts the bytes stored (to see what calloc clears)."""

    stored = 0

    def store(self, va: int, data: bytes) -> None:
        self.stored += len(data)
        super().store(va, data)


def test_calloc_does_not_clear_fresh_memory_from_the_kernel() -> None:
    mem = CountingMemory()
    heap = GlibcHeap(mem)
    heap.malloc(100 * KiB)  # leaves about 32 KiB of top
    before = mem.stored
    p = heap.calloc(1, 100 * KiB)  # top grows by brk: only its old 32 KiB are cleared
    assert p and mem.stored - before < 40 * KiB
    before = mem.stored
    q = heap.calloc(1, 300 * KiB)  # mmapped: zero already
    assert q and mem.stored - before < 1000
    assert mem.load(p, 100 * KiB) == bytes(100 * KiB)


@pytest.mark.parametrize(("count", "size"), [(1 << 32, 1 << 32), (1 << 63, 2), (-1, 8)])
def test_calloc_overflow_is_null_with_enomem(heap: GlibcHeap, count: int, size: int) -> None:
    assert heap.calloc(count, size) == 0
    assert heap.errno == errno.ENOMEM


def test_calloc_of_nothing_is_a_unique_pointer(heap: GlibcHeap) -> None:
    assert heap.calloc(0, 8) and heap.calloc(8, 0)


# --- realloc and reallocf --------------------------------------------------------------------


def test_realloc_null_is_malloc(heap: GlibcHeap) -> None:
    p = heap.realloc(0, 100)
    assert p and heap.malloc_usable_size(p) >= 100


def test_realloc_to_zero_frees_and_returns_null(heap: GlibcHeap) -> None:
    p = heap.malloc(100)
    assert heap.realloc(p, 0) == 0
    assert where(heap, p) == "tcache"


def test_realloc_shrinks_in_place_and_frees_the_tail(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(1000)
    mem.store(p, bytes(range(200)))
    heap.malloc(10)
    assert heap.realloc(p, 200) == p
    assert mem.load(p, 200) == bytes(range(200))
    assert heap.malloc_usable_size(p) == 200  # chunk of 208: 200 bytes + next prev_size
    tail = next(c for c in heap.chunks() if c.addr == p - 16 + 208)
    assert not tail.in_use


def test_realloc_grows_into_top_in_place(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(100)
    mem.store(p, b"x" * 100)
    assert heap.realloc(p, 5000) == p
    assert mem.load(p, 100) == b"x" * 100


def test_realloc_grows_into_a_free_neighbour(heap: GlibcHeap, mem: FlatMemory) -> None:
    p, q = heap.malloc(2000), heap.malloc(2000)
    heap.malloc(10)
    mem.store(p, b"y" * 2000)
    heap.free(q)
    assert heap.realloc(p, 3500) == p
    assert mem.load(p, 2000) == b"y" * 2000
    heap.check()


def test_realloc_moves_and_copies_when_it_cannot_grow(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(100)
    heap.malloc(10)
    mem.store(p, bytes(range(100)))
    q = heap.realloc(p, 3000)
    assert q != p
    assert mem.load(q, 100) == bytes(range(100))
    assert where(heap, p) == "tcache"


def test_realloc_failure_keeps_the_block(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(100)
    mem.store(p, b"k" * 100)
    assert heap.realloc(p, 1 << 63) == 0
    assert heap.errno == errno.ENOMEM
    assert mem.load(p, 100) == b"k" * 100 and where(heap, p) == "in use"


def test_realloc_of_an_mmapped_block_keeps_contents(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(200 * KiB)
    mem.store(p, b"m" * 1000)
    q = heap.realloc(p, 400 * KiB)
    assert mem.load(q, 1000) == b"m" * 1000
    r = heap.realloc(q, 100)  # shrinks the mapping to one page: still mapped
    assert r == q and not in_heap(mem, r) and mem.load(r, 100) == b"m" * 100
    assert heap.mallinfo().hblkhd == 4096
    heap.check()


def test_reallocf_frees_the_block_when_it_fails(heap: GlibcHeap) -> None:
    p = heap.malloc(100)
    assert heap.reallocf(p, 1 << 63) == 0
    assert where(heap, p) == "tcache"


def test_reallocf_success_and_zero_size_free_once(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(100)
    q = heap.reallocf(p, 50)
    assert q == p and where(heap, q) == "in use"
    assert heap.reallocf(q, 0) == 0  # realloc freed it; reallocf must not free again
    assert mem.dead is None and where(heap, q) == "tcache"


# --- aligned allocation ------------------------------------------------------------------


@pytest.mark.parametrize("alignment", [1, 2, 8, 16, 32, 64, 256, 4096, 65536])
def test_aligned_alloc_aligns(heap: GlibcHeap, alignment: int) -> None:
    heap.malloc(1)
    p = heap.aligned_alloc(alignment, 100)
    assert p and p % max(alignment, 16) == 0 and heap.malloc_usable_size(p) >= 100
    heap.check()


@pytest.mark.parametrize("alignment", [0, 3, 24, 48, 100])
def test_aligned_alloc_rejects_non_powers_of_two(heap: GlibcHeap, alignment: int) -> None:
    assert heap.aligned_alloc(alignment, 100) == 0
    assert heap.errno == errno.EINVAL


def test_memalign_rounds_a_non_power_of_two_up(heap: GlibcHeap) -> None:
    heap.malloc(1)
    assert heap.memalign(48, 10) % 64 == 0


@pytest.mark.parametrize("alignment", [8, 16, 32, 4096])
def test_posix_memalign_aligns(heap: GlibcHeap, alignment: int) -> None:
    err, p = heap.posix_memalign(alignment, 50)
    assert err == 0 and p % alignment == 0


@pytest.mark.parametrize("alignment", [0, 4, 12, 24, 40])
def test_posix_memalign_rejects_bad_alignments(heap: GlibcHeap, alignment: int) -> None:
    assert heap.posix_memalign(alignment, 50) == (errno.EINVAL, 0)


def test_posix_memalign_reports_enomem(heap: GlibcHeap) -> None:
    assert heap.posix_memalign(64, 1 << 63) == (errno.ENOMEM, 0)


def test_valloc_and_pvalloc_are_page_aligned(heap: GlibcHeap) -> None:
    heap.malloc(1)
    v = heap.valloc(10)
    pv = heap.pvalloc(10)
    assert v % 4096 == 0 and pv % 4096 == 0
    assert heap.malloc_usable_size(pv) >= 4096
    heap.check()


def test_aligned_blocks_from_the_mmapped_path(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.aligned_alloc(65536, 300 * KiB)
    assert p % 65536 == 0 and not in_heap(mem, p)
    heap.free(p)
    assert heap.mallinfo().hblks == 0
    heap.check()


# --- usable size, out of memory, events --------------------------------------------------


def test_malloc_usable_size_of_null_and_freed(heap: GlibcHeap) -> None:
    assert heap.malloc_usable_size(0) == 0
    p = heap.malloc(3000)
    heap.malloc(10)
    heap.free(p)
    assert heap.malloc_usable_size(p) == 0


def test_out_of_memory_is_null_with_enomem_and_a_sound_heap() -> None:
    mem = FlatMemory(limit=512 * KiB)
    heap = GlibcHeap(mem)
    ptrs = []
    while p := heap.malloc(10 * KiB):
        ptrs.append(p)
    assert heap.errno == errno.ENOMEM
    assert 30 < len(ptrs) < 52
    heap.check()
    for p in ptrs:
        heap.free(p)
    heap.check()
    assert heap.malloc(10 * KiB)


def test_brk_failure_falls_back_to_mmapped_heap_pieces() -> None:
    mem = FlatMemory(heap_max=200 * KiB)
    heap = GlibcHeap(mem)
    ptrs = [heap.malloc(50 * KiB) for _ in range(8)]
    assert all(ptrs)
    assert any(not in_heap(mem, p) for p in ptrs)  # some came from mmap as morecore
    heap.check()
    for p in ptrs:
        heap.free(p)
    heap.check()
    assert sum(c.size for c in heap.chunks() if c.in_use) == 656  # only the tcache left


def test_each_call_is_logged_with_its_result(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(24)
    heap.free(p)
    calls = [e for e in mem.events if isinstance(e, LibcCall)]
    assert [(c.func, c.args, c.result) for c in calls] == [
        ("malloc", "24", p),
        ("free", hex(p), 0),
    ]


def test_system_calls_are_those_strace_shows_for_glibc(heap: GlibcHeap, mem: FlatMemory) -> None:
    heap.malloc(24)  # brk(NULL), then brk(start + 0x21000)
    heap.malloc(24)  # served from top: no system call
    p = heap.malloc(200 * KiB)  # mmap
    heap.free(p)  # munmap
    start = mem.heap_base
    assert mem.syscalls[1:] == [
        ("sbrk", 0),
        ("brk", start + 0x21000),
        ("mmap", 200 * KiB + 4096),
        ("munmap", 200 * KiB + 4096),
    ]
    assert mem.syscalls[0] == ("mmap", 4096)  # libc's data page, at start-up
