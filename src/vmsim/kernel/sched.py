"""sched: time sharing, round-robin over processes that run programs (generators).

A program is a generator: between its `yield`s it makes memory accesses and system
calls through its process; each `yield` is a point where it may be preempted. The
scheduler sends each resumed program the accesses left in its quantum (a trace replay
uses it to stop exactly at the end of its quantum; other programs may ignore it).
A program that yields `Wait()` sleeps until a child exits, and gets (pid, status)
back (INTERRUPTED if the Wait says a signal ended it; SyscallError raised at the yield
if its children went meanwhile); one that yields `Yield()` gives up the rest of its
quantum. When the program returns, its process exits with the returned status (0 if
None). The quantum is counted in memory accesses; switching to
another process is a context switch (kernel.switch_to: without ASIDs it flushes the TLB).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vmsim.errors import ProcessKilled, SimulatedSignal, SyscallError, VmsimError
from vmsim.kernel.proc import Proc, do_wait

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel

Program = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Wait:
    """What a program yields to wait for a child (any, or pid) to exit.

    interrupted, if given, is asked while the program sleeps: when it says True (a
    signal came whose handler must run) the program wakes with INTERRUPTED instead.
    """

    pid: int = -1
    interrupted: Callable[[], bool] | None = None


INTERRUPTED = ("interrupted",)
"""The reply of a Wait that a signal ended before any child exited."""


@dataclass(frozen=True)
class Yield:
    """What a program yields to give up the rest of its quantum (it runs again later)."""


class Deadlock(VmsimError):
    """Every remaining program waits for a child that can never exit."""


@dataclass
class Task:
    """A process and the program it runs."""

    proc: Proc
    program: Program
    waiting: Wait | None = None
    started: bool = False
    reply: Any = None


@dataclass
class RunResult:
    """What m.run() did: per process, its accesses and how it ended."""

    quanta: int = 0
    context_switches: int = 0
    accesses: dict[int, int] = field(default_factory=dict)
    exit_status: dict[int, int | None] = field(default_factory=dict)


class Scheduler:
    """Round-robin over tasks; a task runs until its quantum is used, it waits, or it ends."""

    def __init__(self, k: Kernel) -> None:
        self._k = k
        self.ready: deque[Task] = deque()
        self.sleeping: list[Task] = []
        self._seen: dict[int, Proc] = {}

    def add(self, proc: Proc, program: Program) -> None:
        """Make proc runnable with its program."""
        self.ready.append(Task(proc, program))
        self._seen[proc.pid] = proc

    def run(self, quantum: int, max_quanta: int | None = None) -> RunResult:
        """Run until every program has ended (or max_quanta quanta have run)."""
        result = RunResult()
        switches = self._k.stats.context_switches
        self._seen = {t.proc.pid: t.proc for t in [*self.ready, *self.sleeping]}
        start = {pid: proc.stats.cpu_accesses for pid, proc in self._seen.items()}
        while self.ready or self.sleeping:
            if max_quanta is not None and result.quanta >= max_quanta:
                break
            if not self.ready:
                self._wake_or_deadlock()
                continue
            task = self.ready.popleft()
            result.quanta += 1
            if self._run_quantum(task, quantum):
                self.ready.append(task)
            self._wake_sleepers()
        for pid, proc in self._seen.items():
            result.accesses[pid] = proc.stats.cpu_accesses - start.get(pid, 0)
            result.exit_status[pid] = proc.exit_status
        result.context_switches = self._k.stats.context_switches - switches
        return result

    def _run_quantum(self, task: Task, quantum: int) -> bool:
        """Run one task for up to a quantum; True if it should run again later."""
        proc = task.proc
        if not proc.alive:
            task.program.close()
            return False
        self._k.switch_to(proc)
        begin = proc.stats.cpu_accesses
        while True:
            budget = quantum - (proc.stats.cpu_accesses - begin)
            if budget <= 0 and task.started:
                return True
            try:
                value = self._resume(task, budget)
            except StopIteration as stop:
                status = stop.value if isinstance(stop.value, int) else 0
                self._k.do_exit(proc, status, f"exit({status})")
                return False
            except (SimulatedSignal, ProcessKilled):
                return False  # the kernel has already killed it
            if not proc.alive:
                task.program.close()
                return False
            if isinstance(value, Yield):
                return True
            if isinstance(value, Wait):
                got = do_wait(self._k, proc, value.pid)
                if got is None:
                    task.waiting = value
                    self.sleeping.append(task)
                    return False
                task.reply = got

    @staticmethod
    def _resume(task: Task, budget: int) -> Any:
        """Resume the program: it gets its wait result, or the accesses left in its quantum."""
        if not task.started:
            task.started = True
            return next(task.program)
        reply, task.reply = task.reply, None
        if isinstance(reply, SyscallError):  # raised where the program waited
            return task.program.throw(reply)
        return task.program.send(reply if reply is not None else budget)

    def _wake_sleepers(self) -> None:
        """Tasks whose awaited child has exited become ready, with (pid, status)."""
        for task in list(self.sleeping):
            if not task.proc.alive:
                self.sleeping.remove(task)
                task.program.close()
                continue
            waiting = task.waiting
            assert waiting is not None
            got: Any = None
            try:
                got = do_wait(self._k, task.proc, waiting.pid)
            except SyscallError as exc:  # no child left to wait for: the program gets ECHILD
                got = exc
            if got is None and waiting.interrupted is not None and waiting.interrupted():
                got = INTERRUPTED
            if got is not None:
                self.sleeping.remove(task)
                task.waiting, task.reply = None, got
                self.ready.append(task)

    def _wake_or_deadlock(self) -> None:
        """Nothing is ready: wake someone, or report that nobody can ever run again."""
        before = len(self.sleeping)
        self._wake_sleepers()
        if self.ready or len(self.sleeping) < before:
            return
        pids = ", ".join(str(t.proc.pid) for t in self.sleeping)
        for task in self.sleeping:
            task.program.close()
        self.sleeping.clear()
        raise Deadlock(f"processes {pids} wait for children that never exit")
