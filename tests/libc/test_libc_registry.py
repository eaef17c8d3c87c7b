"""The allocator registry: names, the default, building one, clear errors."""

from __future__ import annotations

import pytest
from flatmem import FlatMemory

from vmsim.errors import ConfigError
from vmsim.libc import DEFAULT_ALLOCATOR, allocator_class, allocator_names, make_allocator
from vmsim.libc.malloc import GlibcHeap


def test_glibc_is_registered_and_the_default() -> None:
    assert DEFAULT_ALLOCATOR == "glibc"
    assert "glibc" in allocator_names()
    assert allocator_class("glibc") is GlibcHeap


def test_make_allocator_passes_options() -> None:
    heap = make_allocator("glibc", FlatMemory(), top_pad=0)
    assert isinstance(heap, GlibcHeap)
    p = heap.malloc(10)
    assert p and heap.mem.cur_brk - heap.mem.heap_base == 4096  # no pad: one page


def test_unknown_allocator_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="allocator='nope'"):
        allocator_class("nope")


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="an option of allocator glibc") as e:
        make_allocator("glibc", FlatMemory(), colour="blue")
    assert e.value.option == "colour"


@pytest.mark.parametrize(
    ("option", "value"), [("mxfast", 500), ("mmap_threshold", 1 << 40), ("top_pad", -1)]
)
def test_bad_tunable_is_a_config_error(option: str, value: int) -> None:
    with pytest.raises(ConfigError, match=option):
        GlibcHeap(FlatMemory(), **{option: value})


def test_tunables_change_behaviour() -> None:
    mem = FlatMemory()
    heap = GlibcHeap(mem, mxfast=0, tcache_count=0)
    ptrs = [heap.malloc(24) for _ in range(3)]
    for p in ptrs[:2]:
        heap.free(p)
    kinds = {c.mem: c.where for c in heap.chunks()}
    assert kinds[ptrs[0]] == "unsorted"  # no tcache, no fastbins: straight to the bins
    assert ptrs[1] not in kinds  # ...and coalesced with its free neighbour
