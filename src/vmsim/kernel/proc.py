"""Proc: the kernel's record of one process (xv6's struct proc, Linux's task_struct),
and the process life cycle: do_fork (copy-on-write), do_wait (reaping), reap.

The public `vmsim.Process` (vmsim/machine.py) wraps a Proc with the user-facing API.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

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
    killed: str = ""
    """Why a fatal signal is pending (xv6's p->killed): it exits at its next boundary."""

    @property
    def alive(self) -> bool:
        """Whether the process can still run."""
        return self.state == RUNNING


def do_fork(k: Kernel, parent: Proc) -> Proc:
    """A copy of parent: same VMAs, frames shared copy-on-write; SyscallError(ENOMEM)."""
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
        reap(child)
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
        reap(child)
        raise
    finally:
        src.mmap_lock -= 1
        child.oom_score_adj = parent.oom_score_adj
    return child


def reap(child: Proc) -> None:
    """Remove a zombie from its parent's children (it is gone for good)."""
    child.state = REAPED
    if child.parent is not None and child in child.parent.children:
        child.parent.children.remove(child)


def do_wait(parent: Proc, pid: int = -1) -> tuple[int, int] | None:
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
            reap(child)
            assert child.exit_status is not None
            return child.pid, child.exit_status
    return None
