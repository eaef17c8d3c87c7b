"""The built-in demo scenario behind `vmsim demo` (and `make run`).

Two processes on a small machine allocate and touch memory; the event log tells what
happened on the first accesses, and the counters at the end sum it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vmsim.events import Event
from vmsim.machine import Machine

PAGE = 4096


@dataclass
class DemoPart:
    """One part of the demo: a title, what it did, and the events it produced."""

    title: str
    summary: list[str]
    events: list[Event] = field(default_factory=list)


def part_two_processes(m: Machine) -> DemoPart:
    """Two processes map, touch and read memory at the same virtual addresses."""
    start = len(m.events)
    a, b = m.spawn("editor"), m.spawn("compiler")
    va = a.mmap(4 * PAGE)
    a.store(va, b"hello from a")
    a.store(va + PAGE, b"x" * 100)
    zeros = a.load(va + 2 * PAGE, 16)
    again = a.load(va, 12)
    heap = b.sbrk(2 * PAGE)
    b.store(heap, b"b's heap")
    vb = b.mmap(4 * PAGE)
    b.store(vb, b"same address, other process")
    summary = [
        f"editor (pid {a.pid}) mapped 4 pages at {va:#x}, wrote 2, read a third: {zeros.hex()}",
        f"editor reads back {again!r}; compiler (pid {b.pid}) got the same address {vb:#x}",
        f"compiler grew its heap with sbrk to {b.brk():#x} and wrote {b.load(heap, 8)!r}",
        f"editor still reads {a.load(va, 12)!r} at {va:#x}: address spaces are isolated",
    ]
    return DemoPart("Two processes, demand paging, isolation", summary, m.events[start:])


def run_demo() -> tuple[Machine, list[DemoPart]]:
    """Run every part of the demo on one machine; return it and the parts."""
    m = Machine(memory="256KiB", tlb_entries=16, tlb_ways=4, record_events=True)
    parts = [part_two_processes(m)]
    return m, parts
