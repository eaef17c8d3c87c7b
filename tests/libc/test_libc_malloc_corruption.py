"""Corrupted metadata is caught where glibc catches it (cases whose setup needs addresses).

The cases that need no addresses are compared with the real glibc in
test_libc_glibc_offsets.py; these build the corruption from the heap's own pointers.
"""

from __future__ import annotations

import pytest
from flatmem import FlatMemory

from vmsim.errors import HeapCorruption, SimulatedSignal
from vmsim.libc.malloc import GlibcHeap


def word(v: int) -> bytes:
    return (v % (1 << 64)).to_bytes(8, "little")


def aborts(heap: GlibcHeap, message: str) -> pytest.RaisesContext[HeapCorruption]:
    return pytest.raises(
        HeapCorruption, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")
    )


def test_abort_is_sigabrt_and_kills_the_process(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(24)
    heap.free(p)
    with pytest.raises(HeapCorruption) as info:
        heap.free(p)
    assert isinstance(info.value, SimulatedSignal) and info.value.signal_name == "SIGABRT"
    assert info.value.glibc_message == "free(): double free detected in tcache 2"
    assert mem.dead == info.value.glibc_message


def test_forged_fd_in_a_binned_chunk(heap: GlibcHeap, mem: FlatMemory) -> None:
    a, b = heap.malloc(2000), heap.malloc(2000)
    heap.malloc(10)
    heap.free(b)  # b waits in the unsorted bin
    mem.store(b, word(a - 16))  # b->fd = a's chunk, whose bk is not b
    with aborts(heap, "corrupted double-linked list"):
        heap.free(a)  # coalescing forward unlinks b


def test_forged_bk_in_the_unsorted_bin(heap: GlibcHeap, mem: FlatMemory) -> None:
    a = heap.malloc(2000)
    heap.malloc(10)
    heap.free(a)
    mem.store(a + 8, word(a + 64))  # a->bk points into nowhere useful
    with aborts(heap, "malloc(): unsorted double linked list corrupted"):
        heap.malloc(3000)


def test_forged_bk_in_a_small_bin(heap: GlibcHeap, mem: FlatMemory) -> None:
    pairs = [(heap.malloc(200), heap.malloc(10)) for _ in range(9)]
    for p, _guard in pairs:
        heap.free(p)  # 7 to the tcache, 2 to the unsorted bin (200 > max fast)
    heap.malloc(3000)  # sorts the 2 into the 208-byte small bin
    victim = pairs[7][0]  # the oldest: the next one the small bin gives out
    mem.store(victim + 8, word(pairs[0][1] - 16))  # victim->bk: a chunk whose fd is not victim
    for _ in range(7):
        heap.malloc(200)  # empty the tcache
    with aborts(heap, "malloc(): smallbin double linked list corrupted"):
        heap.malloc(200)


def test_poisoned_tcache_next_pointer(heap: GlibcHeap, mem: FlatMemory) -> None:
    a, b = heap.malloc(24), heap.malloc(24)
    heap.free(a)
    heap.free(b)  # tcache: b -> a, b's next protected by Safe-Linking
    mem.store(b, word((b >> 12) ^ 0x5555_5555_0008))  # reveals to a misaligned address
    assert heap.malloc(24) == b
    with aborts(heap, "malloc(): unaligned tcache chunk detected"):
        heap.malloc(24)


def test_tcache_double_free_found_deep_in_the_bin(heap: GlibcHeap) -> None:
    ptrs = [heap.malloc(60) for _ in range(5)]
    for p in ptrs:
        heap.free(p)
    with aborts(heap, "free(): double free detected in tcache 2"):
        heap.free(ptrs[0])  # at the far end of the list


def test_check_finds_a_corrupted_footer(heap: GlibcHeap, mem: FlatMemory) -> None:
    a = heap.malloc(2000)
    heap.malloc(10)
    heap.free(a)
    heap.check()
    mem.store(a + 2000, word(1234))
    with pytest.raises(HeapCorruption, match="heap check: footer"):
        heap.check()


def test_check_finds_a_chunk_lost_from_the_bins(heap: GlibcHeap, mem: FlatMemory) -> None:
    a = heap.malloc(2000)
    heap.malloc(10)
    heap.free(a)
    bin_head = heap.unsorted_chunks()
    heap.set_fd(bin_head, bin_head)  # empty the unsorted bin behind malloc's back
    heap.set_bk(bin_head, bin_head)
    with pytest.raises(HeapCorruption, match="heap check: free chunk on no bin"):
        heap.check()


def test_check_finds_a_wrong_tcache_count(heap: GlibcHeap) -> None:
    heap.free(heap.malloc(24))
    heap.set_tc_count(heap.tcache(), 0, 3)
    with pytest.raises(HeapCorruption, match="heap check: tcache bin 0 has 1 entries, count 3"):
        heap.check()


def test_check_finds_an_overwritten_size(heap: GlibcHeap, mem: FlatMemory) -> None:
    p = heap.malloc(100)
    heap.malloc(100)
    mem.store(p - 8, word(0x1001))
    with pytest.raises(HeapCorruption, match="heap check"):
        heap.check()
