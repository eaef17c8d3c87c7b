"""A stateful property test: long random runs of the whole memory API against a model.

The malloc family, C++ new/new[]/delete/delete[] and stack frames with alloca, on one
process. The model is a dict of live blocks (pointer -> the bytes written into it,
its alignment, how it must be released) and a list of stack frames (with the bytes
written into each). After every step: heap.check() passes, every live block and
frame reads back exactly what was written, no two live blocks overlap, each block
has the alignment asked for, and sp is where the innermost frame left it. The
memory is capped, so out-of-memory paths (NULL + ENOMEM, bad_alloc) are exercised.
"""

from __future__ import annotations

import errno
import itertools
import random

from flatmem import FlatMemory
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from vmsim.errors import BadAlloc
from vmsim.libc.cxx import COOKIE_SIZE, CxxRuntime
from vmsim.libc.malloc import GlibcHeap
from vmsim.libc.stack import Frame, Stack

SIZES = st.one_of(
    st.integers(0, 130),
    st.integers(0, 1100),
    st.integers(1000, 70_000),
    st.integers(130_000, 400_000),
)
ALIGNMENTS = st.sampled_from([8, 16, 32, 64, 128, 4096, 65536])


class HeapModel(RuleBasedStateMachine):
    """GlibcHeap on a 3 MiB process versus a dict of live blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.mem = FlatMemory(limit=3 << 20, record=False)
        self.heap = GlibcHeap(self.mem)
        self.cxx = CxxRuntime(self.mem, self.heap)
        self.stack = Stack(self.mem)
        self.stack_top = self.mem.stack_top
        self.live: dict[int, tuple[bytes, int]] = {}
        self.cxx_live: dict[int, tuple[bytes, str, int]] = {}
        """C++ objects and arrays: pointer -> (bytes, "new" | "new[]" | "cookie", count)."""
        self.frames: list[tuple[Frame, list[tuple[int, bytes]]]] = []
        self.counter = 0

    # --- helpers ----------------------------------------------------------------------

    def fill(self, p: int, size: int, align: int = 16) -> None:
        self.counter += 1
        data = random.Random(self.counter).randbytes(size)
        self.mem.store(p, data)
        self.live[p] = (data, align)

    def allocated(self, p: int, size: int, align: int = 16) -> None:
        if p == 0:
            assert self.heap.errno == errno.ENOMEM
            return
        assert p not in self.live
        assert self.heap.malloc_usable_size(p) >= size
        self.fill(p, size, align)

    def pick(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.live)))

    def pattern(self, size: int) -> bytes:
        self.counter += 1
        return random.Random(self.counter).randbytes(size)

    # --- rules ----------------------------------------------------------------------

    @rule(size=SIZES)
    def malloc(self, size: int) -> None:
        self.allocated(self.heap.malloc(size), size)

    @rule(count=st.integers(0, 16), size=SIZES)
    def calloc(self, count: int, size: int) -> None:
        size //= max(count, 1)
        p = self.heap.calloc(count, size)
        if p:
            assert self.mem.load(p, count * size) == bytes(count * size)
        self.allocated(p, count * size)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), size=SIZES, freeing=st.booleans())
    def realloc(self, data: st.DataObject, size: int, freeing: bool) -> None:
        p = self.pick(data)
        old, _ = self.live[p]
        q = self.heap.reallocf(p, size) if freeing else self.heap.realloc(p, size)
        if q == 0 and size != 0 and not freeing:
            assert self.heap.errno == errno.ENOMEM
            return  # the old block is untouched
        del self.live[p]
        if q:
            keep = min(len(old), size)
            assert self.mem.load(q, keep) == old[:keep]
            self.allocated(q, size)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        p = self.pick(data)
        del self.live[p]
        self.heap.free(p)

    @rule()
    def free_null(self) -> None:
        self.heap.free(0)

    @rule(kind=st.sampled_from(["aligned_alloc", "posix_memalign", "memalign", "valloc"]),
          alignment=ALIGNMENTS, size=SIZES)  # fmt: skip
    def aligned(self, kind: str, alignment: int, size: int) -> None:
        if kind == "posix_memalign":
            err, p = self.heap.posix_memalign(alignment, size)
            assert (err == 0) == (p != 0)
        elif kind == "valloc":
            p, alignment = self.heap.valloc(size), 4096
        else:
            p = getattr(self.heap, kind)(alignment, size)
        if p:
            assert p % alignment == 0
        self.allocated(p, size, max(alignment, 16))

    @precondition(lambda self: self.live)
    @rule(data=st.data(), chunk=st.binary(min_size=1, max_size=64))
    def write(self, data: st.DataObject, chunk: bytes) -> None:
        p = self.pick(data)
        old, align = self.live[p]
        if not old:
            return
        at = data.draw(st.integers(0, len(old) - 1))
        chunk = chunk[: len(old) - at]
        self.mem.store(p + at, chunk)
        self.live[p] = (old[:at] + chunk + old[at + len(chunk) :], align)

    @rule(size=SIZES, nothrow=st.booleans())
    def cxx_new(self, size: int, nothrow: bool) -> None:
        init = self.pattern(size)
        try:
            p = self.cxx.new(size, init=init, nothrow=nothrow)
        except BadAlloc:
            assert not nothrow
            return
        if p:
            self.cxx_live[p] = (init, "new", 1)

    @rule(count=st.integers(0, 20), size=st.integers(1, 300), cookie=st.booleans())
    def cxx_new_array(self, count: int, size: int, cookie: bool) -> None:
        init = self.pattern(size)
        p = self.cxx.new_array(count, size, init=init, cookie=cookie, nothrow=True)
        if p:
            if cookie:
                assert int.from_bytes(self.mem.load(p - COOKIE_SIZE, 8), "little") == count
            self.cxx_live[p] = (init * count, "cookie" if cookie else "new[]", count)

    @precondition(lambda self: self.cxx_live)
    @rule(data=st.data())
    def cxx_delete(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(sorted(self.cxx_live)))
        _, kind, count = self.cxx_live.pop(p)
        if kind == "new":
            self.cxx.delete(p)
        else:
            assert self.cxx.delete_array(p, cookie=kind == "cookie") == (
                count if kind == "cookie" else 0
            )

    @rule(size=st.integers(0, 6000))
    def push_frame(self, size: int) -> None:
        frame = self.stack.call(size)
        frame.__enter__()
        content = self.pattern(size)
        self.mem.store(frame.addr, content)
        self.frames.append((frame, [(frame.addr, content)]))

    @precondition(lambda self: self.frames)
    @rule(n=st.integers(0, 5000))
    def alloca(self, n: int) -> None:
        frame, blocks = self.frames[-1]
        p = frame.alloca(n)
        content = self.pattern(n)
        self.mem.store(p, content)
        blocks.append((p, content))

    @precondition(lambda self: self.frames)
    @rule()
    def pop_frame(self) -> None:
        frame, _ = self.frames.pop()
        frame.__exit__(None, None, None)
        assert self.mem.sp == frame.entry_sp

    @rule(pad=st.sampled_from([0, 4096, 1 << 17]))
    def trim(self, pad: int) -> None:
        self.heap.malloc_trim(pad)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def heap_is_consistent(self) -> None:
        self.heap.check()

    @invariant()
    def blocks_keep_their_contents_and_alignment(self) -> None:
        for p, (content, align) in self.live.items():
            assert p % align == 0
            assert self.mem.load(p, len(content)) == content

    @invariant()
    def cxx_objects_and_stack_frames_keep_their_contents(self) -> None:
        for p, (content, _, _) in self.cxx_live.items():
            assert self.mem.load(p, len(content)) == content
        for _, blocks in self.frames:
            for p, content in blocks:
                assert self.mem.load(p, len(content)) == content
        assert self.mem.sp == (self.frames[-1][0].sp if self.frames else self.stack_top)

    @invariant()
    def blocks_do_not_overlap(self) -> None:
        blocks = [(p, c) for p, (c, _) in self.live.items()] + [
            (p - COOKIE_SIZE, bytes(COOKIE_SIZE) + c) if kind == "cookie" else (p, c)
            for p, (c, kind, _) in self.cxx_live.items()
        ]
        spans = sorted((p, p + max(len(c), 1)) for p, c in blocks)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start

    @invariant()
    def mallinfo_adds_up(self) -> None:
        info = self.heap.mallinfo()
        assert info.uordblks + info.fordblks == info.arena
        assert info.in_use + info.free == info.arena + info.hblkhd
        assert 0.0 <= info.fragmentation < 1.0


HeapModel.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestHeapModel = HeapModel.TestCase
