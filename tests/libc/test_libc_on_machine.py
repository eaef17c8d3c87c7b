"""The C library on the real machine: the first seed's story, the textbook allocator,
stack frames against the stack limit, out-of-memory paths, and the stateful model."""

from __future__ import annotations

import errno

import pytest
from hypothesis import settings
from hypothesis.stateful import invariant
from test_libc_heap_stateful import HeapModel

import vmsim
from vmsim import events as ev
from vmsim.libc.freelist import FreeList

PAGE = 4096


def test_new_an_object_the_whole_story() -> None:
    """new -> operator new -> malloc -> brk -> first store faults the heap in -> constructor
    -> delete -> operator delete -> free, as the event log tells it."""
    m = vmsim.Machine(memory="1MiB", record_events=True)
    p = m.spawn("app")
    start = len(m.events)
    obj = p.new(32, init=b"Widget!\0" * 4)
    assert p.load(obj, 8) == b"Widget!\0"  # the constructor wrote through the MMU
    p.delete(obj)
    log = m.events[start:]

    def first(kind: type, **attrs: object) -> int:
        return next(
            i for i, e in enumerate(log)
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in attrs.items())
        )  # fmt: skip

    new = first(ev.LibcCall, func="operator new")
    malloc = first(ev.LibcCall, func="malloc")
    brk = next(
        i for i, e in enumerate(log) if isinstance(e, ev.Syscall) and e.name == "brk" and i > malloc
    )
    heap_start = m.kernel.procs[p.pid].mm.start_brk
    fault = next(
        i for i, e in enumerate(log)
        if isinstance(e, ev.PageFault) and heap_start <= e.va < heap_start + 33 * PAGE and i > brk
    )  # fmt: skip
    construct = first(ev.Construct, ptr=obj)
    delete = first(ev.LibcCall, func="operator delete")
    free = first(ev.LibcCall, func="free")
    assert new < malloc < brk < fault < construct < delete < free
    assert log[new].result == obj and log[malloc].result == obj and log[free].args == hex(obj)
    assert log[fault].access == "write" and log[fault].reason == "not-present"
    mapped = next(e for e in log[fault:] if isinstance(e, ev.MapPage))
    assert mapped.how == "anon" and mapped.va == log[fault].va & ~(PAGE - 1)


def test_calloc_of_fresh_memory_writes_nothing() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    p.malloc(16)  # set up the heap
    before = p.stats.min_flt
    ptr = p.calloc(1, 200 * 1024)  # above the mmap threshold: fresh zero pages
    assert ptr and p.stats.min_flt - before <= 2  # no clearing stores touched its 50 pages
    assert p.load(ptr + 100 * 1024, 16) == bytes(16)


@pytest.mark.parametrize("fit", ["first", "best", "worst", "next"])
@pytest.mark.parametrize(
    "order", ["addrsort", "sizesort+", "sizesort-", "insert-front", "insert-back"]
)
def test_textbook_allocator_follows_the_free_list_rules(fit: str, order: str) -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn(allocator="textbook", fit=fit, order=order, coalesce=order == "addrsort")
    model = FreeList(
        p.brk(), 0, fit=fit, order=order, coalesce=order == "addrsort", header=16, align=16
    )
    model.extend(PAGE)
    ptrs, expect = [], []
    for i, size in enumerate([100, 20, 300, 50, 8, 700, 30]):
        ptrs.append(p.malloc(size))
        expect.append(model.alloc(size)[0] + 16)
        if i % 2:
            p.free(ptrs[i - 1])
            model.free(expect[i - 1] - 16)
    assert ptrs == expect
    assert [(c.addr, c.size) for c in p.heap.chunks() if not c.in_use] == sorted(
        (a, s) for a, s in model.entries() if s
    )
    p.heap.check()


def test_textbook_heap_grows_with_brk_and_keeps_links_in_memory() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn(allocator="textbook")
    start = p.brk()
    blocks = [p.malloc(1000) for _ in range(10)]
    assert p.brk() - start >= 10 * 1016 and all(blocks)
    for b in blocks[::2]:
        p.free(b)
    free_entries = [c for c in p.heap.chunks() if not c.in_use]
    head = free_entries[0].addr
    assert p.load_int(head) == free_entries[0].size  # the size, in simulated memory
    assert p.load_int(head + 8) == free_entries[1].addr  # the link to the next entry
    p.store_int(head + 8, 0xDEAD0)  # a stray write through a dangling pointer
    with pytest.raises(vmsim.HeapCorruption, match="corrupted free list"):
        p.malloc(10)
    assert not p.alive


def test_textbook_double_free_and_bad_pointer_abort() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn(allocator="textbook")
    a = p.malloc(40)
    p.free(a)
    with pytest.raises(vmsim.HeapCorruption, match=r"free\(\): invalid pointer"):
        p.free(a)
    q = m.spawn(allocator="textbook")
    b = q.malloc(40)
    with pytest.raises(vmsim.HeapCorruption):
        q.free(b + 16)
    with pytest.raises(vmsim.ProcessKilled):
        q.malloc(1)


