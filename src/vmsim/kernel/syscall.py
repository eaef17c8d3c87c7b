"""syscall: real programs on the machine: the task of a process, its run loop, the table.

A `UserTask` is a process running an x86-64 program on a CPU (hw.cpu) with its file
table and signal state. `run_task` is the task's program for the scheduler (a
generator, as every program on the machine): it loads the process's context on the CPU,
runs it until the program makes a system call (dispatched through `SYSCALLS`, Linux
x86-64 numbers -> `sys_*`, each a thin shell over the `do_*` the Python API calls),
waits for a child (it yields `Wait`, the scheduler sleeps it), waits on a pipe or
uses up its quantum of instructions while another process waits (it yields `Yield`),
or dies. Page faults
reach the kernel's one fault path, `handle_page_fault`, through the trap handler this
module installs on the CPU. An unknown system call returns ENOSYS and is logged once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import struct
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from vmsim.errors import SyscallError, VmsimError
from vmsim.events import Syscall
from vmsim.hw.cpu import CPU, Stop, TrapHandler
from vmsim.hw.pte import pg_round_up
from vmsim.kernel import signal as sig
from vmsim.kernel.exec import ElfImage, exec_program, read_elf
from vmsim.kernel.fault import anon_write_fault, find_fault_vma, handle_page_fault, vma_permits
from vmsim.kernel.filemap import open_file
from vmsim.kernel.files import AT_FDCWD, O_CLOEXEC, FileTable, WouldBlock, stat_bytes
from vmsim.kernel.ltrace import rearm, watch_image
from vmsim.kernel.memory import unmap_pages
from vmsim.kernel.mm import PROT_WRITE, VM_FAULT_DONE, VM_FAULT_ERROR, VM_FAULT_SIGBUS
from vmsim.kernel.mmap import close_vma, do_brk, do_mmap, do_mprotect, do_mremap, do_munmap
from vmsim.kernel.proc import Proc, do_fork, do_wait, reap
from vmsim.kernel.sched import INTERRUPTED, Deadlock, Wait, Yield
from vmsim.kernel.shmem import ShmObject, release_object
from vmsim.kernel.uaccess import copy_in, copy_out

if TYPE_CHECKING:
    from vmsim.kernel.kernel import Kernel

MASK64 = (1 << 64) - 1
CLONE_VM, CLONE_THREAD, CLONE_VFORK = 0x100, 0x10000, 0x4000
CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID = 0x01000000, 0x00200000
MAP_SHARED, MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x1, 0x10, 0x20, 0x100000
WNOHANG = 1
ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW = 0x1000, 0x100
MADV_DONTNEED = 4
MREMAP_MAYMOVE = 1
BOOT_EPOCH = 1_767_225_600
"""The machine's wall clock starts at 2026-01-01 00:00 UTC; it moves with virtual time."""
NS_PER_TICK = 1000
RLIM_INFINITY = MASK64
QUANTUM_INSTRUCTIONS = 1_000_000


class Unsupported(VmsimError):
    """The program asked for something vmsim does not model (threads)."""


@dataclass(eq=False)
class UserTask:
    """A process running a real program: its CPU, files and signals."""

    proc: Proc
    cpu: CPU
    files: FileTable
    signals: sig.SignalState = field(default_factory=sig.SignalState)
    exe: str = ""
    image: ElfImage | None = None
    faulted: bool = False
    """The last trap queued a fault signal for a handler (SIGSEGV, SIGBUS)."""
    pipe_waits: int = 0
    """Consecutive retries of a syscall waiting on a pipe or for a signal."""
    suspend_mask: int | None = None
    """rt_sigsuspend: the mask to restore once a handler has run (Linux's saved_sigmask)."""
    max_rss: int = 0
    """The most pages the process had resident (getrusage's ru_maxrss, in pages)."""
    error: str = ""
    """Why vmsim stopped the program, when it was not the program's own doing."""
    watches: dict[int, str] = field(default_factory=dict)
    """While recording: the C library functions with a breakpoint (kernel/ltrace.py)."""
    calls: list[tuple[int, int, str]] = field(default_factory=list)
    """While recording: the C library calls under way (return address, stack, name)."""


@dataclass(frozen=True)
class Blocked:
    """A syscall that must wait for a child: the scheduler's Wait, then finish(pid, status)."""

    wait: Wait
    finish: Callable[[tuple[int, int]], int]


