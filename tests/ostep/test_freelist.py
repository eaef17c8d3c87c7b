"""The textbook free list (vmsim.libc.freelist): OSTEP malloc.py's rules, as properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmsim.errors import ConfigError
from vmsim.libc.freelist import FITS, ORDERS, ChunkCollision, FreeList

BASE, SIZE = 1000, 200

ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(1, 60)),
        st.tuples(st.just("free"), st.integers(0, 30)),
        st.tuples(st.just("extend"), st.integers(1, 50)),
    ),
    max_size=60,
)


def _heap(draw_fit: str, order: str, coalesce: bool, header: int, align: int) -> FreeList:
    return FreeList(BASE, SIZE, fit=draw_fit, order=order, coalesce=coalesce, header=header,
                    align=align)  # fmt: skip


def _check_tiling(h: FreeList) -> None:
    """Free entries and live chunks cover [BASE, BASE + size) exactly, without overlap."""
    spans = sorted(h.entries() + list(h.live().items()))
    assert all(size > 0 for _, size in spans)
    pos = BASE
    for addr, size in spans:
        assert addr == pos, f"gap or overlap at {addr} (expected {pos}): {spans}"
        pos += size
    assert pos == BASE + h.size
    assert h.free_bytes() + sum(h.live().values()) == h.size


def _run(h: FreeList, ops: list[tuple[str, int]], after_free: object = None) -> None:
    """Apply ops (free picks a live chunk by index, or a bogus address when none is live)."""
    for op, n in ops:
        if op == "alloc":
            before = h.entries()
            addr, searched = h.alloc(n)
            if addr == -1:
                assert h.entries() == before and searched == len(before)
        elif op == "extend":
            h.extend(n)
            if callable(after_free):
                after_free(h)
        else:
            live = sorted(h.live())
            target = live[n % len(live)] if live else BASE + SIZE + n
            before = h.entries()
            rc = h.free(target)
            assert rc == (0 if live else -1)
            if rc == -1:
                assert h.entries() == before
            elif callable(after_free):
                after_free(h)
        _check_tiling(h)


@given(
    fit=st.sampled_from(FITS),
    order=st.sampled_from(ORDERS),
    coalesce=st.booleans(),
    header=st.sampled_from([0, 4]),
    align=st.sampled_from([-1, 4, 8]),
    ops=ops_strategy,
)
def test_free_space_and_chunks_tile_the_heap(
    fit: str, order: str, coalesce: bool, header: int, align: int, ops: list[tuple[str, int]]
) -> None:
    _run(_heap(fit, order, coalesce, header, align), ops)


def _no_adjacent_entries(h: FreeList) -> None:
    e = h.entries()
    assert e == sorted(e)
    assert all(a + s != b for (a, s), (b, _) in itertools.pairwise(e)), e


@given(fit=st.sampled_from(FITS), ops=ops_strategy)
def test_addrsort_with_coalescing_leaves_no_two_adjacent_free_entries(
    fit: str, ops: list[tuple[str, int]]
) -> None:
    _run(_heap(fit, "addrsort", True, 0, -1), ops, after_free=_no_adjacent_entries)


@given(fit=st.sampled_from(FITS), coalesce=st.booleans(), ops=ops_strategy)
def test_addrsort_list_stays_address_ordered(
    fit: str, coalesce: bool, ops: list[tuple[str, int]]
) -> None:
    h = _heap(fit, "addrsort", coalesce, 0, -1)
    _run(h, ops, after_free=lambda x: None)
    assert h.entries() == sorted(h.entries())


@pytest.mark.parametrize(("order", "key", "rev"), [("sizesort+", 1, False), ("sizesort-", 1, True)])
@given(ops=ops_strategy)
def test_sizesort_orders_the_list_after_each_free(
    order: str, key: int, rev: bool, ops: list[tuple[str, int]]
) -> None:
    def sorted_by_size(h: FreeList) -> None:
        sizes = [e[key] for e in h.entries()]
        assert sizes == sorted(sizes, reverse=rev)

    _run(_heap("first", order, False, 0, -1), ops, after_free=sorted_by_size)


def _list(entries: list[tuple[int, int]], fit: str) -> FreeList:
    """A free list holding exactly `entries` (in that order), built by hand."""
    h = FreeList(0, 10_000, fit=fit, order="insert-back")
    h._free = list(entries)
    return h


@given(st.lists(st.integers(1, 40), min_size=1, max_size=8), st.integers(1, 40))
def test_fits_choose_as_defined(sizes: list[int], need: int) -> None:
    entries = []
    addr = 0
    for s in sizes:
        entries.append((addr, s))
        addr += s + 100
    fitting = [i for i, (_, s) in enumerate(entries) if s >= need]
    for fit in ("first", "best", "worst"):
        addr_got, searched = _list(entries, fit).alloc(need)
        if not fitting:
            assert (addr_got, searched) == (-1, len(entries))
            continue
        if fit == "first":
            want = fitting[0]
            assert searched == want + 1
        else:
            pick = min if fit == "best" else max
            best = pick(entries[i][1] for i in fitting)
            want = next(i for i in fitting if entries[i][1] == best)  # earliest on ties
            assert searched == len(entries)
        assert addr_got == entries[want][0]


def test_split_keeps_the_remainder_in_place_and_exact_fit_removes() -> None:
    h = _list([(0, 10), (100, 5), (200, 30)], "best")
    assert h.alloc(5) == (100, 3)
    assert h.entries() == [(0, 10), (200, 30)]
    assert h.alloc(4) == (0, 2)
    assert h.entries() == [(4, 6), (200, 30)]


def test_alignment_pads_the_size_then_the_header_is_added() -> None:
    h = FreeList(1000, 100, header=4, align=4)
    assert h.chunk_size(3) == 8 and h.chunk_size(4) == 8 and h.chunk_size(5) == 12
    assert h.alloc(3) == (1000, 1)
    assert h.entries() == [(1008, 92)]


def test_free_unknown_or_twice_is_minus_one() -> None:
    h = FreeList(0, 100)
    a, _ = h.alloc(10)
    assert h.free(a + 1) == -1
    assert h.free(a) == 0
    assert h.free(a) == -1
    assert h.entries() == [(0, 10), (10, 90)]


def test_only_list_neighbours_coalesce() -> None:
    # insert-back puts a freed chunk at the end: its address neighbour is not its list neighbour
    h = FreeList(0, 30, fit="first", order="insert-back", coalesce=True)
    a, b, c = (h.alloc(10)[0] for _ in range(3))
    assert h.free(c) == 0 and h.free(a) == 0
    assert h.entries() == [(20, 10), (0, 10)]
    assert h.free(b) == 0  # [20..30) [0..10) [10..20): only the last two touch in list order
    assert h.entries() == [(20, 10), (0, 20)]


def test_next_fit_starts_where_the_last_allocation_ended() -> None:
    h = FreeList(0, 100, fit="next", order="addrsort")
    ptrs = [h.alloc(10)[0] for _ in range(5)]  # 0, 10, 20, 30, 40; free: [50, 100)
    h.free(ptrs[0])
    h.free(ptrs[2])  # free list: (0,10) (20,10) (50,50); the rover is at 50
    assert h.alloc(5) == (50, 1)  # first fit would have taken 0
    assert h.alloc(10) == (55, 1)  # the rover is at 55
    assert h.alloc(40) == (-1, 3)  # (65,35) is too small, then wraps: (0,10), (20,10)
    assert h.alloc(30) == (65, 1)
    assert h.entries() == [(0, 10), (20, 10), (95, 5)]
    assert h.alloc(8) == (0, 2)  # (95,5) too small, wraps to (0,10)


def test_zero_size_request_that_would_return_a_live_address_is_an_error() -> None:
    h = FreeList(0, 100)
    assert h.alloc(0) == (0, 1)
    with pytest.raises(ChunkCollision):
        h.alloc(5)


@pytest.mark.parametrize(
    "kwargs", [{"fit": "nearest"}, {"order": "random"}, {"align": 0}, {"align": -4}]
)
def test_bad_configuration_is_a_config_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        FreeList(0, 100, **kwargs)  # type: ignore[arg-type]
