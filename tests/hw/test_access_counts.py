"""Exact hardware counts of small access sequences, for every page-table format.

The model (x86's, and DESIGN.md's one access path): an access looks up the TLB. A hit
that allows the access is done. A miss walks the table once; a walk that finds no
valid, permitted PTE raises the page fault without filling the TLB; the kernel handles
the fault and the access is retried, which misses again (the handler flushed, or
nothing was cached) and walks once more and fills. So one first touch is 2 TLB misses,
2 walks, 1 fill and 1 page fault, and the log shows the miss/walk pair once before the
fault and once after. A write that hits a read-only entry faults from the entry (no
walk); a write that hits a writable entry whose D is still clear walks to set D.

Walk lengths: a fresh process has only its root table, so the first walk of a first
touch reads one PTE (the empty root entry) and stops; the fault allocates the lower
tables, so the retry reads one PTE per level (x86_64 4, sv39 3, x86_32 2, linear 1).
Every number below is worked out by hand in the comments, not read from the code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import vmsim
from vmsim.cli.main import main
from vmsim.events import PageFault, TlbFill, TlbHit, TlbMiss, Walk
from vmsim.hw.ptformat import machine_formats, make_format

PAGE = 4096
LEVELS = {name: make_format(name, PAGE, 1 << 22).levels for name in machine_formats()}
"""Levels per format, from the one registry (linear: one flat table)."""
MMU_EVENTS = (TlbHit, TlbMiss, Walk, TlbFill, PageFault)


def _machine(paging: str, **options: Any) -> vmsim.Machine:
    """A machine of this format with an event log; linear gets a 4 MiB address space."""
    opts: dict[str, Any] = {"paging": paging, "memory": "256KiB", "record_events": True}
    if paging == "linear":
        opts["address_space"] = "4MiB"
    opts.update(options)
    return vmsim.Machine(**opts)


def _counts(m: vmsim.Machine, run: Callable[[], object]) -> dict[str, Any]:
    """What run() cost: counters, fills, walk lengths and the MMU's event sequence."""
    s = m.stats
    before = (s.tlb_hit, s.tlb_miss, s.walks, s.pgfault, len(m.events))
    run()
    new = [e for e in m.events[before[4] :] if isinstance(e, MMU_EVENTS)]
    return {
        "hit": s.tlb_hit - before[0],
        "miss": s.tlb_miss - before[1],
        "walks": s.walks - before[2],
        "faults": s.pgfault - before[3],
        "fills": sum(isinstance(e, TlbFill) for e in new),
        "walk_ptes": [len(e.steps) for e in new if isinstance(e, Walk)],
        "log": [type(e).__name__ for e in new],
    }


FIRST_TOUCH_LOG = ["TlbMiss", "Walk", "PageFault", "TlbMiss", "Walk", "TlbFill"]


@pytest.mark.parametrize("paging", machine_formats())
@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_first_touch(paging: str, write: bool) -> None:
    # miss, walk (root entry empty: 1 PTE), fault; retry: miss, walk (L PTEs), fill
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(PAGE)
    c = _counts(m, lambda: p.store(va, b"x") if write else p.load(va, 1))
    assert (c["hit"], c["miss"], c["walks"], c["fills"], c["faults"]) == (0, 2, 2, 1, 1)
    assert c["walk_ptes"] == [1, LEVELS[paging]]
    assert c["log"] == FIRST_TOUCH_LOG
    assert m.stats.zero_page_map == (0 if write else 1)


@pytest.mark.parametrize("paging", machine_formats())
def test_read_then_write_of_the_zero_page(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(PAGE)
    read = _counts(m, lambda: p.load(va, 1))
    # the read: as a first touch, and the TLB now holds the read-only zero-page entry
    assert (read["miss"], read["walks"], read["fills"], read["faults"]) == (2, 2, 1, 1)
    write = _counts(m, lambda: p.store(va, b"x"))
    # the write hits that read-only entry and faults from it without a walk; do_wp_page
    # maps a fresh frame (flushing the entry); the retry misses, walks (L PTEs), fills
    assert (write["hit"], write["miss"], write["walks"], write["fills"]) == (1, 1, 1, 1)
    assert write["faults"] == 1 and write["walk_ptes"] == [LEVELS[paging]]
    assert write["log"] == ["TlbHit", "PageFault", "TlbMiss", "Walk", "TlbFill"]
    assert p.load(va, 1) == b"x"


@pytest.mark.parametrize("paging", machine_formats())
def test_cow_write_after_fork(paging: str) -> None:
    m = _machine(paging)
    parent = m.spawn()
    va = parent.mmap(PAGE)
    parent.store(va, b"p")
    child = parent.fork()
    c = _counts(m, lambda: child.store(va, b"c"))
    # the child's first access: its TLB is empty (the switch flushed it); the walk finds
    # the present read-only COW PTE (L PTEs: uvm_copy built the tables) and faults;
    # do_wp_page copies the frame; the retry misses, walks (L PTEs) and fills
    assert (c["hit"], c["miss"], c["walks"], c["fills"], c["faults"]) == (0, 2, 2, 1, 1)
    assert c["walk_ptes"] == [LEVELS[paging]] * 2
    assert m.stats.cow_copy == 1
    assert parent.load(va, 1) == b"p" and child.load(va, 1) == b"c"


@pytest.mark.parametrize("paging", machine_formats())
def test_swap_in(paging: str) -> None:
    m = _machine(paging, swap="64KiB")
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"s")
    assert m.swap_out_process(p.pid) == 1
    c = _counts(m, lambda: p.load(va, 1))
    # the walk reaches the leaf (L PTEs) and finds a swap entry; the major fault reads
    # the page back; the retry misses, walks (L PTEs) and fills
    assert (c["hit"], c["miss"], c["walks"], c["fills"], c["faults"]) == (0, 2, 2, 1, 1)
    assert c["walk_ptes"] == [LEVELS[paging]] * 2 and c["log"] == FIRST_TOUCH_LOG
    assert (m.stats.pswpin, m.stats.pgmajfault, p.stats.maj_flt) == (1, 1, 1)


