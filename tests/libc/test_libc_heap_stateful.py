"""A stateful property test: long random runs of the whole malloc API against a model.

The model is a dict of live blocks (pointer -> the bytes written into it). After
every step: heap.check() passes, every live block reads back exactly what was
written, no two live blocks overlap, and each block has the alignment asked for.
The memory is capped, so out-of-memory paths (NULL + ENOMEM) are exercised too.
"""

from __future__ import annotations

import errno
import itertools
import random

from flatmem import FlatMemory
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from vmsim.libc.malloc import GlibcHeap

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
        self.live: dict[int, tuple[bytes, int]] = {}
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
    def blocks_do_not_overlap(self) -> None:
        spans = sorted((p, p + max(len(c), 1)) for p, (c, _) in self.live.items())
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start

    @invariant()
    def mallinfo_adds_up(self) -> None:
        info = self.heap.mallinfo()
        assert info.uordblks + info.fordblks == info.arena
        assert info.in_use + info.free == info.arena + info.hblkhd
        assert 0.0 <= info.fragmentation < 1.0


HeapModel.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestHeapModel = HeapModel.TestCase
