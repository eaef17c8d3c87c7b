"""Context switches: TLB flushes without ASIDs, tagged entries with them."""

from __future__ import annotations

import vmsim

PAGE = 4096


def _two(asid_bits: int) -> tuple[vmsim.Machine, vmsim.Process, vmsim.Process, int, int]:
    m = vmsim.Machine(memory="1MiB", tlb_entries=16, tlb_ways=4, asid_bits=asid_bits)
    a, b = m.spawn("a"), m.spawn("b")
    va, vb = a.mmap(PAGE), b.mmap(PAGE)
    a.store(va, b"A")
    b.store(vb, b"B")
    return m, a, b, va, vb


def test_without_asids_every_switch_flushes() -> None:
    m, a, b, va, vb = _two(0)
    assert m.stats.context_switches == 1
    hits, misses = m.stats.tlb_hit, m.stats.tlb_miss
    for _ in range(5):
        a.load(va, 1)
        b.load(vb, 1)
    assert m.stats.context_switches == 11
    assert m.stats.tlb_miss - misses == 10 and m.stats.tlb_hit == hits
    assert m.stats.tlb_flushes == 11


def test_with_asids_entries_survive_switches() -> None:
    m, a, b, va, vb = _two(8)
    assert a.asid != b.asid and a.asid > 0
    misses = m.stats.tlb_miss
    for _ in range(5):
        a.load(va, 1)
        b.load(vb, 1)
    assert m.stats.context_switches == 11 and m.stats.tlb_miss == misses
    assert m.stats.tlb_flushes == 0


def test_same_va_in_two_processes_with_asids() -> None:
    m = vmsim.Machine(memory="1MiB", asid_bits=4)
    a, b = m.spawn(), m.spawn()
    va = a.mmap(PAGE)
    assert b.mmap(PAGE) == va
    a.store(va, b"a")
    b.store(va, b"b")
    for _ in range(3):
        assert a.load(va, 1) == b"a" and b.load(va, 1) == b"b"


def test_asid_rollover_flushes_and_stays_correct() -> None:
    m = vmsim.Machine(memory="2MiB", asid_bits=2)  # ASIDs 1..3
    procs = [m.spawn() for _ in range(5)]
    vas = [p.mmap(PAGE) for p in procs]
    for rnd in range(3):
        for i, (p, va) in enumerate(zip(procs, vas, strict=True)):
            p.store(va, bytes([rnd * 10 + i]))
        for i, (p, va) in enumerate(zip(procs, vas, strict=True)):
            assert p.load(va, 1) == bytes([rnd * 10 + i])
    assert m.stats.tlb_flushes > 0
    assert all(1 <= p.asid <= 3 for p in procs)


def test_unmap_in_another_process_flushes_its_tagged_entry() -> None:
    m = vmsim.Machine(memory="1MiB", asid_bits=8)
    a, b = m.spawn(), m.spawn()
    va = a.mmap(PAGE)
    a.store(va, b"x")
    b.load(b.mmap(PAGE), 1)  # b runs now; a's entry stays cached under a's ASID
    assert any(e.asid == a.asid for e in m.kernel.tlb.contents())
    a.munmap(va, PAGE)
    assert not any(e.asid == a.asid and e.vpn == va >> 12 for e in m.kernel.tlb.contents())


def test_tlb_hit_needs_no_walk() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"x")
    walks = m.stats.walks
    for _ in range(10):
        p.load(va, 8)
    assert m.stats.walks == walks and m.stats.tlb_hit >= 10


def test_first_write_after_read_sets_dirty_in_memory() -> None:
    m = vmsim.Machine(memory="1MiB")
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"x")
    pte = p.pte(va)
    assert pte is not None and pte.accessed and pte.dirty
    p.mprotect(va, PAGE, "r")
    p.mprotect(va, PAGE, "rw")
    raw_before = p.pte(va)
    assert raw_before is not None and not raw_before.writable
    p.store(va, b"y")
    after = p.pte(va)
    assert after is not None and after.writable and after.dirty