@pytest.mark.parametrize("paging", machine_formats())
def test_tlb_hits(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"h")  # the entry is filled writable and dirty
    for access in (lambda: p.load(va, 1), lambda: p.store(va, b"i")):
        c = _counts(m, access)
        assert (c["hit"], c["miss"], c["walks"], c["fills"], c["faults"]) == (1, 0, 0, 0, 0)
        assert c["log"] == ["TlbHit"]


@pytest.mark.parametrize("paging", machine_formats())
def test_tlb_eviction(paging: str) -> None:
    m = _machine(paging, tlb_entries=2, tlb_ways=0)  # 2 entries, fully associative, LRU
    p = m.spawn()
    va = p.mmap(3 * PAGE)
    a, b, c_ = va, va + PAGE, va + 2 * PAGE
    for page in (a, b, c_):
        p.store(page, b"e")  # each fills; c's fill evicts a (the least recent)
    again = _counts(m, lambda: p.load(a, 1))
    # a is mapped but no longer cached: one miss, one full walk, one fill (evicting b)
    assert (again["hit"], again["miss"], again["walks"], again["fills"]) == (0, 1, 1, 1)
    assert again["faults"] == 0 and again["walk_ptes"] == [LEVELS[paging]]
    assert _counts(m, lambda: p.load(c_, 1))["hit"] == 1  # c stayed
    assert _counts(m, lambda: p.load(b, 1))["miss"] == 1  # b went


# --- the bits the MMU sets ---------------------------------------------------------------


@pytest.mark.parametrize("paging", machine_formats())
def test_accessed_bit_on_a_read_and_on_a_fetch(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    data, text = p.mmap(PAGE), p.mmap(PAGE, "rx")
    p.load(data, 1)
    p.fetch(text, 1)
    for va in (data, text):
        pte = p.pte(va)
        assert pte is not None and pte.accessed and not pte.dirty


@pytest.mark.parametrize("paging", machine_formats())
def test_dirty_bit_on_a_write_that_misses_the_tlb(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(2 * PAGE)
    p.store(va, b"d")
    pte = p.pte(va)
    assert pte is not None and pte.accessed and pte.dirty and pte.writable


@pytest.mark.parametrize("paging", machine_formats())
def test_dirty_bit_on_a_write_that_hits_the_tlb(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(PAGE, shared=True)  # a shared page is mapped writable on a read fault
    p.load(va, 1)
    pte = p.pte(va)
    assert pte is not None and pte.writable and pte.accessed and not pte.dirty
    c = _counts(m, lambda: p.store(va, b"D"))
    # the entry is cached writable but clean: a hit, then a walk that sets D, a refill
    assert (c["hit"], c["miss"], c["walks"], c["fills"], c["faults"]) == (1, 0, 1, 1, 0)
    pte = p.pte(va)
    assert pte is not None and pte.dirty
    assert _counts(m, lambda: p.store(va, b"E"))["walks"] == 0  # now dirty in the TLB too


@pytest.mark.parametrize("paging", machine_formats())
def test_accessed_bit_comes_back_after_the_kernel_clears_it(paging: str) -> None:
    m = _machine(paging)
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"a")
    pte = p.pte(va)
    assert pte is not None
    assert m.kernel.reclaimer.refbits.test_and_clear(pte.frame)  # clears A, flushes the entry
    cleared = p.pte(va)
    assert cleared is not None and not cleared.accessed and cleared.dirty
    c = _counts(m, lambda: p.load(va, 1))
    assert (c["miss"], c["walks"], c["faults"]) == (1, 1, 0)  # the flush made it miss
    again = p.pte(va)
    assert again is not None and again.accessed


def test_replay_tlb_misses_are_the_tlb_models_plus_the_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With frames for every page, the machine misses once more per fault (the retry)."""
    pages = [(i * 7919) % 300 for i in range(3000)] + list(range(0, 300, 3)) * 5
    trace = tmp_path / "refs.txt"
    trace.write_text(
        "".join(f"{(0x10000 + p) << 12 | 8 * (i % 512):#x}\n" for i, p in enumerate(pages))
    )
    geometry = ["--tlb-entries", "16", "--tlb-ways", "4"]
    assert main(["replay", str(trace), "-f", "1024", "--json", *geometry]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert main(["tlb", str(trace), "--entries", "16", "--ways", "4", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)  # one result per TLB geometry
    assert run["faults"] == 300  # one per distinct page: nothing is ever evicted
    assert run["tlb_misses"] == model["l1"]["misses"] + run["faults"]
