"""machine_replay: a trace through the whole machine, as `vmsim replay` reports it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vmsim.config import MachineConfig, format_size
from vmsim.errors import ConfigError
from vmsim.kernel.replay import ReplayRun
from vmsim.machine import Machine
from vmsim.trace import Trace

STEP = 200_000
"""Most references per slice (the progress bar moves and a sample is taken once per slice)."""

SAMPLES = 200
"""Slices of a replay at least (for the curves over time), each at least 1,000 references."""

PAGE_TABLE_ROOM = 1024
"""Frames of physical memory beyond the memory limit, for page tables."""


@dataclass(frozen=True)
class Paging:
    """The machine a trace is replayed on: page-table format, page size, address space, TLB."""

    paging: str = "x86_64"
    page_size: int = 4096
    address_space: int | None = None
    tlb_entries: int = 64
    tlb_ways: int = 4

    def config(self, frames: int, swap_pages: int, policy: str, seed: int) -> MachineConfig:
        """The MachineConfig of a replay with `frames` frames for the process."""
        ps = self.page_size
        return MachineConfig(
            memory=(frames + PAGE_TABLE_ROOM) * ps, swap=swap_pages * ps, paging=self.paging,
            page_size=ps, address_space=self.address_space, policy=policy, seed=seed,
            tlb_entries=self.tlb_entries, tlb_ways=self.tlb_ways, replay_only=True,
        )  # fmt: skip


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
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    """References done at each sample (from 0, every slice, and at the end)."""
    fault_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    """Page faults so far at each sample."""
    rss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    """Resident pages of the process at each sample."""

    @property
    def rate(self) -> float:
        """References per second."""
        return self.references / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the counts (with the rate; no samples)."""
        keys = ("policy", "frames", "references", "faults", "major_faults", "tlb_misses",
                "swap_outs", "swap_ins", "seconds")  # fmt: skip
        return {**{k: getattr(self, k) for k in keys}, "refs_per_s": round(self.rate)}


def read_references(trace: Trace | str | Path, *, data_only: bool = False) -> tuple[Any, Any]:
    """(addresses, kinds) of a trace (a Trace, or a path whose format is detected)."""
    t = trace if isinstance(trace, Trace) else Trace(trace)
    return t.arrays(data_only=data_only)


def check_fits(addrs: np.ndarray, paging: Paging, where: str) -> None:
    """ConfigError naming the first address of the trace the chosen paging cannot map."""
    cfg = MachineConfig(
        memory=64 * paging.page_size, paging=paging.paging, page_size=paging.page_size,
        address_space=paging.address_space,
    )  # fmt: skip
    with Machine(cfg) as m:
        top = m.kernel.fmt.user_top
    bad = np.flatnonzero((addrs < 0) | (addrs >= top))
    if len(bad):
        i = int(bad[0])
        a = int(addrs[i]) & ((1 << 64) - 1)
        limit = "--address-space" if paging.paging == "linear" else "--paging"
        raise ConfigError(
            "--paging", paging.paging,
            f"{where}: reference {i + 1:,} at address {a:#x} does not fit: user addresses of "
            f"{paging.paging} paging run from 0 to {top - 1:#x} ({format_size(top)}); "
            f"{len(bad):,} references are beyond; choose another {limit}",
        )  # fmt: skip


def machine_replay(
    addrs: np.ndarray,
    kinds: np.ndarray,
    policy: str,
    frames: int,
    *,
    paging: Paging | None = None,
    seed: int = 0,
    advance: Callable[[int], None] | None = None,
    html: str | None = None,
    window: tuple[int, int] | None = None,
    source: str = "",
) -> MachineReplay:
    """Replay (addresses, kinds) with a memory limit of `frames` pages (swap holds the rest).

    A limit beyond the trace's distinct pages is replayed as that many (nothing is ever
    evicted either way) and reported as given. advance(n) is called after each slice of
    n references (for a progress bar). html: also write the page of the events numbered
    [start, start + count) (window) to that file; source names the trace (title, and
    the page is never written over it).
    """
    pg = paging or Paging()
    shift = pg.page_size.bit_length() - 1
    distinct = len(np.unique(addrs >> shift)) if len(addrs) else 0
    limit = min(frames, max(distinct, 1))
    config = pg.config(limit, distinct + 16, policy, seed)
    with Machine(config.replace(record_events=True) if html else config) as m:
        if html is not None:
            m.record(start=window[0] if window else 0, count=window[1] if window else None)
        p = m.spawn("replay", replay=True, memory_limit=limit * pg.page_size)
        proc = m.kernel.procs[p.pid]
        run = ReplayRun(m.kernel, proc, addrs, kinds)
        samples: list[tuple[int, int, int]] = [(0, 0, 0)]
        step = max(1000, min(STEP, len(addrs) // SAMPLES))
        start = time.perf_counter()
        while not run.done:
            n = run.step(step)
            st = run.stats()
            samples.append((st.references, st.faults, proc.stats.rss))
            if advance is not None:
                advance(n)
        seconds = time.perf_counter() - start
        st = run.stats()
        t, f, r = (np.array(c, np.int64) for c in zip(*samples, strict=True))
        if html is not None:
            from vmsim.report.view.cli import write_page

            write_page(m, html, f"vmsim replay {source} ({policy}, {frames} frames)", source)
        return MachineReplay(policy, frames, st.references, st.faults, st.major_faults,
                             st.tlb_misses, st.swap_outs, m.stats.pswpin, seconds,
                             t, f, r)  # fmt: skip
