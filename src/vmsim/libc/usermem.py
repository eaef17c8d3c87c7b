"""UserMemory: what the C library needs from the process it runs in.

`vmsim.Process` implements it on the simulated machine (every load and store goes
through the MMU; first touches fault pages in). The C library (malloc.py, cxx.py,
stack.py) is written against this protocol only, so it can also run over a plain
flat memory in unit tests.
"""

from __future__ import annotations

from typing import NoReturn, Protocol

from vmsim.events import Event


class UserMemory(Protocol):
    """A process's view of its own memory and the system calls libc uses."""

    @property
    def pid(self) -> int:
        """Process id (for events and error messages)."""
        ...

    @property
    def page_size(self) -> int:
        """Page size in bytes."""
        ...

    def load(self, va: int, n: int) -> bytes:
        """Read n bytes at va (raises SegmentationFault on a bad address)."""
        ...

    def store(self, va: int, data: bytes) -> None:
        """Write data at va (raises SegmentationFault on a bad address)."""
        ...

    def sbrk(self, increment: int) -> int:
        """Move the program break by increment; return the old break. OSError(ENOMEM) if not."""
        ...

    def brk(self, addr: int) -> int:
        """Set the program break to addr; return the new break. OSError(ENOMEM) if not."""
        ...

    def mmap(self, length: int, prot: str = "rw") -> int:
        """Map length bytes of anonymous private memory; return its start. OSError(ENOMEM)."""
        ...

    def munmap(self, va: int, length: int) -> None:
        """Unmap [va, va + length). OSError(EINVAL) if va is not page-aligned."""
        ...

    @property
    def sp(self) -> int:
        """The stack pointer."""
        ...

    @sp.setter
    def sp(self, value: int) -> None: ...

    def emit(self, event: Event) -> None:
        """Record an event in the machine's log (a no-op when recording is off)."""
        ...

    def abort(self, message: str) -> NoReturn:
        """SIGABRT: kill the process and raise HeapCorruption(message)."""
        ...