class Runtime:
    """What the kernel keeps for real programs: the tasks, syscall counts, the log."""

    def __init__(
        self,
        k: Kernel,
        start: Callable[[UserTask], None],
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.k = k
        self.start = start
        """Hands a new task (a forked child) to the scheduler."""
        self.log = log or (lambda _msg: None)
        self.tasks: dict[int, UserTask] = {}
        self.syscalls: Counter[str] = Counter()
        self._unknown: set[int] = set()
        self.rand = random.Random(k.config.seed)
        """getrandom's bytes: from the machine's seed, so runs repeat."""
        self.ticks = 0
        self.quantum = QUANTUM_INSTRUCTIONS
        """Instructions a program runs before another waiting process gets the CPU."""
        self.others_ready: Callable[[], bool] = lambda: False
        """Whether another process waits for the CPU (the scheduler's ready queue)."""
        self.preemptions = 0
        """Involuntary context switches: quanta that ran out."""
        self.exact_tlb = False
        """Every access of the programs through the machine's TLB model (hw.cpu), slow."""
        k.pids.exited.append(self.notify_parent)

    def new_task(self, proc: Proc, files: FileTable, exe: str) -> UserTask:
        """A task for proc with a fresh CPU whose faults trap into this kernel."""
        t = UserTask(proc, self.new_cpu(refuse_faults), files, exe=exe)
        t.cpu.trap = self.trap_handler(t)
        self.tasks[proc.pid] = t
        return t

    def new_cpu(self, trap: TrapHandler) -> CPU:
        """A CPU over the machine's memory and MMU (exact_tlb as the runtime says)."""
        return CPU(self.k.mem, self.k.mmu, trap, exact_tlb=self.exact_tlb)

    def trap_handler(self, t: UserTask) -> TrapHandler:
        """The IDT entry for t's page faults: the kernel's one fault path."""
        k, proc = self.k, t.proc

        def trap(va: int, access: int, reason: str) -> bool:
            ret = anon_write_fault(k, proc, va, access, reason)  # never a SIGSEGV
            if ret is None:
                if catches(t, sig.SIGSEGV):
                    code = segv_code(k, proc, va, access)
                    if code:
                        k.stats.pgfault += 1
                        k.stats.segv += 1
                        t.signals.pending[sig.SIGSEGV] = [(code, va, 0)]
                        t.faulted = True
                        return False
                ret = handle_page_fault(k, proc, va, access, reason)
            if ret == VM_FAULT_DONE or not ret & VM_FAULT_ERROR:
                if proc.killed:  # the OOM killer chose it while it faulted: it exits here
                    k.exit_killed(proc)
                    return False
                if proc.stats.rss > t.max_rss:
                    t.max_rss = proc.stats.rss
                return proc.alive
            if ret & VM_FAULT_SIGBUS and not proc.killed and catches(t, sig.SIGBUS):
                t.signals.pending[sig.SIGBUS] = [(sig.BUS_ADRERR, va, 0)]
                t.faulted = True
                return False
            k.fault_error(proc, va, access, ret)  # the signal's default action (or OOM)
            return False

        return trap

    def exit(self, t: UserTask, status: int, reason: str) -> None:
        """The task's process exits (or is killed: status -signo)."""
        t.files.close_all()
        self.k.do_exit(t.proc, status, reason)

    def notify_parent(self, child: Proc) -> None:
        """A process exited: SIGCHLD to its parent, if that is a live real program (Linux's
        do_notify_parent; discarded unless the parent handles it). A parent that set
        SIGCHLD to SIG_IGN, or SA_NOCLDWAIT, leaves no zombie: the child is reaped now."""
        parent = child.parent
        t = self.tasks.get(parent.pid) if parent is not None else None
        if t is None or t.proc is not parent or not parent.alive:
            return
        act = t.signals.action(sig.SIGCHLD)
        if act.handler == sig.SIG_IGN or act.flags & sig.SA_NOCLDWAIT:
            reap(self.k, child)  # no zombie: wait4 waits for the others, then ECHILD
        status = child.exit_status if child.exit_status is not None else 0
        code, value = (sig.CLD_KILLED, -status) if status < 0 else (sig.CLD_EXITED, status)
        deliver(self, t, sig.SIGCHLD, code, child.pid, value)

    @property
    def fills(self) -> int:
        """TLB fills the CPUs of every task asked for."""
        return sum(t.cpu.fills for t in self.tasks.values())

    def kill(self, t: UserTask, signo: int, why: str = "") -> None:
        """Terminate the task by a signal (its default action)."""
        if why:
            t.error = why
        self.exit(t, -signo, why or f"killed by {sig.signal_name(signo)}")

    def unknown(self, nr: int) -> None:
        """Log an unknown syscall once."""
        if nr not in self._unknown:
            self._unknown.add(nr)
            self.log(f"vmsim: syscall {nr} ({syscall_name(nr)}) is not implemented: ENOSYS")

    def now_ns(self) -> int:
        """The machine's virtual time in nanoseconds since boot."""
        return (self.k.clock + self.ticks) * NS_PER_TICK


def refuse_faults(va: int, access: int, reason: str) -> bool:
    """A trap handler for a CPU not yet given to a process: no fault is resolved."""
    return False


def start_program(
    rt: Runtime, proc: Proc, path: str, argv: list[str], env: dict[str, str],
    writable: tuple[str, ...] = (),
) -> UserTask:  # fmt: skip
    """Exec path in the fresh process proc and make it ready to run (rt.start is not called)."""
    start = exec_program(rt.k, proc, path, argv, [f"{k}={v}" for k, v in env.items()])
    t = rt.new_task(proc, FileTable.with_stdio(writable), start.image.path)
    t.image = start.image
    t.cpu.set_reg("rip", start.pc)
    t.cpu.set_reg("rsp", start.sp)
    watch_image(rt, t, start.image.path, start.image.base, exe=True)
    return t


def run_task(rt: Runtime, t: UserTask) -> Generator[Any, Any, int | None]:
    """The program of a task for the scheduler: run, take syscalls, until the process ends."""
    k, proc = rt.k, t.proc
    try:
        while proc.alive:
            cpu = t.cpu  # execve gives the task a new one
            if k.loaded_mm is not proc.mm or k.tlb.on_flush != cpu.flush_tlb:
                # another process ran: flushes of this mm may not have reached this CPU
                k.switch_to(proc)
                k.tlb.on_flush = cpu.flush_tlb
                cpu.flush_tlb()
            stop = cpu.run(rt.quantum if rt.others_ready() else 0)
            if not proc.alive:
                if stop.kind == "fault":
                    t.error = f"{proc.exit_reason} (instruction at {stop.rip:#x})"
                break
            if stop.kind == "syscall":
                cpu.set_reg("rip", stop.rip)
                blocked = dispatch(rt, t)
                if blocked is PIPE_WAIT or blocked is SIGNAL_WAIT:  # others run, then retry
                    cpu.set_reg("rip", stop.rip - 2)
                    yield from _wait_and_retry(rt, t, blocked is PIPE_WAIT)
                    if interrupts(t, restartable=blocked is PIPE_WAIT):
                        cpu.set_reg("rip", stop.rip)
                        cpu.set_reg("rax", -errno.EINTR)
                elif isinstance(blocked, Blocked):
                    try:
                        got = yield replace(blocked.wait, interrupted=partial(signal_due, t))
                    except SyscallError as exc:  # the children went while it slept (ECHILD)
                        t.cpu.set_reg("rax", -(exc.errno or errno.ECHILD))
                    else:
                        finish_wait(t, blocked, got, stop.rip)
            elif stop.kind == "quantum":  # preempted: another process gets the CPU
                rt.preemptions += 1
                yield Yield()
            elif not t.faulted:
                cpu_exception(rt, t, stop)
            t.faulted = False
            deliver_pending(rt, t)  # the return to user mode
            yield None  # a preemption point
    finally:  # also when the scheduler closes a program another process's OOM kill ended
        if k.tlb.on_flush == t.cpu.flush_tlb:
            k.tlb.on_flush = None
        t.files.close_all()
    return proc.exit_status


def finish_wait(t: UserTask, blocked: Blocked, got: Any, syscall_end: int) -> None:
    """wait4's result once the scheduler woke it: (pid, status), or a signal's EINTR or
    restart (SA_RESTART: the syscall instruction runs again after the handler)."""
    if got is not INTERRUPTED:
        t.cpu.set_reg("rax", blocked.finish(got))
    elif interrupts(t, restartable=True):
        t.cpu.set_reg("rax", -errno.EINTR)
    else:
        t.cpu.set_reg("rip", syscall_end - 2)


def due_handler(t: UserTask) -> int | None:
    """The pending signal whose handler would run now, if any (it ends a sleep)."""
    signo = t.signals.next_pending()
    return signo if signo is not None and sig.handles(t.signals, signo) else None


def signal_due(t: UserTask) -> bool:
    """Whether a pending signal would run t's handler now."""
    return due_handler(t) is not None


def interrupts(t: UserTask, restartable: bool) -> bool:
    """Whether a signal that arrived while t waited ends the wait with EINTR: a handler
    will run for it, and the syscall is not restarted (SA_RESTART restarts pipe I/O and
    wait4; pause and rt_sigsuspend always return EINTR)."""
    signo = due_handler(t)
    if signo is None:
        return False
    return not (restartable and t.signals.action(signo).flags & sig.SA_RESTART)


def catches(t: UserTask, signo: int) -> bool:
    """Whether a fault signal goes to the program's handler (installed and not blocked)."""
    s = t.signals
    return signo in s.actions and sig.handles(s, signo) and not s.is_blocked(signo)


def deliver_pending(rt: Runtime, t: UserTask) -> None:
    """Deliver every pending signal the mask lets through: a handler's frame, or the default."""
    s = t.signals
    while t.proc.alive and s.pending:
        signo = s.next_pending()
        if signo is None:
            return
        code, value, status = s.take(signo)
        if sig.handles(s, signo):
            mask, t.suspend_mask = t.suspend_mask, None  # sigreturn restores the one before
            sig.setup_rt_frame(
                t.cpu, s, signo, code, value, partial(write_user, rt, t), status, mask
            )
        elif s.kills(signo):
            rt.kill(t, signo)


def segv_code(k: Kernel, proc: Proc, va: int, access: int) -> int:
    """SEGV_MAPERR or SEGV_ACCERR if the fault path would refuse this access, else 0."""
    vma = find_fault_vma(k, proc.mm, va)
    if vma is None:
        return sig.SEGV_MAPERR
    return 0 if vma_permits(vma, access) else sig.SEGV_ACCERR


PIPE_WAIT = Blocked(Wait(), lambda _got: 0)
"""What dispatch returns for a syscall that must wait on a pipe (the syscall is retried)."""
SIGNAL_WAIT = Blocked(Wait(), lambda _got: 0)
"""What dispatch returns for pause and rt_sigsuspend while no signal has come (retried)."""


class SignalWait(Exception):
    """Raised by a syscall that sleeps until a signal comes (dispatch: SIGNAL_WAIT)."""


MAX_PIPE_WAITS = 100_000


def _wait_and_retry(rt: Runtime, t: UserTask, pipe: bool) -> Generator[Any, Any, None]:
    """Give up the CPU while a pipe is empty or full (pipe) or until a signal comes; the
    syscall is then retried. Deadlock if no other process can run to change that."""
    t.pipe_waits += 1
    if not rt.others_ready() or t.pipe_waits > MAX_PIPE_WAITS:
        what = (
            "on a pipe that no process will change" if pipe else "for a signal no process will send"
        )
        raise Deadlock(f"pid {t.proc.pid} waits {what}")
    yield Yield()


def cpu_exception(rt: Runtime, t: UserTask, stop: Stop) -> None:
    """The CPU stopped on something other than a syscall: the signal Linux would send."""
    if stop.kind == "fault":  # the fault path refused but did not kill (out of memory)
        rt.kill(t, sig.SIGKILL, f"out of memory at {stop.va:#x}")
    elif stop.kind == "invalid" or (stop.kind == "interrupt" and stop.number == 6):
        rt.kill(t, sig.SIGILL, f"invalid instruction at {stop.rip:#x} (Unicorn's CPU has no AVX)")
    elif stop.kind == "interrupt" and stop.number == 0:
        rt.kill(t, sig.SIGFPE, f"divide error at {stop.rip:#x}")
    elif stop.kind == "interrupt" and stop.number in (1, 3):
        rt.kill(t, sig.SIGTRAP, f"trap at {stop.rip:#x}")
    elif stop.kind == "interrupt":
        rt.kill(t, sig.SIGSEGV, f"CPU exception {stop.number} at {stop.rip:#x}")
    else:
        rt.kill(t, sig.SIGSEGV, f"CPU stopped at {stop.rip:#x}: {stop.message}")


def dispatch(rt: Runtime, t: UserTask) -> Blocked | None:
    """Run the syscall in rax with the arguments in registers; the result goes to rax."""
    cpu = t.cpu
    nr = cpu.reg("rax")
    args = cpu.syscall_args()
    entry = SYSCALLS.get(nr)
    name = entry[0] if entry else syscall_name(nr)
    rt.syscalls[name] += 1
    rt.ticks += 1
    if entry is None:
        rt.unknown(nr)
        ret: int | Blocked = -errno.ENOSYS
    else:
        try:
            ret = entry[1](rt, t, *args)
            t.pipe_waits = 0
        except SyscallError as exc:
            ret = -(exc.errno or errno.EINVAL)
        except WouldBlock:
            rt.syscalls[name] -= 1  # it is retried: counted once
            return PIPE_WAIT
        except SignalWait:
            rt.syscalls[name] -= 1
            return SIGNAL_WAIT
    if rt.k.events is not None:
        shown = ret if isinstance(ret, int) else 0
        rt.k.emit(Syscall(t.proc.pid, name, ", ".join(f"{a:#x}" for a in args[:3]), shown))
    if isinstance(ret, Blocked):
        return ret
    if t.proc.alive:
        cpu.set_reg("rax", ret)
    return None


# --- user memory ---------------------------------------------------------------------


def read_str(rt: Runtime, t: UserTask, va: int, limit: int = 4096) -> str:
    """A NUL-terminated string of user memory; EFAULT if unreadable."""
    out = bytearray()
    ps = rt.k.fmt.page_size
    while len(out) < limit:
        n = ps - (va + len(out)) % ps
        chunk = copy_in(rt.k, t.proc.mm, va + len(out), n)
        end = chunk.find(b"\0")
        if end >= 0:
            out += chunk[:end]
            return os.fsdecode(bytes(out))
        out += chunk
    raise SyscallError(errno.ENAMETOOLONG, "string too long")


def read_user(rt: Runtime, t: UserTask, va: int, n: int) -> bytes:
    """n bytes of user memory."""
    return copy_in(rt.k, t.proc.mm, va, n) if n else b""


def write_user(rt: Runtime, t: UserTask, va: int, data: bytes) -> None:
    """Store data in user memory."""
    if data:
        copy_out(rt.k, t.proc.mm, va, data, t.cpu.kernel_wrote)


def _s32(v: int) -> int:
    """An int argument as C sees it."""
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _path_at(rt: Runtime, t: UserTask, dirfd: int, va: int) -> str:
    """The path of an *at syscall, joined to dirfd's path when relative."""
    path = read_str(rt, t, va)
    dirfd = _s32(dirfd)
    if path.startswith("/") or dirfd == AT_FDCWD or not path:
        return path
    return os.path.join(t.files.path_of(dirfd), path)


# --- the system calls ----------------------------------------------------------------

Handler = Callable[..., "int | Blocked"]


def sys_read(rt: Runtime, t: UserTask, fd: int, buf: int, n: int, *_: int) -> int:
    data = t.files.read(fd, min(n, 1 << 20))
    assert isinstance(data, bytes)
    write_user(rt, t, buf, data)
    return len(data)


def sys_pread64(rt: Runtime, t: UserTask, fd: int, buf: int, n: int, off: int, *_: int) -> int:
    data = t.files.read(fd, min(n, 1 << 20), off)
    assert isinstance(data, bytes)
    write_user(rt, t, buf, data)
    return len(data)


def _write(rt: Runtime, t: UserTask, fd: int, data: bytes, offset: int | None = None) -> int:
    """Write to fd; a pipe nobody reads any more is EPIPE and SIGPIPE, as Linux sends."""
    try:
        return int(t.files.write(fd, data, offset))
    except SyscallError as exc:
        if exc.errno == errno.EPIPE:
            deliver(rt, t, sig.SIGPIPE)
        raise


def sys_write(rt: Runtime, t: UserTask, fd: int, buf: int, n: int, *_: int) -> int:
    return _write(rt, t, fd, read_user(rt, t, buf, n))


def sys_pwrite64(rt: Runtime, t: UserTask, fd: int, buf: int, n: int, off: int, *_: int) -> int:
    return _write(rt, t, fd, read_user(rt, t, buf, n), off)


def _iovecs(rt: Runtime, t: UserTask, iov: int, cnt: int) -> list[tuple[int, int]]:
    raw = read_user(rt, t, iov, 16 * cnt)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(cnt)]


