"""From references to pages: the README convention, data-only, split at page boundaries."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vmsim.kinds import INSTR
from vmsim.trace import Trace
from vmsim.trace.pages import to_pages

refs = st.lists(
    st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 3), st.integers(0, 9000)), max_size=60
)


def _naive(rows: list[tuple[int, int, int]], shift: int, data_only: bool, split: bool) -> list[int]:
    out: list[int] = []
    for a, k, s in rows:
        if data_only and k == INSTR:
            continue
        first = a >> shift
        last = (min(a + max(s, 1) - 1, 2**64 - 1) >> shift) if split else first
        out.extend(range(first, last + 1))
    return out


@given(refs, st.integers(0, 30), st.booleans(), st.booleans())
def test_to_pages_matches_its_definition(
    rows: list[tuple[int, int, int]], shift: int, data_only: bool, split: bool
) -> None:
    a = np.array([r[0] for r in rows], np.uint64)
    k = np.array([r[1] for r in rows], np.uint8)
    s = np.array([r[2] for r in rows], np.uint32)
    pages, kinds = to_pages(a, k, s, shift, data_only=data_only, split=split)
    assert pages.view(np.uint64).tolist() == _naive(rows, shift, data_only, split)
    assert len(kinds) == len(pages)


def test_trace_from_arrays() -> None:
    t = Trace.from_arrays(
        np.array([0x1FFF, 0x2000, 0x3FFE]), np.array([0, 1, 2]), np.array([2, 1, 4])
    )
    assert t.pages().tolist() == [1, 2, 3]
    assert t.pages(split=True).tolist() == [1, 2, 2, 3, 4]
    assert t.pages(data_only=True).tolist() == [2, 3]
    assert t.pages(page_shift=13).tolist() == [0, 1, 1]


def test_synthetic_traces_are_deterministic_and_shaped() -> None:
    from vmsim.trace.synth import loop_pages, uniform_pages, zipf_pages

    a = zipf_pages(100_000, 1000, 0.9, seed=3)
    assert (a == zipf_pages(100_000, 1000, 0.9, seed=3)).all()
    assert not (a == zipf_pages(100_000, 1000, 0.9, seed=4)).all()
    assert a.min() >= 0 and a.max() < 1000
    counts = np.sort(np.bincount(a, minlength=1000))[::-1]
    # rank 1 vs rank 10 frequency ratio is about 10**0.9 = 7.9
    assert 6 < counts[0] / counts[9] < 10
    u = uniform_pages(100_000, 50, seed=1)
    assert set(np.unique(u)) == set(range(50))
    assert loop_pages(7, 3).tolist() == [0, 1, 2, 0, 1, 2, 0]
