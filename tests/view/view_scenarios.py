"""Recorded scenarios for the page's tests: each returns the machine and the truth.

truth[i] is `m.snapshot()` read afresh at step i (the recorder calls back as it reads
each step), so a test can compare what the page rebuilds from deltas with what the
machine really held.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmsim import Machine
from vmsim.errors import ProcessKilled, VmsimError

PAGE = 4096
SHOTS = Path(tempfile.gettempdir()) / "view-shots"
"""Where the browser tests save their screenshots (to look at)."""
SHOTS.mkdir(exist_ok=True)


@dataclass
class Recorded:
    """A machine whose run was recorded, with the true state at every step."""

    machine: Machine
    truth: list[dict[str, Any]]

    @property
    def kinds(self) -> list[str]:
        """The event class name of every recorded event."""
        return [type(e).__name__ for e in self.machine.recording.events]


def record(run: Callable[[Machine], None], every: int = 64, **config: Any) -> Recorded:
    """Run a scenario on a recording machine; truth holds a fresh snapshot per step."""
    m = Machine(record=every, **config)
    truth: list[dict[str, Any]] = []
    m.recording.on_step = lambda i: truth.append(m.snapshot())
    run(m)
    m.recording.finish()
    assert len(truth) == m.recording.steps + 1
    return Recorded(m, truth)


def fork_cow(m: Machine) -> None:
    """A parent writes two pages, forks; the child writes one: a COW copy."""
    p = m.spawn("parent")
    va = p.mmap(3 * PAGE)
    p.store(va, b"parent")
    assert p.load(va, 6) == b"parent"  # a TLB hit
    p.store(va + PAGE, b"second")
    c = p.fork()
    c.store(va, b"child!")
    p.load(va + PAGE, 6)
    c.exit(0)
    p.wait()


def swap_out_in(m: Machine) -> None:
    """More pages than frames: pages go to swap and come back."""
    p = m.spawn("big")
    n = 20
    va = p.mmap(n * PAGE)
    for i in range(n):
        p.store(va + i * PAGE, bytes([i + 1]) * 8)
    for i in range(n):
        assert p.load(va + i * PAGE, 1) == bytes([i + 1])


def oom_kill(m: Machine) -> None:
    """No swap, too little memory: the OOM killer ends the hog."""
    small = m.spawn("small")
    small.store(small.mmap(PAGE), b"x")
    hog = m.spawn("hog")
    va = hog.mmap(40 * PAGE)
    try:
        for i in range(40):
            hog.store(va + i * PAGE, b"y")
    except (ProcessKilled, VmsimError):
        pass


def malloc_free(m: Machine) -> None:
    """The glibc heap: allocations, frees into the tcache and bins."""
    p = m.spawn("heap")
    ptrs = [p.malloc(n) for n in (24, 100, 200, 1000, 40)]
    p.free(ptrs[1])
    p.free(ptrs[3])
    p.malloc(64)


def tlb_eviction(m: Machine) -> None:
    """A 2-entry direct-mapped TLB: three pages in one set evict each other."""
    p = m.spawn("tlb")
    va = p.mmap(8 * PAGE)
    for _ in range(2):
        for i in (0, 2, 4):
            p.store(va + i * PAGE, b"t")


SCENARIOS: dict[str, tuple[Callable[[Machine], None], dict[str, Any]]] = {
    "fork_cow": (fork_cow, {"memory": "256KiB"}),
    "swap": (swap_out_in, {"memory": "64KiB", "swap": "128KiB", "overcommit": "always"}),
    "oom": (oom_kill, {"memory": "64KiB", "overcommit": "always"}),
    "malloc": (malloc_free, {"memory": "512KiB"}),
    "tlb": (tlb_eviction, {"memory": "256KiB", "tlb_entries": 2, "tlb_ways": 1}),
}