def sys_writev(rt: Runtime, t: UserTask, fd: int, iov: int, cnt: int, *_: int) -> int:
    data = b"".join(read_user(rt, t, base, n) for base, n in _iovecs(rt, t, iov, cnt))
    return _write(rt, t, fd, data)


def sys_readv(rt: Runtime, t: UserTask, fd: int, iov: int, cnt: int, *_: int) -> int:
    total = 0
    for base, n in _iovecs(rt, t, iov, cnt):
        data = t.files.read(fd, n)
        assert isinstance(data, bytes)
        write_user(rt, t, base, data)
        total += len(data)
        if len(data) < n:
            break
    return total


def sys_open(rt: Runtime, t: UserTask, path: int, flags: int, mode: int, *_: int) -> int:
    return t.files.open(read_str(rt, t, path), flags, mode)


def sys_openat(
    rt: Runtime, t: UserTask, dirfd: int, path: int, flags: int, mode: int, *_: int
) -> int:
    return t.files.open(_path_at(rt, t, dirfd, path), flags, mode)


def sys_close(rt: Runtime, t: UserTask, fd: int, *_: int) -> int:
    t.files.close(fd)
    return 0


def sys_lseek(rt: Runtime, t: UserTask, fd: int, off: int, whence: int, *_: int) -> int:
    return int(t.files.lseek(fd, off - (1 << 64) if off >> 63 else off, whence))


