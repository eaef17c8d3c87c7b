"""The TLB model against a naive set-associative LRU TLB, and its configuration."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmsim.engine.tlb import TlbConfig, TlbLevel, simulate_tlb
from vmsim.errors import ConfigError


class NaiveTlb:
    """Sets of OrderedDicts in LRU order."""

    def __init__(self, entries: int, ways: int) -> None:
        self.nsets = 1 if ways == 0 else entries // ways
        self.assoc = entries if ways == 0 else ways
        self.sets = [OrderedDict[int, None]() for _ in range(self.nsets)]

    def access(self, vpn: int) -> bool:
        s = self.sets[vpn % self.nsets]
        if vpn in s:
            s.move_to_end(vpn)
            return True
        if len(s) == self.assoc:
            s.popitem(last=False)
        s[vpn] = None
        return False


@given(
    st.lists(st.integers(0, 2**34), min_size=0, max_size=300),
    st.sampled_from([(1, 0), (4, 0), (4, 2), (8, 4), (16, 1)]),
    st.sampled_from([None, (16, 0), (32, 4)]),
    st.sampled_from([12, 21, 30]),
)
def test_matches_naive_model(
    addrs: list[int], l1: tuple[int, int], l2: tuple[int, int] | None, shift: int
) -> None:
    cfg = TlbConfig(TlbLevel(*l1), TlbLevel(*l2) if l2 else None, 1 << shift)
    vpns = [a >> shift for a in addrs]
    res = simulate_tlb([np.array(vpns[:100], np.int64), np.array(vpns[100:], np.int64)], cfg)
    t1 = NaiveTlb(*l1)
    t2 = NaiveTlb(*l2) if l2 else None
    m1 = m2 = 0
    for v in vpns:
        if not t1.access(v):
            m1 += 1
            if t2 is not None and not t2.access(v):
                m2 += 1
    assert res.references == len(vpns)
    assert res.l1_misses == m1
    assert res.l2_misses == (m2 if l2 else None)
    assert res.walks == (m2 if l2 else m1)


def test_reach_and_dict() -> None:
    cfg = TlbConfig(TlbLevel(64, 4), TlbLevel(1536, 12), 2 << 20)
    res = simulate_tlb([np.array([1, 2, 1], np.int64)], cfg)
    assert res.reach(1) == 64 * 2 * 2**20 and res.reach(2) == 1536 * 2 * 2**20
    d = res.to_dict()
    assert d["l1"]["misses"] == 2 and d["l2"]["misses"] == 2 and d["walks"] == 2


def test_huge_pages_cut_misses() -> None:
    rng = np.random.default_rng(0)
    addrs = rng.integers(0, 1 << 30, 20_000).astype(np.uint64)  # 1 GiB of random data
    out = {}
    for ps in (1 << 12, 1 << 21, 1 << 30):
        cfg = TlbConfig(TlbLevel(64, 4), None, ps)
        out[ps] = simulate_tlb(
            [(addrs >> np.uint64(cfg.page_shift)).astype(np.int64)], cfg
        ).l1_misses
    assert out[1 << 12] > out[1 << 21] > out[1 << 30] == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: TlbLevel(0, 0),
        lambda: TlbLevel(64, 5),
        lambda: TlbLevel(64, -1),
        lambda: TlbConfig(TlbLevel(64, 4), None, 3000),
        lambda: TlbConfig(TlbLevel(64, 4), None, 1 << 31),
    ],
)
def test_bad_configuration(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]
