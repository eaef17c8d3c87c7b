"""TLB: sets and ways, LRU within a set, ASID tags, flushes."""

from __future__ import annotations

from vmsim.hw.tlb import TLB


def test_set_associative_lru() -> None:
    tlb = TLB(entries=4, ways=2)  # 2 sets: even and odd vpns
    for vpn in (0, 2):
        tlb.fill(vpn, 0, 100 + vpn, 0)
    assert tlb.lookup(0, 0) == (100, 0)  # 0 becomes most recent in set 0
    tlb.fill(4, 0, 104, 0)  # evicts 2, the least recent of set 0
    assert (
        tlb.lookup(2, 0) is None and tlb.lookup(0, 0) is not None and tlb.lookup(4, 0) is not None
    )
    tlb.fill(1, 0, 101, 0)  # set 1 untouched by set 0's traffic
    assert len(tlb) == 3


def test_fully_associative() -> None:
    tlb = TLB(entries=3, ways=0)
    for vpn in (10, 20, 30, 40):
        tlb.fill(vpn, 0, vpn, 0)
    assert tlb.lookup(10, 0) is None and {e.vpn for e in tlb.contents()} == {20, 30, 40}


def test_asid_tags_and_flushes() -> None:
    tlb = TLB(entries=8, ways=0)
    tlb.fill(5, 1, 50, 0)
    tlb.fill(5, 2, 51, 0)
    assert tlb.lookup(5, 1) == (50, 0) and tlb.lookup(5, 2) == (51, 0)
    assert tlb.flush_page(5, 1) and not tlb.flush_page(5, 1)
    tlb.fill(6, 2, 60, 0)
    tlb.flush_asid(2)
    assert len(tlb) == 0
    tlb.fill(7, 3, 70, 0)
    tlb.flush_all()
    assert tlb.lookup(7, 3) is None


def test_no_tlb() -> None:
    tlb = TLB(entries=0, ways=0)
    tlb.fill(1, 0, 1, 0)
    assert tlb.lookup(1, 0) is None and len(tlb) == 0