def _stat(path: str, follow: bool = True) -> bytes:
    try:
        return stat_bytes(os.stat(path, follow_symlinks=follow))
    except OSError as exc:
        raise SyscallError(exc.errno or errno.ENOENT, f"stat: {path}") from None


def sys_fstat(rt: Runtime, t: UserTask, fd: int, buf: int, *_: int) -> int:
    write_user(rt, t, buf, stat_bytes(os.fstat(t.files.get(fd).host_fd)))
    return 0


def sys_stat(rt: Runtime, t: UserTask, path: int, buf: int, *_: int) -> int:
    write_user(rt, t, buf, _stat(read_str(rt, t, path)))
    return 0


def sys_lstat(rt: Runtime, t: UserTask, path: int, buf: int, *_: int) -> int:
    write_user(rt, t, buf, _stat(read_str(rt, t, path), follow=False))
    return 0


def sys_newfstatat(
    rt: Runtime, t: UserTask, dirfd: int, path: int, buf: int, flags: int, *_: int
) -> int:
    name = read_str(rt, t, path)
    if not name and flags & AT_EMPTY_PATH:
        return sys_fstat(rt, t, _s32(dirfd), buf)
    write_user(rt, t, buf, _stat(_path_at(rt, t, dirfd, path), not flags & AT_SYMLINK_NOFOLLOW))
    return 0


def sys_access(rt: Runtime, t: UserTask, path: int, mode: int, *_: int) -> int:
    name = read_str(rt, t, path)
    if not os.access(name, mode):
        raise SyscallError(errno.ENOENT if not os.path.exists(name) else errno.EACCES, name)
    return 0


def sys_faccessat(rt: Runtime, t: UserTask, dirfd: int, path: int, mode: int, *_: int) -> int:
    name = _path_at(rt, t, dirfd, path)
    if not os.access(name, mode):
        raise SyscallError(errno.ENOENT if not os.path.exists(name) else errno.EACCES, name)
    return 0


def sys_readlink(rt: Runtime, t: UserTask, path: int, buf: int, size: int, *_: int) -> int:
    return _readlink(rt, t, read_str(rt, t, path), buf, size)


def sys_readlinkat(
    rt: Runtime, t: UserTask, dirfd: int, path: int, buf: int, size: int, *_: int
) -> int:
    return _readlink(rt, t, _path_at(rt, t, dirfd, path), buf, size)


def _readlink(rt: Runtime, t: UserTask, name: str, buf: int, size: int) -> int:
    if name == "/proc/self/exe":
        target = t.exe
    else:
        try:
            target = os.readlink(name)
        except OSError as exc:
            raise SyscallError(exc.errno or errno.EINVAL, name) from None
    data = os.fsencode(target)[:size]
    write_user(rt, t, buf, data)
    return len(data)


def sys_getdents64(rt: Runtime, t: UserTask, fd: int, buf: int, size: int, *_: int) -> int:
    data = t.files.getdents64(fd, size)
    write_user(rt, t, buf, data)
    return len(data)


def _getxattr(
    rt: Runtime, t: UserTask, path: str, name: int, buf: int, size: int, follow: bool
) -> int:
    try:
        value = os.getxattr(path, read_str(rt, t, name), follow_symlinks=follow)
    except OSError as exc:
        raise SyscallError(exc.errno or errno.ENODATA, f"getxattr: {path}") from None
    if size:
        if len(value) > size:
            raise SyscallError(errno.ERANGE, "getxattr: buffer too small")
        write_user(rt, t, buf, value)
    return len(value)


