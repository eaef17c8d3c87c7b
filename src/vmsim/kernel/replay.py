"""Trace replay through the machine: a stream of references, translated and faulted.

A ReplayRun walks an array of virtual addresses (with their kinds) through the MMU of
one process, handling every fault as the kernel does. It can run in slices, which is
how a traced process shares the CPU under the scheduler. A replayed process treats
all of user space as anonymous rwx memory and has no zero page, so each reference to
a non-resident page is exactly one page fault (the textbook's miss). Replays carry no
data: they translate and fault, they do not read or write bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmsim.errors import ConfigError
from vmsim.hw.mmu import EXEC, READ, WRITE_ACCESS, PageFault

if TYPE_CHECKING:
    import numpy as np

    from vmsim.kernel.kernel import Kernel
    from vmsim.kernel.proc import Proc


@dataclass(frozen=True)
class ReplayStats:
    """What a replay did: references, faults (minor + major = misses), TLB misses."""

    references: int
    minor_faults: int
    major_faults: int
    tlb_misses: int
    swap_outs: int

    @property
    def faults(self) -> int:
        """All page faults of the replay: the misses of the textbook definition."""
        return self.minor_faults + self.major_faults


def access_codes(kinds: Sequence[int] | np.ndarray | None, n: int) -> list[int]:
    """MMU access codes for trace kinds: fetch -> exec, load -> read, store/modify -> write."""
    if kinds is None:
        return [READ] * n
    import numpy as np  # replays only: a real program's run never loads NumPy

    arr = np.asarray(kinds, dtype=np.int64)
    if len(arr) != n:
        raise ConfigError("kinds", f"{len(arr)} kinds", f"one kind per address ({n})")
    if len(arr) and (arr.min() < 0 or arr.max() > 3):
        raise ConfigError("kinds", "out of range", "AccessKind values 0..3 (I, L, S, M)")
    table = np.array([EXEC, READ, WRITE_ACCESS, WRITE_ACCESS], dtype=np.int64)
    return list(table[arr].tolist())


class ReplayRun:
    """One replay of a reference stream by one process, runnable in slices."""

    def __init__(
        self,
        k: Kernel,
        proc: Proc,
        addresses: Sequence[int] | np.ndarray,
        kinds: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        import numpy as np

        self._k = k
        self.proc = proc
        addrs = np.asarray(addresses, dtype=np.int64)
        self.addrs: list[int] = addrs.tolist()
        self.acc = access_codes(kinds, len(self.addrs))
        self.pos = 0
        self.future: dict[int, int] | None = None
        self.nxt: list[int] = []
        if k.reclaimer.global_policy.needs_future:
            from vmsim.policies.reference import next_use_array

            self.nxt = next_use_array(addrs >> k.fmt.page_shift).tolist()
            self.future = k.reclaimer.refbits.futures[proc.mm] = {}
        s = proc.stats
        self._before = (s.min_flt, s.maj_flt, k.stats.tlb_miss, k.stats.pswpout)

    @property
    def done(self) -> bool:
        """Whether every reference has been replayed."""
        return self.pos >= len(self.addrs)

    def step(self, n: int) -> int:
        """Replay up to n more references; return how many ran."""
        k, proc = self._k, self.proc
        k.switch_to(proc)
        translate, handle_user_fault = k.mmu.translate, k.handle_user_fault
        shift, tick, future, nxt = k.fmt.page_shift, k.tick_interval, self.future, self.nxt
        addrs, acc = self.addrs, self.acc
        start = i = self.pos
        end = min(len(addrs), start + max(n, 0))
        try:
            for i in range(start, end):
                va = addrs[i]
                if tick and k.clock and k.clock % tick == 0:
                    k.tick()
                k.clock += 1
                if future is not None:
                    future[va >> shift] = nxt[i]
                try:
                    translate(va, acc[i])
                except PageFault as fault:
                    handle_user_fault(proc, fault)
            i = end
        finally:
            proc.stats.cpu_accesses += i - start
            self.pos = i
            if self.done or not proc.alive:
                self.close()
        return i - start

    def close(self) -> None:
        """Forget this replay's future (OPT's next uses)."""
        self._k.reclaimer.refbits.futures.pop(self.proc.mm, None)

    def stats(self) -> ReplayStats:
        """Counts since the replay began."""
        k, s = self._k, self.proc.stats
        return ReplayStats(
            references=self.pos,
            minor_faults=s.min_flt - self._before[0],
            major_faults=s.maj_flt - self._before[1],
            tlb_misses=k.stats.tlb_miss - self._before[2],
            swap_outs=k.stats.pswpout - self._before[3],
        )
