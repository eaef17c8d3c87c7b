"""Stack frames: push, alloca, pop, the canary, unwinding, and running into the guard gap."""

from __future__ import annotations

import pytest
from flatmem import STACK_TOP, FlatMemory

from vmsim.errors import HeapCorruption, SegmentationFault
from vmsim.events import StackFrame
from vmsim.libc.stack import RETURN_ADDRESS, Stack


@pytest.fixture
def stack(mem: FlatMemory) -> Stack:
    return Stack(mem)


def test_call_pushes_a_frame_and_return_pops_it(stack: Stack, mem: FlatMemory) -> None:
    with stack.call(100) as frame:
        assert mem.sp == frame.sp == frame.addr
        assert frame.addr % 16 == 0
        assert frame.addr + 100 <= frame.base - 8  # locals below the canary
        assert int.from_bytes(mem.load(STACK_TOP - 8, 8), "little") == RETURN_ADDRESS
        assert STACK_TOP - frame.addr >= 100 + 16
        mem.store(frame.addr, b"x" * 100)
        assert stack.depth == 1
    assert mem.sp == STACK_TOP and stack.depth == 0
    ops = [(e.op, e.size, e.sp) for e in mem.events if isinstance(e, StackFrame)]
    assert ops == [("push", 100, frame.addr), ("pop", 100, STACK_TOP)]


def test_nested_frames_go_down_and_come_back(stack: Stack, mem: FlatMemory) -> None:
    with stack.call(64) as outer:
        with stack.call(64) as inner:
            assert inner.addr < outer.addr and inner.entry_sp == outer.sp
            saved_fp = int.from_bytes(mem.load(inner.base, 8), "little")
            assert saved_fp == outer.base
        assert mem.sp == outer.sp
    assert mem.sp == STACK_TOP


def test_alloca_takes_aligned_memory_from_the_frame(stack: Stack, mem: FlatMemory) -> None:
    with stack.call(32) as frame:
        a = frame.alloca(10)
        b = frame.alloca(100)
        assert a == frame.addr - 16 and b == a - 112
        assert mem.sp == b and b % 16 == 0
        mem.store(b, b"y" * 100)
    assert mem.sp == STACK_TOP


def test_alloca_only_in_the_innermost_frame(stack: Stack) -> None:
    with stack.call(16) as outer, stack.call(16), pytest.raises(RuntimeError):
        outer.alloca(8)


def test_overflowing_a_local_buffer_is_stack_smashing(stack: Stack, mem: FlatMemory) -> None:
    smashing = r"\*\*\* stack smashing detected \*\*\*"
    with pytest.raises(HeapCorruption, match=smashing), stack.call(16) as frame:
        mem.store(frame.addr, b"A" * 40)  # 16-byte buffer, 40 bytes written
    assert mem.dead


def test_without_the_protector_nothing_checks(mem: FlatMemory) -> None:
    stack = Stack(mem, protector=False)
    with stack.call(16) as frame:
        mem.store(frame.addr, b"A" * 16)
        assert frame.base - frame.addr == 16
    assert mem.sp == STACK_TOP


def test_an_exception_unwinds_without_checking(stack: Stack, mem: FlatMemory) -> None:
    with pytest.raises(KeyError), stack.call(16) as frame:
        mem.store(frame.addr, b"A" * 40)
        raise KeyError("thrown")
    assert mem.sp == STACK_TOP and stack.depth == 0 and mem.dead is None


def test_recursing_past_the_stack_limit_is_a_segfault() -> None:
    mem = FlatMemory(stack_limit=256 * 1024)
    stack = Stack(mem)
    depth = 0

    def recurse() -> None:
        nonlocal depth
        with stack.call(3000) as frame:
            depth += 1
            mem.store(frame.addr, bytes(8))
            recurse()

    with pytest.raises(SegmentationFault) as info:
        recurse()
    assert info.value.address < mem.stack_bottom
    assert 80 <= depth <= 90  # 256 KiB / (3000 + 24 bytes a frame)


def test_a_huge_frame_is_probed_so_it_cannot_jump_the_guard() -> None:
    mem = FlatMemory(stack_limit=64 * 1024)
    with pytest.raises(SegmentationFault), Stack(mem).call(1 << 20):
        pass
    assert mem.sp == STACK_TOP


def test_frames_must_be_left_in_order(stack: Stack) -> None:
    outer = stack.call(16)
    inner = stack.call(16)
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(RuntimeError):
        outer.__exit__(None, None, None)


class TracingMemory(FlatMemory):
    """Remembers the address of every store."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: list[int] = []

    def store(self, va: int, data: bytes) -> None:
        self.stores.append(va)
        super().store(va, data)


def test_the_call_itself_is_the_first_touch() -> None:
    mem = TracingMemory()
    stack = Stack(mem)
    with stack.call(10000):
        pass
    first = mem.stores[0]
    assert first == STACK_TOP - 8  # the return address
    pages = {a // 4096 for a in mem.stores}
    assert len(pages) == 3  # the frame spans three pages; each is probed on the way down