def sys_getxattr(
    rt: Runtime, t: UserTask, path: int, name: int, buf: int, size: int, *_: int
) -> int:
    return _getxattr(rt, t, read_str(rt, t, path), name, buf, size, True)


def sys_lgetxattr(
    rt: Runtime, t: UserTask, path: int, name: int, buf: int, size: int, *_: int
) -> int:
    return _getxattr(rt, t, read_str(rt, t, path), name, buf, size, False)


def sys_getcwd(rt: Runtime, t: UserTask, buf: int, size: int, *_: int) -> int:
    data = os.fsencode(os.getcwd()) + b"\0"
    if len(data) > size:
        raise SyscallError(errno.ERANGE, "getcwd")
    write_user(rt, t, buf, data)
    return len(data)


def sys_dup(rt: Runtime, t: UserTask, fd: int, *_: int) -> int:
    return t.files.dup(fd)


def sys_dup2(rt: Runtime, t: UserTask, fd: int, new: int, *_: int) -> int:
    t.files.get(fd)
    return fd if fd == new else t.files.dup(fd, new)


def sys_dup3(rt: Runtime, t: UserTask, fd: int, new: int, flags: int, *_: int) -> int:
    if fd == new or flags & ~O_CLOEXEC:
        raise SyscallError(errno.EINVAL, "dup3: same descriptor or bad flags")
    t.files.get(fd)
    n = t.files.dup(fd, new)
    t.files.get(n).cloexec = bool(flags & O_CLOEXEC)
    return n


def sys_fcntl(rt: Runtime, t: UserTask, fd: int, cmd: int, arg: int, *_: int) -> int:
    f = t.files.get(fd)
    if cmd in (0, 1030):  # F_DUPFD, F_DUPFD_CLOEXEC
        return t.files.dup(fd, lowest=arg)
    if cmd == 1:  # F_GETFD
        return int(f.cloexec)
    if cmd == 2:  # F_SETFD
        f.cloexec = bool(arg & 1)
        return 0
    if cmd == 3:  # F_GETFL
        return 1 if f.writable and f.path in ("<stdout>", "<stderr>") else 2 if f.writable else 0
    if cmd == 4:  # F_SETFL
        return 0
    raise SyscallError(errno.EINVAL, f"fcntl: command {cmd}")


def sys_pipe2(rt: Runtime, t: UserTask, fds: int, *_: int) -> int:
    r, w = t.files.pipe()
    write_user(rt, t, fds, struct.pack("<ii", r, w))
    return 0


def sys_ioctl(rt: Runtime, t: UserTask, fd: int, *_: int) -> int:
    t.files.get(fd)
    raise SyscallError(errno.ENOTTY, "ioctl")


def sys_mmap(
    rt: Runtime, t: UserTask, addr: int, length: int, prot: int, flags: int, fd: int, off: int
) -> int:
    k, mm = rt.k, t.proc.mm
    ps = k.fmt.page_size
    shared = bool(flags & MAP_SHARED)
    backing: Any = None
    kind, pgoff, name = "mmap", 0, ""
    if off % ps:
        raise SyscallError(errno.EINVAL, "mmap: offset not page-aligned")
    if not flags & MAP_ANONYMOUS:
        f = t.files.get(_s32(fd))
        if shared and prot & PROT_WRITE and not t.files.may_write(f.path):
            raise SyscallError(errno.EACCES, f"mmap: {f.path} is not writable")
        backing = open_file(k, f.path, writable=shared and bool(prot & PROT_WRITE))
        kind, pgoff, name = "file", off // ps, backing.path
    elif shared:
        backing, kind = ShmObject(ps, length), "shm"
    where: int | None = None
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        where = addr
        if flags & MAP_FIXED and not flags & MAP_FIXED_NOREPLACE and length:
            do_munmap(k, mm, addr, length)
    elif addr and not mm.overlapping(addr, addr + pg_round_up(length, ps)) and addr % ps == 0:
        where = (
            addr
            if addr >= mm.layout.mmap_min_addr and addr + length <= mm.layout.user_top
            else None
        )
    try:
        va = do_mmap(k, mm, length, prot & 7, kind, shared, backing, pgoff, name, addr=where)
        if kind == "file" and pgoff == 0:
            watch_image(rt, t, backing.path, va, exe=False)  # a shared object's load base
        return va
    finally:
        if backing is not None and backing.map_count == 0:
            release_object(k, backing)


def sys_munmap(rt: Runtime, t: UserTask, addr: int, length: int, *_: int) -> int:
    do_munmap(rt.k, t.proc.mm, addr, length)
    return 0


def sys_mprotect(rt: Runtime, t: UserTask, addr: int, length: int, prot: int, *_: int) -> int:
    do_mprotect(rt.k, t.proc.mm, addr, length, prot & 7)
    return 0


def sys_brk(rt: Runtime, t: UserTask, addr: int, *_: int) -> int:
    mm = t.proc.mm
    if addr:
        with contextlib.suppress(SyscallError):  # a failed brk returns the unchanged break
            do_brk(rt.k, mm, addr)
    return mm.brk


def sys_madvise(rt: Runtime, t: UserTask, addr: int, length: int, advice: int, *_: int) -> int:
    mm = t.proc.mm
    if advice == MADV_DONTNEED:
        end = addr + pg_round_up(length, rt.k.fmt.page_size)
        for vma in mm.overlapping(addr, end):
            if vma.backing is None and not vma.shared:
                unmap_pages(rt.k, mm, max(addr, vma.start), min(end, vma.end))
    return 0


def sys_mremap(
    rt: Runtime, t: UserTask, old: int, old_size: int, new_size: int, flags: int, new: int, *_: int
) -> int:
    return do_mremap(rt.k, t.proc.mm, old, old_size, new_size, flags, new)


def sys_msync(rt: Runtime, t: UserTask, addr: int, length: int, flags: int, *_: int) -> int:
    from vmsim.kernel.filemap import msync

    mm, ps = t.proc.mm, rt.k.fmt.page_size
    if addr % ps or flags & ~7 or flags & 5 == 5:  # MS_ASYNC and MS_SYNC together
        raise SyscallError(errno.EINVAL, "msync: bad address or flags")
    end = addr + pg_round_up(length, ps)
    covered = addr
    for vma in mm.overlapping(addr, end):
        if vma.start > covered:
            break
        covered = vma.end
    if covered < end:  # a hole in the range: ENOMEM, as Linux
        raise SyscallError(errno.ENOMEM, "msync: the range is not all mapped")
    msync(rt.k, mm, addr, end)
    return 0