def test_textbook_alignment() -> None:
    p = vmsim.Machine(memory="1MiB").spawn(allocator="textbook", fit="best")
    for align in (16, 64, 4096):
        ptr = p.aligned_alloc(align, 100)
        assert ptr % align == 0 and p.malloc_usable_size(ptr) >= 100
        p.store(ptr, b"x" * 100)
        p.free(ptr)
    assert p.aligned_alloc(24, 8) == 0 and p.errno == errno.EINVAL
    assert p.valloc(10) % PAGE == 0
    p.heap.check()


def test_recursion_past_the_stack_limit_is_a_segfault() -> None:
    m = vmsim.Machine(memory="4MiB", stack_limit="64KiB")
    p = m.spawn()
    depth = 0

    def recurse() -> None:
        nonlocal depth
        with p.call(1000):
            depth += 1
            recurse()

    with pytest.raises(vmsim.SegmentationFault) as e:
        recurse()
    assert e.value.code == "SEGV_MAPERR" and 55 <= depth <= 64  # 64 KiB / ~1 KiB frames


def test_frames_are_released_when_the_block_ends() -> None:
    p = vmsim.Machine(memory="1MiB").spawn()
    sp = p.sp
    with p.call(128) as frame:
        buf = frame.alloca(256)
        p.store(buf, b"local")
        assert p.sp < sp - 128
    assert p.sp == sp


def test_out_of_memory_paths_under_overcommit_never() -> None:
    m = vmsim.Machine(memory="1MiB", overcommit="never", overcommit_ratio=25)
    p = m.spawn()
    assert p.malloc(1 << 20) == 0 and p.errno == errno.ENOMEM
    calls = []

    def handler() -> None:
        calls.append(1)
        if len(calls) == 3:
            p.set_new_handler(None)

    p.set_new_handler(handler)
    with pytest.raises(vmsim.BadAlloc):
        p.new(1 << 20)
    assert len(calls) == 3
    assert p.new(1 << 20, nothrow=True) == 0
    assert p.malloc(100)  # small requests still fit


class MachineHeapModel(HeapModel):
    """The same model, on a vmsim.Process of a small machine under memory pressure."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = vmsim.Machine(memory="2MiB", swap="4MiB", overcommit="never")
        proc = self.machine.spawn()
        self.stack_top = proc.sp
        self.mem = proc  # type: ignore[assignment]
        self.heap = proc.libc.heap  # type: ignore[assignment]
        self.cxx = proc.libc.cxx
        self.stack = proc.libc.stack

    @invariant()
    def kernel_is_consistent(self) -> None:
        self.machine.check()


MachineHeapModel.TestCase.settings = settings(
    max_examples=15, stateful_step_count=40, deadline=None
)
TestMachineHeapModel = MachineHeapModel.TestCase


def test_calls_are_logged_when_they_start_and_when_they_return() -> None:
    """Each LibcCall is logged before what the call does (brk, faults), its LibcReturn after."""
    m = vmsim.Machine(memory="1MiB", record_events=True)
    p = m.spawn("app")
    p.libc  # noqa: B018 -- set up the C library first
    start = len(m.events)
    obj = p.new(48, init=bytes(48))
    p.delete(obj)
    log = m.events[start:]
    calls = [(type(e).__name__, e.func) for e in log if isinstance(e, ev.LibcCall | ev.LibcReturn)]
    assert calls == [
        ("LibcCall", "operator new"), ("LibcCall", "malloc"), ("LibcReturn", "malloc"),
        ("LibcReturn", "operator new"), ("LibcCall", "operator delete"), ("LibcCall", "free"),
        ("LibcReturn", "free"), ("LibcReturn", "operator delete"),
    ]  # fmt: skip
    kinds = [type(e) for e in log]
    malloc_call, malloc_ret = kinds.index(ev.LibcCall) + 1, kinds.index(ev.LibcReturn)
    brk = next(i for i, e in enumerate(log) if isinstance(e, ev.Syscall) and e.name == "brk")
    fault = kinds.index(ev.PageFault)
    assert malloc_call < brk < fault < malloc_ret < kinds.index(ev.Construct)
    returns = [e for e in log if isinstance(e, ev.LibcReturn)]
    assert [r.result for r in returns[:2]] == [obj, obj] and returns[2].result == 0


def test_a_throwing_new_logs_its_return_as_a_throw() -> None:
    m = vmsim.Machine(memory="1MiB", record_events=True)
    p = m.spawn("app")
    with pytest.raises(vmsim.BadAlloc):
        p.new_array(1 << 62, 16)
    returns = [(e.func, e.result, e.raised) for e in m.events if isinstance(e, ev.LibcReturn)]
    assert returns == [
        ("malloc", 0, ""),
        ("operator new", 0, "std::bad_alloc"),
        ("operator new[]", 0, "std::bad_alloc"),
    ]
