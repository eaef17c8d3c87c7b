"""The built-in demo scenario behind `vmsim demo` (and `make run`).

Processes on a small machine allocate and touch memory; the event log tells what
happened (the first steps of each part, and the whole story of a C++ `new`), and the
counters at the end sum it up. Every figure a summary line gives comes from the run.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from vmsim.config import format_size
from vmsim.events import Event
from vmsim.machine import Machine, Process

PAGE = 4096


@dataclass
class DemoPart:
    """One part of the demo: a title, what it did, and the events it produced."""

    title: str
    summary: list[str]
    events: list[Event] = field(default_factory=list)
    steps: int | None = 6
    """Steps of its account `vmsim demo` shows by default (None: all of them)."""


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
    what = "all zeros" if zeros == bytes(16) else zeros.hex()
    summary = [
        f"editor (pid {a.pid}) mapped 4 pages ({format_size(4 * PAGE)}) at {va:#x}, wrote 2 "
        f"and read 16 bytes of a third: {what}",
        f"editor reads back {again!r}; compiler (pid {b.pid}) got the same address {vb:#x}",
        f"compiler grew its heap by {format_size(b.brk() - heap)} with sbrk, to "
        f"{b.brk():#x}, and wrote {b.load(heap, 8)!r}",
        f"editor still reads {a.load(va, 12)!r} at {va:#x}: address spaces are isolated",
    ]
    return DemoPart("Two processes, demand paging, isolation", summary, m.events[start:])


def part_new_an_object(m: Machine) -> DemoPart:
    """What exactly happens when a C++ program says `new Widget` (a 48-byte object)."""
    p = m.spawn("widgets")
    p.libc  # noqa: B018 -- the C library is set up before main, as a real one is
    start, before, heap = len(m.events), p.stats.min_flt, p.brk()
    obj = p.new(48, init=b"Widget\0" + bytes(41))
    name = p.load(obj, 6)
    grown, faults = p.brk() - heap, p.stats.min_flt - before
    p.delete(obj)
    summary = [
        f"new Widget: operator new(48) -> malloc(48) -> brk grows the heap by "
        f"{format_size(grown)} -> the first store to it faults -> a zeroed frame is mapped "
        f"-> the constructor writes {name!r} at {obj:#x}",
        f"new made {faults} page fault{'s' if faults != 1 else ''} (pid {p.pid} made "
        f"{before} more before main, setting up its C library); delete: operator delete "
        f"-> free, and the heap keeps its {format_size(p.brk() - heap)} for the next new",
    ]
    return DemoPart("What happens when you `new` an object", summary, m.events[start:], None)


def part_sharing(m: Machine, workdir: str) -> DemoPart:
    """Processes share a file and a shared segment; a fork shares, then copies on write."""
    start = len(m.events)
    before = m.stats.cow_copy
    path = os.path.join(workdir, "notes.txt")
    with open(path, "wb") as f:
        f.write(b"shared notes: v1\n".ljust(2 * PAGE, b"."))
    writer, reader = m.spawn("writer"), m.spawn("reader")
    vw = writer.mmap(2 * PAGE, file=path, shared=True)
    vr = reader.mmap(2 * PAGE, prot="r", file=path)
    reader.load(vr, 16)
    writer.store(vw + 14, b"v2")
    seen = reader.load(vr, 16)
    same_frame = _frame(writer, vw) == _frame(reader, vr)
    writer.msync(vw, 2 * PAGE)
    with open(path, "rb") as f:
        on_disk = f.read(16)
    m.shm_open("/scoreboard", PAGE)
    sw, sr = writer.mmap(PAGE, shm="/scoreboard"), reader.mmap(PAGE, shm="/scoreboard")
    writer.store(sw, b"score: 42")
    parent = m.spawn("server")
    heap = parent.sbrk(16 * PAGE)
    for i in range(16):
        parent.store(heap + i * PAGE, b"config")
    children = [parent.fork() for _ in range(2)]
    for n, child in enumerate(children):
        for i in range(n + 2):
            child.store(heap + i * PAGE, b"worker")
    copied = m.stats.cow_copy - before
    workers = []
    for c in children:
        same = sum(_frame(c, heap + i * PAGE) == _frame(parent, heap + i * PAGE) for i in range(16))
        workers.append(f"worker pid {c.pid} has {16 - same} copies and shares {same} pages")
    summary = [
        f"writer and reader map {os.path.basename(path)}: one page-cache frame for both "
        f"({'the same frame' if same_frame else 'different frames'}); the reader sees {seen!r}",
        f"after msync the host file really reads {on_disk!r}",
        f"the shared segment /scoreboard: the reader reads {reader.load(sr, 9)!r}",
        f"server (pid {parent.pid}) wrote 16 heap pages ({format_size(16 * PAGE)}) and forked "
        f"2 workers, which wrote to 2 and 3 of them: {', '.join(workers)} with the server; "
        f"{copied} pages copied on write in all",
    ]
    return DemoPart(
        "Many processes: sharing, and copy-on-write after fork", summary, m.events[start:]
    )


def _frame(p: Process, va: int) -> int | None:
    """The frame va's page is in, or None."""
    pte = p.pte(va)
    return pte.frame if pte is not None and pte.present else None


def run_demo(record: bool = False) -> tuple[Machine, list[DemoPart]]:
    """Run every part of the demo on one machine; return it and the parts.

    record: also record the run for the page (m.save_html).
    """
    m = Machine(
        memory="1MiB", swap="1MiB", tlb_entries=16, tlb_ways=4, record_events=True, record=record
    )
    with tempfile.TemporaryDirectory(prefix="vmsim-demo-") as workdir:
        parts = [part_two_processes(m), part_new_an_object(m), part_sharing(m, workdir)]
    m.close()
    return m, parts
