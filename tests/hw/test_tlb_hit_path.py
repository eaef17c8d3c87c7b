"""The TLB-hit path of Process.load/store counts exactly as the full access path does.

A machine with an event log always takes the full path (load -> _access -> translate ->
TLB lookup); one without takes the short path (Process._tlb_hit: the TLB looked up
inline, translate only when it does not allow the access). The same random program
on both must leave the same counters, TLB contents, PTE bytes, clock and data; and the
hand-worked hit sequences give their exact counts without a log too.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

import vmsim
from vmsim.errors import VmsimError
from vmsim.hw.ptformat import machine_formats

PAGE = 4096
CONFIGS = [
    {"paging": "x86_64"},
    {"paging": "sv39", "asid_bits": 8},
    {"paging": "x86_32", "tlb_entries": 2, "tlb_ways": 0},
    {"paging": "linear", "address_space": "4MiB", "tlb_entries": 0},
    {"paging": "x86_64", "policy": "lru"},  # an exact-LRU policy: the per-access hook
    {"paging": "x86_64", "policy": "aging", "tick_interval": 7},  # timer ticks
]


def _run(config: dict[str, Any], log: bool, seed: int) -> dict[str, Any]:
    """Run one random program of loads, stores, forks, mprotects and swap-outs."""
    m = vmsim.Machine(memory="64KiB", swap="256KiB", record_events=log, **config)
    rng = random.Random(seed)
    procs: list[vmsim.Process] = []
    every: list[vmsim.Process] = []
    out: list[object] = []
    for _ in range(150):
        procs = [p for p in procs if p.alive]
        if not procs:  # the first one, or all were killed (a write to a read-only page)
            procs.append(m.spawn())
            every.append(procs[-1])
            base = procs[-1].mmap(6 * PAGE)
        p = rng.choice(procs)
        try:
            for _ in range(rng.randrange(1, 20)):  # a burst of accesses by p
                va = base + rng.randrange(6 * PAGE - 16)
                if rng.random() < 0.5:
                    out.append(p.load(va, rng.choice((1, 8, 16))))
                else:
                    p.store(va, rng.randbytes(rng.choice((1, 8, 16))))
            op = rng.random()
            if op < 0.1 and len(procs) < 3:
                procs.append(p.fork())
                every.append(procs[-1])
            elif op < 0.2:
                p.mprotect(base + rng.randrange(6) * PAGE, PAGE, rng.choice(("r", "rw")))
            elif op < 0.25:
                m.swap_out_process(p.pid)
        except VmsimError as e:
            out.append(type(e).__name__)
    live = [p for p in every if p.alive]
    return {
        "out": out,
        "vmstat": dataclasses.asdict(m.stats),
        "procs": [dataclasses.asdict(p.stats) for p in every],
        "tlb": m.kernel.tlb.contents(),
        "ptes": [p.pte(base + i * PAGE) for p in live for i in range(6)],
        "clock": m.kernel.clock,
        "physmem": (m.kernel.mem.reads, m.kernel.mem.writes),
    }


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("seed", [1, 2])
def test_hit_path_counts_as_the_full_path(config: dict[str, Any], seed: int) -> None:
    full, short = _run(config, True, seed), _run(config, False, seed)
    has_tlb = config.get("tlb_entries", 16) > 0
    assert (full["vmstat"]["tlb_hit"] > 100) == has_tlb  # the program does hit the TLB
    assert short == full


def _hw(m: vmsim.Machine) -> tuple[int, int, int, int]:
    """(TLB hits, TLB misses, walks, page faults) so far."""
    return m.stats.tlb_hit, m.stats.tlb_miss, m.stats.walks, m.stats.pgfault


@pytest.mark.parametrize("paging", machine_formats())
def test_hits_without_an_event_log(paging: str) -> None:
    m = vmsim.Machine(paging=paging, memory="256KiB", address_space=_space(paging))
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"h")  # first touch: 2 misses, 2 walks, 1 fault; filled writable, dirty
    assert _hw(m) == (0, 2, 2, 1)
    assert p.load(va, 1) == b"h"  # a hit
    p.store(va + 1, b"i")  # a hit: the entry is dirty
    assert _hw(m) == (2, 2, 2, 1)
    assert p.load(va, 2) == b"hi"
    assert (m.kernel.clock, p.stats.cpu_accesses) == (4, 4)


@pytest.mark.parametrize("paging", machine_formats())
def test_a_write_hitting_a_clean_entry_walks_to_set_dirty_without_a_log(paging: str) -> None:
    m = vmsim.Machine(paging=paging, memory="256KiB", address_space=_space(paging))
    p = m.spawn()
    va = p.mmap(PAGE, shared=True)  # a shared page is mapped writable on a read fault
    p.load(va, 1)  # 2 misses, 2 walks, 1 fault: cached writable but clean
    p.store(va, b"D")  # a hit, then a walk that sets D (and refills)
    assert _hw(m) == (1, 2, 3, 1)
    pte = p.pte(va)
    assert pte is not None and pte.dirty
    p.store(va, b"E")  # a hit on the refilled, dirty entry: no walk
    assert _hw(m) == (2, 2, 3, 1)


def _space(paging: str) -> str | None:
    """linear gets a 4 MiB address space; the others have a fixed one."""
    return "4MiB" if paging == "linear" else None
