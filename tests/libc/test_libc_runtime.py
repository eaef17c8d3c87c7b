"""Libc, the bundle a Process delegates to; and how it follows a fork."""

from __future__ import annotations

import copy

from flatmem import FlatMemory

from vmsim.libc import Libc
from vmsim.libc.malloc import GlibcHeap


def test_libc_wires_heap_cxx_and_stack() -> None:
    mem = FlatMemory()
    libc = Libc(mem, top_pad=0)
    assert isinstance(libc.heap, GlibcHeap)
    p = libc.cxx.new(24, init=b"x")
    assert libc.heap.malloc_usable_size(p) == 24
    with libc.stack.call(32) as frame:
        assert mem.sp == frame.addr


def fork_memory(mem: FlatMemory) -> FlatMemory:
    """A child's memory: a copy of every byte (what copy-on-write looks like from inside)."""
    child = copy.deepcopy(mem)
    child.events = []
    return child


def test_a_forked_child_continues_the_parents_heap() -> None:
    mem = FlatMemory()
    parent = Libc(mem)
    kept = parent.heap.malloc(100)
    freed = parent.heap.malloc(100)
    parent.heap.free(freed)
    with parent.stack.call(64):
        child = parent.fork(fork_memory(mem))
        assert child.stack.depth == 1 and child.mem.sp == mem.sp
    assert child.heap.malloc(100) == freed  # the child's tcache came along
    assert parent.heap.malloc(100) == freed  # and the parent's is its own
    child.heap.free(kept)
    child.heap.check()
    parent.heap.check()
    assert parent.heap.malloc_usable_size(kept) == 104  # still in use in the parent