def sys_exit_group(rt: Runtime, t: UserTask, status: int, *_: int) -> int:
    rt.exit(t, status & 0xFF, f"exit({status & 0xFF})")
    return 0


def sys_clone(
    rt: Runtime, t: UserTask, flags: int, stack: int, ptid: int, ctid: int, tls: int, *_: int
) -> int:
    if flags & (CLONE_VM | CLONE_THREAD) and not flags & CLONE_VFORK:
        raise Unsupported(
            f"pid {t.proc.pid}: clone with CLONE_VM (threads) is not supported by vmsim run"
        )
    return _fork(rt, t, flags, ctid, stack)


def sys_fork(rt: Runtime, t: UserTask, *_: int) -> int:
    return _fork(rt, t, 0, 0, 0)


def _fork(rt: Runtime, t: UserTask, flags: int, ctid: int, stack: int) -> int:
    child = do_fork(rt.k, t.proc)
    ct = rt.new_task(child, t.files.fork(), t.exe)
    ct.signals = t.signals.fork()
    ct.cpu.copy_registers_from(t.cpu)
    ct.watches, ct.calls = dict(t.watches), list(t.calls)
    rearm(rt, ct)
    ct.cpu.set_reg("rax", 0)
    if stack:
        ct.cpu.set_reg("rsp", stack)
    if flags & CLONE_CHILD_SETTID and ctid:
        copy_out(rt.k, child.mm, ctid, struct.pack("<i", child.pid))
    rt.start(ct)
    return child.pid


def sys_wait4(
    rt: Runtime, t: UserTask, pid: int, wstatus: int, options: int, rusage: int, *_: int
) -> int | Blocked:
    target = _s32(pid)
    target = -1 if target < -1 or target == 0 else target

    def finish(got: tuple[int, int]) -> int:
        cpid, status = got
        if wstatus:
            write_user(rt, t, wstatus, struct.pack("<i", sig.wait_status(status)))
        return cpid

    got = do_wait(rt.k, t.proc, target)
    if got is not None:
        return finish(got)
    if options & WNOHANG:
        return 0
    return Blocked(Wait(target), finish)


def sys_kill(rt: Runtime, t: UserTask, pid: int, signo: int, *_: int) -> int:
    target = rt.tasks.get(_s32(pid)) if _s32(pid) > 0 else t
    if target is None or not target.proc.alive:
        raise SyscallError(errno.ESRCH, f"kill: no process {pid}")
    deliver(rt, target, signo, sig.SI_USER, t.proc.pid)
    return 0


def sys_rt_sigqueueinfo(rt: Runtime, t: UserTask, pid: int, signo: int, uinfo: int, *_: int) -> int:
    """sigqueue: a signal with the sender's si_code (SI_QUEUE) and si_value."""
    target = rt.tasks.get(_s32(pid))
    if target is None or not target.proc.alive:
        raise SyscallError(errno.ESRCH, f"sigqueue: no process {pid}")
    raw = read_user(rt, t, uinfo, 32)
    (code,) = struct.unpack_from("<i", raw, 8)
    (value,) = struct.unpack_from("<q", raw, 24)  # si_value
    if code >= 0 and target is not t:  # Linux: only the kernel may claim si_code >= 0
        raise SyscallError(errno.EPERM, "sigqueue: si_code >= 0 for another process")
    deliver(rt, target, signo, code, t.proc.pid, value)
    return 0


def sys_tgkill(rt: Runtime, t: UserTask, tgid: int, tid: int, signo: int, *_: int) -> int:
    return sys_tkill(rt, t, tid, signo)


def sys_tkill(rt: Runtime, t: UserTask, tid: int, signo: int, *_: int) -> int:
    target = rt.tasks.get(_s32(tid))
    if target is None or not target.proc.alive:
        raise SyscallError(errno.ESRCH, f"tkill: no thread {tid}")
    deliver(rt, target, signo, sig.SI_TKILL, t.proc.pid)
    return 0


def deliver(
    rt: Runtime, t: UserTask, signo: int, code: int = sig.SI_USER, sender: int = 0,
    status: int = 0,
) -> None:  # fmt: skip
    """Send signo to t (from pid sender; status: SIGCHLD's si_status or sigqueue's
    si_value): pending until t returns to user mode (EAGAIN: a real-time queue is full).

    An unblocked signal whose default action terminates kills t at once (even one
    waiting in wait4); an ignored one that is not blocked is discarded.
    """
    if not 0 <= signo <= sig.NSIG:
        raise SyscallError(errno.EINVAL, f"bad signal {signo}")
    s = t.signals
    if signo == 0 or (s.ignores(signo) and not s.is_blocked(signo)):
        return
    if s.kills(signo) and not s.is_blocked(signo):
        rt.kill(t, signo)
        return
    if not s.post(signo, (code, sender | os.getuid() << 32, status)):
        raise SyscallError(errno.EAGAIN, f"signal {signo}: too many queued")


def _read_strv(rt: Runtime, t: UserTask, va: int) -> list[str]:
    """A NULL-terminated array of string pointers (argv, envp)."""
    out: list[str] = []
    while va and len(out) < 4096:
        (ptr,) = struct.unpack("<Q", read_user(rt, t, va + 8 * len(out), 8))
        if not ptr:
            return out
        out.append(read_str(rt, t, ptr))
    return out


def sys_execve(rt: Runtime, t: UserTask, path: int, argv: int, envp: int, *_: int) -> int:
    k, proc = rt.k, t.proc
    name = read_str(rt, t, path)
    args, env = _read_strv(rt, t, argv), _read_strv(rt, t, envp)
    read_elf(name, k.fmt.user_top, k.fmt.page_size)  # ENOENT, ENOEXEC: the old image stays
    for vma in list(proc.mm.vmas):  # the point of no return
        close_vma(k, proc.mm, vma)
    start = exec_program(k, proc, name, args, env)
    old = t.cpu
    t.cpu = rt.new_cpu(rt.trap_handler(t))
    t.cpu.fills = old.fills
    old.close()
    t.cpu.set_reg("rip", start.pc)
    t.cpu.set_reg("rsp", start.sp)
    t.watches, t.calls = {}, []
    watch_image(rt, t, start.image.path, start.image.base, exe=True)
    for fd in [fd for fd, f in t.files.fds.items() if f.cloexec]:
        t.files.close(fd)
    t.signals.reset_on_exec()
    t.exe, t.image = start.image.path, start.image
    proc.name = os.path.basename(name)
    return 0


