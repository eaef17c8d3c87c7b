"""signal: Linux's signals for real programs: numbers, default actions, wait statuses.

A process killed by a signal has exit_status -signo (as subprocess reports it); the
shell's status is 128 + signo (SIGSEGV 139, SIGBUS 135, SIGABRT 134, SIGKILL 137).
sigaction records handlers; a signal whose action is the default (SIG_DFL) terminates
the process, is ignored (SIGCHLD, SIGWINCH, SIGURG, SIGCONT) or ignored because the
program asked (SIG_IGN).
"""

from __future__ import annotations

import signal as _host_signal
import struct
from dataclasses import dataclass, field

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 9, 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGURG, SIGWINCH = 17, 18, 19, 23, 28
NSIG = 64
SIG_DFL, SIG_IGN = 0, 1
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


@dataclass
class SignalState:
    """A process's signal actions and blocked mask."""

    actions: dict[int, SigAction] = field(default_factory=dict)
    blocked: int = 0

    def action(self, signo: int) -> SigAction:
        """The action for signo (default if never set)."""
        return self.actions.get(signo, SigAction())

    def kills(self, signo: int) -> bool:
        """Whether delivering signo terminates the process (default action: terminate)."""
        if signo in (SIGKILL, SIGSTOP):
            return True
        act = self.action(signo)
        if act.handler == SIG_IGN:
            return False
        return act.handler == SIG_DFL and signo not in IGNORED_BY_DEFAULT

    def fork(self) -> SignalState:
        """The child's copy (handlers and mask are inherited)."""
        return SignalState(dict(self.actions), self.blocked)
