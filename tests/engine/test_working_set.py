"""W(t, tau) against its definition; footprint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmsim.engine.prepared import Prepared
from vmsim.engine.working_set import working_set
from vmsim.errors import ConfigError


@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=120), st.integers(1, 30), st.integers(1, 7)
)
def test_matches_definition(pages: list[int], tau: int, step: int) -> None:
    ws = working_set(Prepared.from_pages(np.array(pages)), tau, step)
    naive = [len(set(pages[max(0, t - tau + 1) : t + 1])) for t in range(len(pages))]
    assert ws.times.tolist() == list(range(step, len(pages) + 1, step))
    assert ws.sizes.tolist() == [naive[t - 1] for t in ws.times]
    assert ws.mean == pytest.approx(sum(naive) / len(naive))
    assert ws.peak == max(naive)
    assert ws.distinct_pages == len(set(pages))


def test_loop_working_set() -> None:
    pages = np.tile(np.arange(50), 40)
    ws = working_set(Prepared.from_pages(pages), tau=100)
    assert ws.peak == 50 and ws.sizes[-1] == 50
    d = ws.to_dict()
    assert d["footprint_bytes"] == 50 * 4096 and len(d["samples"]) == len(ws.times)


def test_bad_window() -> None:
    with pytest.raises(ConfigError):
        working_set(Prepared.from_pages(np.arange(5)), 0)
    with pytest.raises(ConfigError):
        working_set(Prepared.from_pages(np.arange(5)), 3, 0)
