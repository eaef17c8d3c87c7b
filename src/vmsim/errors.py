"""Every error vmsim raises on purpose: typed, with the what and the where.

Errors a user can cause (a bad option, a SIGSEGV in a simulated process, a malformed
trace line) derive from `VmsimError`; the `vmsim` command prints them as one clear
line. `KernelPanic` is different: it means a broken kernel invariant, a vmsim bug.
"""

from __future__ import annotations

ADDRESS_MASK = (1 << 64) - 1


def format_addr(address: int) -> str:
    """An address as hex, unsigned: a negative int is the 64-bit pointer it converts to.

    Every error and event names addresses through this ("0xffff800000000000", never
    "-0x800000000000").
    """
    return f"{address & ADDRESS_MASK:#x}" if address < 0 else f"{address:#x}"


class VmsimError(Exception):
    """Base of every error a user of vmsim can cause."""


class ConfigError(VmsimError, ValueError):
    """A configuration option has a value that is not allowed.

    Carries the option's name, the value given and what is allowed.
    """

    def __init__(self, option: str, value: object, allowed: str) -> None:
        self.option = option
        self.value = value
        self.allowed = allowed
        super().__init__(f"{option}={value!r}: {allowed}")


class KernelPanic(RuntimeError):
    """A kernel invariant is broken: a bug in vmsim, never a user error."""


class OutOfMemory(VmsimError, MemoryError):
    """No frame can be found for a request and nothing can be reclaimed."""


class SimulatedSignal(VmsimError):
    """A signal delivered to a simulated process; the process is dead afterwards."""

    signal_name = "SIGKILL"

    def __init__(self, pid: int, message: str) -> None:
        self.pid = pid
        super().__init__(message)


class SegmentationFault(SimulatedSignal):
    """SIGSEGV: an access to an address in no VMA (SEGV_MAPERR) or not allowed (SEGV_ACCERR)."""

    signal_name = "SIGSEGV"

    def __init__(self, pid: int, address: int, access: str, code: str) -> None:
        self.address = address
        self.access = access
        self.code = code
        super().__init__(pid, f"pid {pid}: SIGSEGV ({code}) on {access} at {format_addr(address)}")


class BusError(SimulatedSignal):
    """SIGBUS: an access to a file mapping beyond the end of the file."""

    signal_name = "SIGBUS"

    def __init__(self, pid: int, address: int, access: str, reason: str) -> None:
        self.address = address
        self.access = access
        super().__init__(pid, f"pid {pid}: SIGBUS on {access} at {format_addr(address)}: {reason}")


class HeapCorruption(SimulatedSignal):
    """SIGABRT from the C library: it found its heap metadata corrupted."""

    signal_name = "SIGABRT"

    def __init__(self, pid: int, message: str) -> None:
        self.glibc_message = message
        super().__init__(pid, message)


class ProcessKilled(VmsimError):
    """The process is dead (killed by a signal, the OOM killer, or exited)."""

    def __init__(self, pid: int, reason: str) -> None:
        self.pid = pid
        self.reason = reason
        super().__init__(f"pid {pid} is dead: {reason}")


class BadAlloc(VmsimError, MemoryError):
    """std::bad_alloc: operator new could not allocate and no new-handler helped."""


class TraceFormatError(VmsimError, ValueError):
    """A trace file has a line (or record) that its format does not allow."""

    def __init__(self, path: str, line: int, text: str, why: str = "malformed line") -> None:
        self.path = path
        self.line = line
        self.text = text
        self.why = why
        where = f"{path}:{line}" if line > 0 else path
        super().__init__(f"{where}: {why}: {text!r}" if text else f"{where}: {why}")


class SyscallError(VmsimError, OSError):
    """A system call failed: `errno` is the C errno (EINVAL, ENOMEM, EFAULT, ...)."""

    def __init__(self, errno_: int, message: str) -> None:
        import os

        super().__init__(errno_, f"{os.strerror(errno_)}: {message}")

    def __str__(self) -> str:
        return str(self.args[1])
