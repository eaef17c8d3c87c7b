"""Dense page ids: the direct table, the hash table, and the move from one to the other."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vmsim.engine.ids import DIRECT_SPAN, PageIdMap, dense_ids, ids_of_chunks


def first_appearance(pages: list[int]) -> list[int]:
    """The id of each page, numbered in order of first appearance (the oracle)."""
    order: dict[int, int] = {}
    return [order.setdefault(p, len(order)) for p in pages]


@given(
    st.lists(st.one_of(st.integers(-50, 50), st.integers(-(2**63), 2**63 - 1)), max_size=300),
    st.integers(1, 40),
)
def test_streamed_ids_number_pages_in_order_of_first_appearance(
    pages: list[int], chunk: int
) -> None:
    m = PageIdMap()
    arr = np.array(pages, np.int64)
    got = [int(i) for k in range(0, len(arr), chunk) for i in m.map(arr[k : k + chunk])]
    assert got == first_appearance(pages)
    assert m.n_ids == len(set(pages))
    assert m.pages_by_id().tolist() == list(dict.fromkeys(pages))


def test_compact_pages_stay_in_the_direct_table_growing_both_ways() -> None:
    m = PageIdMap()
    assert m.map(np.array([1000, 1002, 1000])).tolist() == [0, 1, 0]
    assert m.map(np.array([990, 1002, 1010])).tolist() == [2, 1, 3]
    assert m.table is not None
    assert m.pages_by_id().tolist() == [1000, 1002, 990, 1010]


def test_a_far_page_moves_the_map_to_hashing_keeping_the_ids() -> None:
    m = PageIdMap()
    m.map(np.arange(100, 110))
    far = 100 + 4 * DIRECT_SPAN
    assert m.map(np.array([far, 105, far, 111])).tolist() == [10, 5, 10, 11]
    assert m.table is None
    assert m.pages_by_id().tolist() == [*range(100, 110), far, 111]


def test_hash_table_doubles_many_times() -> None:
    pages = (np.arange(50_000, dtype=np.int64) * 1_000_003) ^ (1 << 50)
    ids, n, m = ids_of_chunks([pages[:7], pages[7:], pages[::-1]])
    assert n == 50_000 and m.table is None
    assert ids[:50_000].tolist() == list(range(50_000))
    assert ids[50_000:].tolist() == list(range(49_999, -1, -1))


def test_uint64_pages_above_2_63_are_distinct_pages() -> None:
    pages = np.array([2**64 - 1, 5, 2**64 - 1, 2**63], np.uint64)
    ids, n, m = ids_of_chunks([pages])
    assert ids.tolist() == [0, 1, 0, 2] and n == 3
    assert m.pages_by_id().view(np.uint64).tolist() == [2**64 - 1, 5, 2**63]


def test_dense_ids_of_an_array_number_pages_by_first_appearance() -> None:
    ids, n = dense_ids(np.array([12, 7, 9, 7, 12], np.uint32))
    assert ids.dtype == np.int32 and ids.tolist() == [0, 1, 2, 1, 0] and n == 3


def test_dense_ids_of_a_sparse_array_are_those_of_the_map() -> None:
    pages = np.array([2**40, 3, 2**40, 2**20, 3], np.int64)
    ids, n = dense_ids(pages)
    assert ids.tolist() == [0, 1, 0, 2, 1] and n == 3


def test_read_only_pages_map_in_place_direct_and_hashed() -> None:
    compact = np.array([7, 3, 7, 9], np.int64)
    sparse = np.array([2**40, 3, 2**40], np.uint64)
    for a in (compact, sparse):
        a.flags.writeable = False
    m = PageIdMap()
    assert m.map(compact).tolist() == [0, 1, 0, 2]
    assert m.map(sparse).tolist() == [3, 1, 3]
    assert m.table is None  # the second chunk went through the hash table
