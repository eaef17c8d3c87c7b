"""signal: Linux's signals for real programs: numbers, default actions, wait statuses.

A process killed by a signal has exit_status -signo (as subprocess reports it); the
shell's status is 128 + signo (SIGSEGV 139, SIGBUS 135, SIGABRT 134, SIGKILL 137).
sigaction records handlers; a signal whose action is the default (SIG_DFL) terminates
the process, is ignored (SIGCHLD, SIGWINCH, SIGURG, SIGCONT) or ignored because the
program asked (SIG_IGN). A handler runs on the program's stack in Linux's rt_sigframe
(sigcontext, sigmask, siginfo) and returns through its restorer and rt_sigreturn.

A process that exits sends its parent SIGCHLD (si_code CLD_EXITED or CLD_KILLED, si_pid,
si_status), ignored unless the parent installed a handler.

A signal the process blocks (sigprocmask, or a running handler's mask) stays pending,
once for a standard signal, every instance in order for a real-time one (SIGRTMIN..,
with sigqueue's value), until the mask lets it through; pending signals
are delivered, lowest number first, whenever the process returns to user mode. A fault
signal (SIGSEGV, SIGBUS) that is blocked or ignored kills, as Linux's force_sig_fault.
"""

from __future__ import annotations

import signal as _host_signal
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vmsim.hw.cpu import CPU

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 9, 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGURG, SIGWINCH = 17, 18, 19, 23, 28
SIGRTMIN = 32
"""The first real-time signal (glibc keeps 32 and 33 and calls 34 SIGRTMIN)."""
RT_QUEUE_MAX = 1 << 15
"""Instances of one real-time signal that may wait (as RLIMIT_SIGPENDING bounds them)."""
NSIG = 64
SIG_DFL, SIG_IGN = 0, 1
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
IGNORED_BY_DEFAULT = frozenset({SIGCHLD, SIGCONT, SIGURG, SIGWINCH})
SIGACTION = struct.Struct("<QQQQ")
"""struct kernel_sigaction of x86-64: handler, flags, restorer, mask (8-byte sigset)."""


def signal_name(signo: int) -> str:
    """SIGSEGV-style name of a signal number."""
    try:
        return _host_signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


def shell_status(exit_status: int) -> int:
    """The status a shell reports: the exit code, or 128 + signo for a killed process."""
    return 128 - exit_status if exit_status < 0 else exit_status & 0xFF


def wait_status(exit_status: int) -> int:
    """The wstatus wait4 stores: code << 8 for an exit, the signal number for a kill."""
    return -exit_status & 0x7F if exit_status < 0 else (exit_status & 0xFF) << 8


@dataclass(frozen=True)
class SigAction:
    """What the program asked for a signal (struct kernel_sigaction)."""

    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0

    def pack(self) -> bytes:
        """The bytes of struct kernel_sigaction."""
        return SIGACTION.pack(self.handler, self.flags, self.restorer, self.mask)

    @classmethod
    def unpack(cls, data: bytes) -> SigAction:
        """Parse struct kernel_sigaction."""
        return cls(*SIGACTION.unpack(data))


_DEFAULT_ACTION = SigAction()

SigInfo = tuple[int, int, int]
"""What a pending signal carries to its handler's siginfo: (si_code, si_addr or si_pid |
si_uid << 32, si_status for SIGCHLD or si_value for sigqueue, else 0)."""


@dataclass
class SignalState:
    """A process's signal actions and blocked mask."""

    actions: dict[int, SigAction] = field(default_factory=dict)
    blocked: int = 0
    saved: list[tuple[int, Any]] = field(default_factory=list)
    """(frame address, CPU context) of each handler running, innermost last."""
    pending: dict[int, list[SigInfo]] = field(default_factory=dict)
    """Signals sent but not delivered yet, signo -> its instances in the order sent: one
    at most for a standard signal, any number for a real-time one (SIGRTMIN..)."""

    def post(self, signo: int, info: SigInfo) -> bool:
        """Make signo pending with info; False if a real-time queue is full (EAGAIN)."""
        queue = self.pending.setdefault(signo, [])
        if signo < SIGRTMIN:
            if not queue:
                queue.append(info)
            return True
        if len(queue) >= RT_QUEUE_MAX:
            return False
        queue.append(info)
        return True

    def take(self, signo: int) -> SigInfo:
        """The oldest pending instance of signo, no longer pending."""
        queue = self.pending[signo]
        info = queue.pop(0)
        if not queue:
            del self.pending[signo]
        return info

    def action(self, signo: int) -> SigAction:
        """The action for signo (default if never set)."""
        return self.actions.get(signo, _DEFAULT_ACTION)

    def kills(self, signo: int) -> bool:
        """Whether delivering signo terminates the process (default action: terminate)."""
        if signo in (SIGKILL, SIGSTOP):
            return True
        act = self.action(signo)
        if act.handler == SIG_IGN:
            return False
        return act.handler == SIG_DFL and signo not in IGNORED_BY_DEFAULT

    def is_blocked(self, signo: int) -> bool:
        """Whether the mask holds signo back (SIGKILL and SIGSTOP never are)."""
        return bool(self.blocked & ~UNBLOCKABLE & (1 << (signo - 1)))

    def ignores(self, signo: int) -> bool:
        """Whether delivering signo does nothing (SIG_IGN, or ignored by default)."""
        act = self.action(signo)
        return act.handler == SIG_IGN or (act.handler == SIG_DFL and signo in IGNORED_BY_DEFAULT)

    def next_pending(self) -> int | None:
        """The lowest pending signal the mask lets through, if any."""
        ready = [s for s in self.pending if not self.is_blocked(s)]
        return min(ready) if ready else None

    def pending_mask(self) -> int:
        """The pending signals as a sigset (bit signo - 1)."""
        mask = 0
        for s in self.pending:
            mask |= 1 << (s - 1)
        return mask

    def reset_on_exec(self) -> None:
        """execve: handlers go back to the default; ignored signals stay ignored."""
        self.actions = {n: a for n, a in self.actions.items() if a.handler == SIG_IGN}
        self.saved.clear()

    def fork(self) -> SignalState:
        """The child's copy (handlers and mask are inherited; nothing is pending)."""
        return SignalState(dict(self.actions), self.blocked)


