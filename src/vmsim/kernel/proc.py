"""Proc: the kernel's record of one process (xv6's struct proc, Linux's task_struct),
and the process life cycle: alloc_pid, do_fork (copy-on-write), do_wait, reap.

A process holds its pid from fork until it is reaped (a zombie keeps it, as in Linux);
reaping releases it (Linux's release_task): it leaves the kernel's process table and
every per-process table, and its pid may be handed out again.

The public `vmsim.Process` (vmsim/machine.py) wraps a Proc with the user-facing API.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from vmsim.config import RESERVED_PIDS
from vmsim.errors import SyscallError
from vmsim.kernel.memory import uvm_copy
from vmsim.kernel.mm import AddressSpace, committed_pages_of
from vmsim.kernel.oom import vm_enough_memory
from vmsim.stats import ProcStat

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel

RUNNING, ZOMBIE, REAPED = "running", "zombie", "reaped"
OOM_EXEMPT = -1000
"""oom_score_adj that the OOM killer never picks."""


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
    cmin_flt: int = 0
    """Minor faults of reaped children (and theirs): getrusage(RUSAGE_CHILDREN)'s ru_minflt."""
    cmaj_flt: int = 0
    """Major faults of reaped children (and theirs): getrusage(RUSAGE_CHILDREN)'s ru_majflt."""
    killed: str = ""
    """Why a fatal signal is pending (xv6's p->killed): it exits at its next boundary."""

    @property
    def alive(self) -> bool:
        """Whether the process can still run."""
        return self.state == RUNNING


class PidMap:
    """The pid allocator of one machine, as Linux's alloc_pid (kernel/pid.c).

    Linux: `pid_min = 1; if (idr_get_cursor(&idr) > RESERVED_PIDS) pid_min =
    RESERVED_PIDS; nr = idr_alloc_cyclic(&idr, NULL, pid_min, pid_max, ...)` ("init
    really needs pid 1, but after reaching the maximum wrap back to RESERVED_PIDS").
    idr_alloc_cyclic (lib/idr.c) takes the first free id from max(cursor, pid_min) below
    pid_max, else (ENOSPC, and the search did not start at pid_min) the first free one
    from pid_min; the cursor becomes that id + 1. A pid below 300 is thus never reused
    after the first wrap. No free pid: `retval = (nr == -ENOSPC) ? -EAGAIN : nr`.
    """

    def __init__(self, pid_max: int) -> None:
        self.pid_max = pid_max
        self.cursor = 0
        """Linux's idr_next: where the search for the next pid starts."""
        self.released: list[Callable[[Proc], None]] = []
        """Called with each process that is reaped (tables above the kernel forget it)."""
        self.exited: list[Callable[[Proc], None]] = []
        """Called with each process that has just exited, a zombie now (Linux's
        exit_notify: the layer that has signals tells the parent, SIGCHLD)."""

    def alloc(self, in_use: Container[int]) -> int | None:
        """The next free pid (see the class docstring), or None if every pid is in use."""
        pid_min = RESERVED_PIDS if self.cursor > RESERVED_PIDS else 1
        start = max(self.cursor, pid_min)
        pid = self._first_free(start, in_use)
        if pid is None and start > pid_min:
            pid = self._first_free(pid_min, in_use)
        if pid is not None:
            self.cursor = pid + 1
        return pid

    def _first_free(self, start: int, in_use: Container[int]) -> int | None:
        """The smallest pid >= start, below pid_max, not in use."""
        for pid in range(start, self.pid_max):
            if pid not in in_use:
                return pid
        return None


def alloc_pid(k: Kernel) -> int:
    """A pid for a new process; SyscallError(EAGAIN) at max_processes or with no free pid.

    The limit is Linux's threads-max, checked as copy_process does (`nr_threads >=
    max_threads`: zombies count until reaped).
    """
    limit = k.config.threads_max
    if len(k.procs) >= limit:
        raise SyscallError(errno.EAGAIN, f"fork: max_processes={limit} processes exist")
    pid = k.pids.alloc(k.procs)
    if pid is None:
        raise SyscallError(
            errno.EAGAIN, f"fork: every pid below pid_max={k.pids.pid_max} is in use"
        )
    return pid


def do_fork(k: Kernel, parent: Proc) -> Proc:
    """A copy of parent: same VMAs, frames shared copy-on-write.

    SyscallError: EAGAIN (max_processes, no free pid), ENOMEM (overcommit).
    """
    child = k.new_proc(parent.name)
    child.parent = parent
    child.sp = parent.sp
    child.memory_limit = parent.memory_limit
    parent.children.append(child)
    src, dst = parent.mm, child.mm
    dst.start_brk, dst.brk = src.start_brk, src.brk
    commit = sum(committed_pages_of(src, v) for v in src.vmas)
    if not vm_enough_memory(k, commit):
        k.do_exit(child, -1, "fork failed")
        reap(k, child)
        raise SyscallError(errno.ENOMEM, f"fork: cannot commit {commit} pages (overcommit)")
    src.mmap_lock += 1  # the OOM killer marks the parent instead of tearing src down
    child.oom_score_adj = OOM_EXEMPT  # half-built: the OOM killer must not tear it down
    try:
        for vma in src.vmas:
            copy = replace(vma)
            dst.insert(copy)
            if copy.backing is not None:
                copy.backing.map_count += 1
            uvm_copy(k, src, dst, copy)
    except BaseException:
        k.do_exit(child, -1, "fork failed")
        reap(k, child)
        raise
    finally:
        src.mmap_lock -= 1
        child.oom_score_adj = parent.oom_score_adj
    return child


def reap(k: Kernel, child: Proc) -> None:
    """A zombie is gone for good: out of its parent's children and of every table.

    The parent inherits its fault counts (Linux's wait_task_zombie). As Linux's
    release_task: the pid is free again, the process table forgets it, and
    so do the reclaimer's cgroup tables and whoever registered in k.pids.released.
    """
    child.state = REAPED
    parent = child.parent
    if parent is not None and child in parent.children:
        parent.children.remove(child)
        parent.cmin_flt += child.stats.min_flt + child.cmin_flt  # as wait_task_zombie
        parent.cmaj_flt += child.stats.maj_flt + child.cmaj_flt
    if k.procs.get(child.pid) is child:
        del k.procs[child.pid]
    k.reclaimer.release(child)
    for forget in k.pids.released:
        forget(child)


def do_wait(k: Kernel, parent: Proc, pid: int = -1) -> tuple[int, int] | None:
    """Reap an exited child (any, or the one with pid): (pid, status), or None if none has.

    SyscallError(ECHILD) if parent has no such child at all.
    """
    children = [c for c in parent.children if pid in (-1, c.pid)]
    if not children:
        raise SyscallError(
            errno.ECHILD, f"wait: pid {parent.pid} has no child {'' if pid < 0 else pid}"
        )
    for child in children:
        if child.state == ZOMBIE:
            reap(k, child)
            assert child.exit_status is not None
            return child.pid, child.exit_status
    return None
