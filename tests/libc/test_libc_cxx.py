"""C++ new and delete: operator new's handler loop, bad_alloc, nothrow, arrays, events."""

from __future__ import annotations

import pytest
from flatmem import FlatMemory

from vmsim.errors import BadAlloc
from vmsim.events import Construct, LibcCall
from vmsim.libc.cxx import CxxRuntime
from vmsim.libc.malloc import GlibcHeap


@pytest.fixture
def cxx(heap: GlibcHeap, mem: FlatMemory) -> CxxRuntime:
    return CxxRuntime(mem, heap)


def calls(mem: FlatMemory) -> list[str]:
    return [e.func for e in mem.events if isinstance(e, LibcCall)]


def test_new_allocates_with_malloc_then_constructs(cxx: CxxRuntime, mem: FlatMemory) -> None:
    p = cxx.new(24, init=b"hello")
    assert p and mem.load(p, 5) == b"hello"
    assert calls(mem) == ["operator new", "malloc"]
    construct = [e for e in mem.events if isinstance(e, Construct)]
    assert construct == [Construct(mem.pid, p, 24)]
    assert mem.events.index(construct[0]) > len(mem.events) - 2  # after both calls
    cxx.delete(p)
    assert calls(mem)[-2:] == ["operator delete", "free"]


def test_constructor_can_be_a_callable(cxx: CxxRuntime, mem: FlatMemory) -> None:
    seen: list[int] = []

    def ctor(addr: int) -> None:
        seen.append(addr)
        mem.store(addr, (42).to_bytes(8, "little"))

    p = cxx.new(16, init=ctor)
    assert seen == [p] and int.from_bytes(mem.load(p, 8), "little") == 42


def test_new_of_zero_bytes_is_a_unique_object(cxx: CxxRuntime, mem: FlatMemory) -> None:
    a, b = cxx.new(0), cxx.new(0)
    assert a and b and a != b
    malloc_args = [e.args for e in mem.events if isinstance(e, LibcCall) and e.func == "malloc"]
    assert malloc_args == ["1", "1"]


def test_failed_new_throws_bad_alloc_and_constructs_nothing(
    cxx: CxxRuntime, mem: FlatMemory
) -> None:
    ran: list[int] = []
    with pytest.raises(BadAlloc):
        cxx.new(1 << 62, init=ran.append)
    assert ran == []
    assert not any(isinstance(e, Construct) for e in mem.events)


def test_nothrow_new_returns_null(cxx: CxxRuntime) -> None:
    ran: list[int] = []
    assert cxx.new(1 << 62, nothrow=True, init=ran.append) == 0
    assert ran == []


def test_new_handler_is_called_until_it_frees_enough() -> None:
    mem = FlatMemory(limit=600 * 1024)
    heap = GlibcHeap(mem)
    cxx = CxxRuntime(mem, heap)
    hoard = [heap.malloc(100 * 1024) for _ in range(4)]
    assert all(hoard)
    rounds: list[int] = []

    def release() -> None:
        rounds.append(len(hoard))
        heap.free(hoard.pop())

    assert cxx.set_new_handler(release) is None
    p = cxx.new(250 * 1024)
    assert p and len(rounds) >= 2  # malloc failed, handler freed, retried...
    assert calls(mem).count("operator new") == 1


def test_new_handler_that_gives_up_lets_bad_alloc_through(cxx: CxxRuntime) -> None:
    count = 0

    def handler() -> None:
        nonlocal count
        count += 1
        if count == 3:
            cxx.set_new_handler(None)

    cxx.set_new_handler(handler)
    with pytest.raises(BadAlloc):
        cxx.new(1 << 62)
    assert count == 3


def test_new_handler_runs_for_nothrow_new_too(cxx: CxxRuntime) -> None:
    count = 0

    def handler() -> None:
        nonlocal count
        count += 1
        cxx.set_new_handler(None)

    cxx.set_new_handler(handler)
    assert cxx.new(1 << 62, nothrow=True) == 0
    assert count == 1


def test_array_with_a_destructor_has_a_cookie(
    cxx: CxxRuntime, mem: FlatMemory, heap: GlibcHeap
) -> None:
    destroyed: list[int] = []
    p = cxx.new_array(5, 12, init=b"ab", destructor=destroyed.append)
    assert int.from_bytes(mem.load(p - 8, 8), "little") == 5
    assert heap.malloc_usable_size(p - 8) >= 5 * 12 + 8
    assert [mem.load(p + 12 * i, 2) for i in range(5)] == [b"ab"] * 5
    assert cxx.delete_array(p, size=12, destructor=destroyed.append) == 5
    assert destroyed == [p + 12 * i for i in reversed(range(5))]
    assert calls(mem) == [
        "operator new[]",
        "operator new",
        "malloc",
        "malloc_usable_size",
        "operator delete[]",
        "operator delete",
        "free",
    ]


def test_trivial_array_has_no_cookie(cxx: CxxRuntime, heap: GlibcHeap) -> None:
    p = cxx.new_array(4, 8)
    assert heap.malloc_usable_size(p) == 40  # 32 bytes asked, chunk of 48: no cookie
    assert cxx.delete_array(p) == 0


def test_array_size_overflow_is_bad_alloc(cxx: CxxRuntime) -> None:
    with pytest.raises(BadAlloc):
        cxx.new_array(1 << 62, 8, cookie=True)
    assert cxx.new_array(1 << 62, 8, nothrow=True) == 0


def test_placement_new_allocates_nothing(cxx: CxxRuntime, mem: FlatMemory, heap: GlibcHeap) -> None:
    buf = heap.malloc(64)
    before = calls(mem)
    assert cxx.placement_new(buf + 16, init=b"xyz") == buf + 16
    assert calls(mem) == before
    assert mem.load(buf + 16, 3) == b"xyz"
    assert [e for e in mem.events if isinstance(e, Construct)] == [Construct(mem.pid, buf + 16, 3)]


def test_delete_of_null_does_nothing(cxx: CxxRuntime, mem: FlatMemory) -> None:
    cxx.delete(0, destructor=lambda _p: pytest.fail("destructor ran"))
    assert cxx.delete_array(0) == 0
    assert calls(mem) == []


def test_destructor_runs_before_operator_delete(cxx: CxxRuntime, mem: FlatMemory) -> None:
    p = cxx.new(32)
    order: list[str] = []
    cxx.delete(p, destructor=lambda _p: order.append(f"dtor, calls so far {len(calls(mem))}"))
    assert order == ["dtor, calls so far 2"]
    assert calls(mem)[2:] == ["operator delete", "free"]


def test_constructor_bytes_must_fit(cxx: CxxRuntime) -> None:
    with pytest.raises(ValueError):
        cxx.new(4, init=b"too long")
