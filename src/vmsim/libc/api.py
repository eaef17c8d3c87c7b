"""What every allocator offers (the `Allocator` protocol) and what inspection returns.

`vmsim.Process` delegates `p.malloc(...)`, `p.heap`, `p.mallinfo()` etc. to an object
of this protocol, picked by name from `vmsim.libc.ALLOCATORS`: the one registry of
allocators, here below them (each registers itself with `@register_allocator`), read by
`vmsim.libc.registry` above them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from vmsim.errors import format_addr
from vmsim.events import LibcCall, LibcReturn
from vmsim.libc.usermem import UserMemory


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the heap as `heap.chunks()` lists it.

    addr is the chunk's start (its header), size includes the header, in_use says
    whether the program holds it; where says where a free chunk waits ("top",
    "tcache", "fastbin", "unsorted", "smallbin", "largebin"), or "in use" /
    "mmapped" for held ones.
    """

    addr: int
    size: int
    in_use: bool
    where: str

    @property
    def mem(self) -> int:
        """The pointer malloc returned for this chunk (its header is 16 bytes)."""
        return self.addr + 16


@dataclass(frozen=True, slots=True)
class MallInfo:
    """Heap statistics: glibc's `struct mallinfo2` fields, then vmsim's own summary.

    glibc counts chunks sitting in the tcache as in use (uordblks), since the arena
    lent them to the thread. vmsim's `in_use`/`free` are the program's view: bytes
    in chunks it holds (arena and mmapped, headers included) versus bytes it could
    get back without a system call (bins, fastbins, tcache and top).

    fragmentation = 1 - largest_free / free: 0.0 when all free memory is one block
    (or there is none), towards 1.0 when it is scattered in many small pieces.
    """

    arena: int
    """Bytes obtained from the system with brk (av->system_mem)."""
    ordblks: int
    """Free chunks in bins, plus the top chunk."""
    smblks: int
    """Chunks in fastbins."""
    hblks: int
    """Chunks obtained with mmap."""
    hblkhd: int
    """Bytes in mmapped chunks."""
    usmblks: int
    fsmblks: int
    """Bytes in fastbins."""
    uordblks: int
    """glibc's in-use bytes: arena minus bins, fastbins and top."""
    fordblks: int
    """glibc's free bytes: bins, fastbins and top."""
    keepcost: int
    """Size of the top chunk (what malloc_trim could release at most)."""
    tcache_blocks: int
    tcache_bytes: int
    in_use: int
    """Bytes in chunks the program holds (arena and mmapped)."""
    free: int
    """Bytes free for the program to reuse (fordblks + tcache_bytes)."""
    largest_free: int
    """The largest free chunk (top included)."""
    fragmentation: float

    @property
    def mmapped_blocks(self) -> int:
        """Number of mmapped chunks (hblks)."""
        return self.hblks

    @property
    def mmapped_bytes(self) -> int:
        """Bytes in mmapped chunks (hblkhd)."""
        return self.hblkhd


class Allocator(Protocol):
    """The C library's memory API over one process (`mem`)."""

    mem: UserMemory
    errno: int

    def malloc(self, size: int) -> int: ...
    def calloc(self, count: int, size: int) -> int: ...
    def realloc(self, ptr: int, size: int) -> int: ...
    def reallocf(self, ptr: int, size: int) -> int: ...
    def valloc(self, size: int) -> int: ...
    def aligned_alloc(self, alignment: int, size: int) -> int: ...
    def posix_memalign(self, alignment: int, size: int) -> tuple[int, int]: ...
    def free(self, ptr: int) -> None: ...
    def malloc_usable_size(self, ptr: int) -> int: ...
    def check(self) -> None: ...
    def chunks(self) -> list[Chunk]: ...
    def mallinfo(self) -> MallInfo: ...


def c_ptr(p: int) -> str:
    """A pointer as C prints it: NULL for 0, else unsigned hex (format_addr)."""
    return format_addr(p) if p else "NULL"


def call_event(mem: UserMemory, func: str, args: str) -> LibcCall:
    """Log a C library call as it starts, so the log reads in call order.

    The machine's own events (brk, page faults) made during the call follow it.
    `returned` logs the return (and fills in the result) once the call is over.
    """
    event = LibcCall(mem.pid, func, args, 0)
    mem.emit(event)
    return event


def returned(mem: UserMemory, event: LibcCall, result: int, raised: str = "") -> int:
    """Log the call's return (a LibcReturn) and fill in its LibcCall's result; return it."""
    object.__setattr__(event, "result", result)
    mem.emit(LibcReturn(event.pid, event.func, result, raised))
    return result


DEFAULT_ALLOCATOR = "glibc"

ALLOCATORS: dict[str, type[Any]] = {}
"""The one registry of allocators: name -> class (`vmsim.libc.registry` loads them all)."""
DESCRIPTIONS: dict[str, str] = {}

C = TypeVar("C", bound=type[Any])


def register_allocator(name: str, description: str) -> Callable[[C], C]:
    """Class decorator: make an allocator available under `name`."""

    def deco(cls: C) -> C:
        """Register cls."""
        if name in ALLOCATORS and ALLOCATORS[name] is not cls:
            raise ValueError(f"allocator {name!r} is already registered")
        ALLOCATORS[name] = cls
        DESCRIPTIONS[name] = description
        return cls

    return deco