def sys_rt_sigreturn(rt: Runtime, t: UserTask, *_: int) -> int:
    if not sig.rt_sigreturn(t.cpu, t.signals, partial(read_user, rt, t)):
        rt.kill(t, sig.SIGSEGV, "rt_sigreturn without a signal frame")
        return 0
    return t.cpu.reg("rax")


def sys_rt_sigaction(rt: Runtime, t: UserTask, signo: int, act: int, oact: int, *_: int) -> int:
    if not 0 < signo < sig.NSIG or (act and signo in (sig.SIGKILL, sig.SIGSTOP)):
        raise SyscallError(errno.EINVAL, f"sigaction: signal {signo}")
    if oact:
        write_user(rt, t, oact, t.signals.action(signo).pack())
    if act:
        t.signals.actions[signo] = sig.SigAction.unpack(read_user(rt, t, act, sig.SIGACTION.size))
        if t.signals.ignores(signo):  # setting SIG_IGN discards a pending signal
            t.signals.pending.pop(signo, None)
    return 0


def sys_rt_sigprocmask(rt: Runtime, t: UserTask, how: int, nset: int, oset: int, *_: int) -> int:
    if oset:
        write_user(rt, t, oset, struct.pack("<Q", t.signals.blocked))
    if nset:
        (mask,) = struct.unpack("<Q", read_user(rt, t, nset, 8))
        if how == 0:
            t.signals.blocked |= mask
        elif how == 1:
            t.signals.blocked &= ~mask
        else:
            t.signals.blocked = mask
    return 0


def sys_pause(rt: Runtime, t: UserTask, *_: int) -> int:
    """Sleep until a signal runs a handler (or kills): then EINTR (run_task's retry)."""
    raise SignalWait


def sys_rt_sigsuspend(rt: Runtime, t: UserTask, uset: int, size: int, *_: int) -> int:
    """Wait for a signal with the mask replaced by *uset; the handler's return restores
    the mask of before. EINTR at once if the new mask lets a pending signal through."""
    if size != 8:
        raise SyscallError(errno.EINVAL, f"rt_sigsuspend: sigset size {size}")
    if t.suspend_mask is None:  # not a retry
        (mask,) = struct.unpack("<Q", read_user(rt, t, uset, 8))
        t.suspend_mask, t.signals.blocked = t.signals.blocked, mask
    if signal_due(t):
        return -errno.EINTR
    raise SignalWait


def sys_rt_sigpending(rt: Runtime, t: UserTask, uset: int, size: int, *_: int) -> int:
    s = t.signals
    write_user(rt, t, uset, struct.pack("<Q", s.pending_mask() & s.blocked))
    return 0


def sys_arch_prctl(rt: Runtime, t: UserTask, code: int, addr: int, *_: int) -> int:
    if code == ARCH_SET_FS:
        t.cpu.set_reg("fs_base", addr)
        return 0
    if code == ARCH_GET_FS:
        write_user(rt, t, addr, struct.pack("<Q", t.cpu.reg("fs_base")))
        return 0
    raise SyscallError(errno.EINVAL, f"arch_prctl: code {code:#x}")


def sys_getpid(rt: Runtime, t: UserTask, *_: int) -> int:
    return t.proc.pid


def sys_getppid(rt: Runtime, t: UserTask, *_: int) -> int:
    return t.proc.parent.pid if t.proc.parent is not None else 1


def sys_zero(rt: Runtime, t: UserTask, *_: int) -> int:
    return 0


def sys_getuid(rt: Runtime, t: UserTask, *_: int) -> int:
    return os.getuid()


def sys_geteuid(rt: Runtime, t: UserTask, *_: int) -> int:
    return os.geteuid()


def sys_getgid(rt: Runtime, t: UserTask, *_: int) -> int:
    return os.getgid()


def sys_getegid(rt: Runtime, t: UserTask, *_: int) -> int:
    return os.getegid()


def sys_getresuid(rt: Runtime, t: UserTask, r: int, e: int, s: int, *_: int) -> int:
    for va, value in zip((r, e, s), os.getresuid(), strict=True):
        write_user(rt, t, va, struct.pack("<I", value))
    return 0


def sys_getresgid(rt: Runtime, t: UserTask, r: int, e: int, s: int, *_: int) -> int:
    for va, value in zip((r, e, s), os.getresgid(), strict=True):
        write_user(rt, t, va, struct.pack("<I", value))
    return 0