# --- handlers: the signal frame on the user stack, and rt_sigreturn ----------------------

SA_NODEFER, SA_RESETHAND, SA_RESTORER, SA_SIGINFO = 0x40000000, 0x80000000, 0x04000000, 4
SA_RESTART, SA_NOCLDWAIT = 0x10000000, 2
SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, SI_USER, SI_TKILL = 1, 2, 2, 0, -6
CLD_EXITED, CLD_KILLED = 1, 2
"""SIGCHLD's si_code: the child exited, or a signal killed it (without a core dump)."""
RED_ZONE = 128
_UC_MCONTEXT = 8 + 40
"""Offset of uc_mcontext in the frame: pretcode, then uc_flags, uc_link, uc_stack."""
_SIGCONTEXT_REGS = (
    *("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx"),
    *("rdx", "rax", "rcx", "rsp", "rip", "rflags"),
)
_SIGCONTEXT = struct.Struct("<18Q")
_FRAME_SIZE = 8 + 40 + 256 + 8 + 128
"""pretcode, ucontext (flags, link, stack, sigcontext, sigmask), siginfo."""


def handles(state: SignalState, signo: int) -> bool:
    """Whether the program installed a handler that runs for signo."""
    return signo not in (SIGKILL, SIGSTOP) and state.action(signo).handler > SIG_IGN


def setup_rt_frame(
    cpu: CPU,
    state: SignalState,
    signo: int,
    code: int,
    addr: int,
    copy_out: Callable[[int, bytes], None],
    status: int = 0,
    saved_mask: int | None = None,
) -> None:
    """Enter the handler of signo: Linux's rt_sigframe below the red zone, registers set.

    The interrupted register state is in the frame's sigcontext (a handler may change
    it, as Linux allows); the CPU's full state (FPU, SSE) is kept by the kernel until
    rt_sigreturn, which restores it and then the sigcontext registers over it. siginfo
    holds si_signo, si_code, then si_addr (or si_pid and si_uid) and si_status (or
    si_value). The frame keeps the mask rt_sigreturn restores: the current one, or
    saved_mask (sigsuspend's).
    """
    act = state.action(signo)
    regs = [cpu.reg(r) for r in _SIGCONTEXT_REGS]
    frame = ((cpu.reg("rsp") - RED_ZONE - _FRAME_SIZE) & ~15) - 8
    info = struct.pack("<iii4xQq", signo, 0, code, addr, status).ljust(128, b"\0")
    uc = struct.pack("<QQQi4xQ", 0, 0, 0, 2, 0)  # uc_flags, uc_link, uc_stack (SS_DISABLE)
    sigcontext = _SIGCONTEXT.pack(*regs) + struct.pack("<Q", 0x33) + bytes(256 - 152)
    mask = state.blocked if saved_mask is None else saved_mask
    data = struct.pack("<Q", act.restorer) + uc + sigcontext + struct.pack("<Q", mask)
    copy_out(frame, data + info)
    state.saved.append((frame, cpu.uc.context_save()))
    if not act.flags & SA_NODEFER:
        state.blocked |= 1 << (signo - 1)
    state.blocked |= act.mask
    if act.flags & SA_RESETHAND:
        state.actions.pop(signo, None)
    cpu.set_reg("rsp", frame)
    cpu.set_reg("rip", act.handler)
    cpu.set_reg("rdi", signo)
    cpu.set_reg("rsi", frame + _FRAME_SIZE - 128)
    cpu.set_reg("rdx", frame + 8)
    cpu.set_reg("rax", 0)


def rt_sigreturn(cpu: CPU, state: SignalState, copy_in: Callable[[int, int], bytes]) -> bool:
    """Return from a handler (rsp is just past pretcode); False if there is no frame."""
    frame = cpu.reg("rsp") - 8
    while state.saved and state.saved[-1][0] < frame:
        state.saved.pop()  # frames a handler left with siglongjmp
    if not state.saved or state.saved[-1][0] != frame:
        return False
    _, ctx = state.saved.pop()
    raw = copy_in(frame + _UC_MCONTEXT, _SIGCONTEXT.size)
    mask = copy_in(frame + _UC_MCONTEXT + 256, 8)
    cpu.uc.context_restore(ctx)
    for name, value in zip(_SIGCONTEXT_REGS, _SIGCONTEXT.unpack(raw), strict=True):
        cpu.set_reg(name, value)
    (state.blocked,) = struct.unpack("<Q", mask)
    return True
