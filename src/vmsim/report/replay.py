"""machine_replay: a trace file through the whole machine, as `vmsim replay` reports it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from vmsim.engine.api import open_trace
from vmsim.kernel.replay import ReplayRun
from vmsim.machine import Machine

STEP = 200_000
"""References per slice (the progress bar moves once per slice)."""


@dataclass(frozen=True)
class MachineReplay:
    """One replay: the policy, the memory limit, and what the machine counted."""

    policy: str
    frames: int
    references: int
    faults: int
    major_faults: int
    tlb_misses: int
    swap_outs: int
    swap_ins: int
    seconds: float

    @property
    def rate(self) -> float:
        """References per second."""
        return self.references / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (with the rate)."""
        return {**asdict(self), "refs_per_s": round(self.rate)}


def machine_replay(
    path: str,
    policy: str,
    frames: int,
    *,
    paging: str = "x86_64",
    tlb_entries: int = 64,
    tlb_ways: int = 4,
    data_only: bool = False,
    seed: int = 0,
    advance: Callable[[int], None] | None = None,
    html: str | None = None,
    window: tuple[int, int] | None = None,
) -> MachineReplay:
    """Replay the trace at path with a memory limit of `frames` pages (swap holds the rest).

    advance(n) is called after each slice of n references (for a progress bar).
    html: also write the page of the events numbered [start, start + count) (window).
    """
    addrs, kinds = open_trace(path).arrays(data_only=data_only)
    distinct = len(np.unique(addrs >> 12)) if len(addrs) else 0
    memory = (frames + 1024) * 4096  # the limit plus room for page tables
    swap = (distinct + 16) * 4096
    with Machine(memory=memory, swap=swap, paging=paging, policy=policy, seed=seed,
                 tlb_entries=tlb_entries, tlb_ways=tlb_ways,
                 record_events=html is not None) as m:  # fmt: skip
        if html is not None:
            m.record(start=window[0] if window else 0, count=window[1] if window else None)
        p = m.spawn("replay", replay=True, memory_limit=frames * 4096)
        run = ReplayRun(m.kernel, m.kernel.procs[p.pid], addrs, kinds)
        start = time.perf_counter()
        while not run.done:
            n = run.step(STEP)
            if advance is not None:
                advance(n)
        seconds = time.perf_counter() - start
        st = run.stats()
        if html is not None:
            from vmsim.report.view.cli import write_page

            write_page(m, html, f"vmsim replay {path} ({policy}, {frames} frames)", path)
        return MachineReplay(policy, frames, st.references, st.faults, st.major_faults,
                             st.tlb_misses, st.swap_outs, m.stats.pswpin, seconds)  # fmt: skip