def sys_getgroups(rt: Runtime, t: UserTask, size: int, va: int, *_: int) -> int:
    groups = os.getgroups()
    if size and _s32(size) < len(groups):
        raise SyscallError(errno.EINVAL, "getgroups: buffer too small")
    if size:
        write_user(rt, t, va, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def sys_enosys(rt: Runtime, t: UserTask, *_: int) -> int:
    raise SyscallError(errno.ENOSYS, "not implemented")


def sys_uname(rt: Runtime, t: UserTask, buf: int, *_: int) -> int:
    fields = ("Linux", "vmsim", "6.1.0-vmsim", "#1 SMP vmsim", "x86_64", "(none)")
    write_user(rt, t, buf, b"".join(f.encode().ljust(65, b"\0") for f in fields))
    return 0


def _rlimit(rt: Runtime, resource: int) -> tuple[int, int]:
    if resource == 3:  # RLIMIT_STACK
        return rt.k.config.stack_limit, RLIM_INFINITY
    if resource == 7:  # RLIMIT_NOFILE
        return 1024, 4096
    return RLIM_INFINITY, RLIM_INFINITY


def sys_prlimit64(
    rt: Runtime, t: UserTask, pid: int, resource: int, new: int, old: int, *_: int
) -> int:
    if old:
        write_user(rt, t, old, struct.pack("<QQ", *_rlimit(rt, resource)))
    return 0


def sys_getrlimit(rt: Runtime, t: UserTask, resource: int, old: int, *_: int) -> int:
    return sys_prlimit64(rt, t, 0, resource, 0, old)


def sys_getrandom(rt: Runtime, t: UserTask, buf: int, n: int, *_: int) -> int:
    n = min(n, 1 << 16)
    write_user(rt, t, buf, rt.rand.randbytes(n))
    return n


def sys_clock_gettime(rt: Runtime, t: UserTask, clk: int, tp: int, *_: int) -> int:
    ns = rt.now_ns() + (BOOT_EPOCH * 10**9 if clk in (0, 5, 8, 11) else 0)
    write_user(rt, t, tp, struct.pack("<qq", ns // 10**9, ns % 10**9))
    return 0


def sys_gettimeofday(rt: Runtime, t: UserTask, tv: int, *_: int) -> int:
    ns = rt.now_ns() + BOOT_EPOCH * 10**9
    if tv:
        write_user(rt, t, tv, struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000))
    return 0


def sys_time(rt: Runtime, t: UserTask, tloc: int, *_: int) -> int:
    secs = (rt.now_ns() // 10**9) + BOOT_EPOCH
    if tloc:
        write_user(rt, t, tloc, struct.pack("<q", secs))
    return secs


def sys_nanosleep(rt: Runtime, t: UserTask, req: int, *_: int) -> int:
    secs, ns = struct.unpack("<qq", read_user(rt, t, req, 16))
    rt.ticks += (secs * 10**9 + ns) // NS_PER_TICK
    return 0


def sys_clock_nanosleep(rt: Runtime, t: UserTask, clk: int, flags: int, req: int, *_: int) -> int:
    return sys_nanosleep(rt, t, req)


def sys_futex(rt: Runtime, t: UserTask, uaddr: int, op: int, val: int, *_: int) -> int:
    if op & 0x7F == 0:  # FUTEX_WAIT: nobody else could change it, single-threaded
        raise SyscallError(errno.EAGAIN, "futex wait")
    return 0


def sys_set_tid_address(rt: Runtime, t: UserTask, *_: int) -> int:
    return t.proc.pid


def sys_sched_getaffinity(rt: Runtime, t: UserTask, pid: int, size: int, mask: int, *_: int) -> int:
    write_user(rt, t, mask, struct.pack("<Q", 1))
    return 8


def sys_umask(rt: Runtime, t: UserTask, *_: int) -> int:
    return 0o022


def sys_getrusage(rt: Runtime, t: UserTask, who: int, buf: int, *_: int) -> int:
    s = t.proc.stats
    t.max_rss = max(t.max_rss, s.rss)
    longs = [
        0,
        0,
        0,
        0,
        t.max_rss * rt.k.fmt.page_size // 1024,
        0,
        0,
        0,
        s.min_flt,
        s.maj_flt,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
    write_user(rt, t, buf, struct.pack("<18q", *longs))
    return 0


SYSCALLS: dict[int, tuple[str, Handler]] = {
    0: ("read", sys_read), 1: ("write", sys_write), 2: ("open", sys_open),
    3: ("close", sys_close), 4: ("stat", sys_stat), 5: ("fstat", sys_fstat),
    6: ("lstat", sys_lstat), 8: ("lseek", sys_lseek), 9: ("mmap", sys_mmap),
    10: ("mprotect", sys_mprotect), 11: ("munmap", sys_munmap), 12: ("brk", sys_brk),
    13: ("rt_sigaction", sys_rt_sigaction), 14: ("rt_sigprocmask", sys_rt_sigprocmask),
    15: ("rt_sigreturn", sys_rt_sigreturn),
    16: ("ioctl", sys_ioctl), 17: ("pread64", sys_pread64), 18: ("pwrite64", sys_pwrite64),
    19: ("readv", sys_readv), 20: ("writev", sys_writev), 21: ("access", sys_access),
    22: ("pipe", sys_pipe2), 24: ("sched_yield", sys_zero), 25: ("mremap", sys_mremap),
    26: ("msync", sys_msync), 28: ("madvise", sys_madvise), 32: ("dup", sys_dup),
    33: ("dup2", sys_dup2), 35: ("nanosleep", sys_nanosleep), 39: ("getpid", sys_getpid),
    56: ("clone", sys_clone), 57: ("fork", sys_fork), 58: ("vfork", sys_fork),
    59: ("execve", sys_execve),
    60: ("exit", sys_exit_group), 61: ("wait4", sys_wait4), 62: ("kill", sys_kill),
    63: ("uname", sys_uname), 72: ("fcntl", sys_fcntl), 79: ("getcwd", sys_getcwd),
    89: ("readlink", sys_readlink), 95: ("umask", sys_umask),
    96: ("gettimeofday", sys_gettimeofday),
    97: ("getrlimit", sys_getrlimit), 98: ("getrusage", sys_getrusage),
    102: ("getuid", sys_getuid), 104: ("getgid", sys_getgid), 107: ("geteuid", sys_geteuid),
    108: ("getegid", sys_getegid), 110: ("getppid", sys_getppid),
    115: ("getgroups", sys_getgroups), 118: ("getresuid", sys_getresuid),
    120: ("getresgid", sys_getresgid), 292: ("dup3", sys_dup3),
    127: ("rt_sigpending", sys_rt_sigpending), 130: ("rt_sigsuspend", sys_rt_sigsuspend),
    129: ("rt_sigqueueinfo", sys_rt_sigqueueinfo),
    34: ("pause", sys_pause),
    158: ("arch_prctl", sys_arch_prctl), 186: ("gettid", sys_getpid), 200: ("tkill", sys_tkill),
    191: ("getxattr", sys_getxattr), 192: ("lgetxattr", sys_lgetxattr),
    201: ("time", sys_time), 202: ("futex", sys_futex), 217: ("getdents64", sys_getdents64),
    204: ("sched_getaffinity", sys_sched_getaffinity),
    218: ("set_tid_address", sys_set_tid_address), 228: ("clock_gettime", sys_clock_gettime),
    230: ("clock_nanosleep", sys_clock_nanosleep), 231: ("exit_group", sys_exit_group),
    234: ("tgkill", sys_tgkill), 257: ("openat", sys_openat), 262: ("newfstatat", sys_newfstatat),
    267: ("readlinkat", sys_readlinkat), 269: ("faccessat", sys_faccessat),
    273: ("set_robust_list", sys_zero), 293: ("pipe2", sys_pipe2),
    302: ("prlimit64", sys_prlimit64), 318: ("getrandom", sys_getrandom),
    332: ("statx", sys_enosys), 334: ("rseq", sys_enosys), 435: ("clone3", sys_enosys),
    439: ("faccessat2", sys_faccessat),
}  # fmt: skip
"""Linux x86-64 syscall numbers -> (name, handler)."""

_UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
_NAMES: dict[int, str] = {}


def syscall_name(nr: int) -> str:
    """The Linux name of an x86-64 syscall number (from the kernel headers when present)."""
    if nr in SYSCALLS:
        return SYSCALLS[nr][0]
    if not _NAMES and os.path.exists(_UNISTD):
        with open(_UNISTD) as f:
            for m in re.finditer(r"#define __NR_(\w+) (\d+)", f.read()):
                _NAMES[int(m.group(2))] = m.group(1)
    return _NAMES.get(nr, f"syscall_{nr}")
