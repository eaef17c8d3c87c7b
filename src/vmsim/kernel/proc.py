"""Proc: the kernel's record of one process (xv6's struct proc, Linux's task_struct).

The public `vmsim.Process` (vmsim/machine.py) wraps a Proc with the user-facing API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vmsim.kernel.mm import AddressSpace
from vmsim.stats import ProcStat

RUNNING, ZOMBIE, REAPED = "running", "zombie", "reaped"


@dataclass(eq=False)
class Proc:
    """One process: its address space, counters, state and family."""

    pid: int
    name: str
    mm: AddressSpace
    stats: ProcStat = field(default_factory=ProcStat)
    state: str = RUNNING
    exit_status: int | None = None
    """Exit status; -signal number when killed by a signal (as subprocess reports it)."""
    exit_reason: str = ""
    parent: Proc | None = None
    children: list[Proc] = field(default_factory=list)
    sp: int = 0
    """The user stack pointer."""
    memory_limit: int | None = None
    """Resident-set limit in pages (a memory cgroup), or None."""
    oom_score_adj: int = 0

    @property
    def alive(self) -> bool:
        """Whether the process can still run."""
        return self.state == RUNNING
