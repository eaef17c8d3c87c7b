"""vmsim.libc: the C library of a simulated process (see ../shared/DESIGN.md).

- `malloc.GlibcHeap`: glibc 2.36's malloc family, its metadata in simulated memory;
- `cxx.CxxRuntime`: operator new/delete, new[]/delete[] with array cookies, the
  new-handler loop and std::bad_alloc;
- `stack.Stack`: stack frames (`with stack.call(size) as frame`), alloca;
- `registry`: the allocators by name ("glibc" is the default);
- `runtime.Libc`: all three for one process (what `vmsim.Process` delegates to).

Everything is written against `usermem.UserMemory`, which `vmsim.Process` implements.
"""

from vmsim.libc.api import Allocator, Chunk, MallInfo
from vmsim.libc.registry import (
    ALLOCATORS,
    DEFAULT_ALLOCATOR,
    allocator_class,
    allocator_names,
    check_allocator,
    make_allocator,
    register_allocator,
)
from vmsim.libc.runtime import Libc
from vmsim.libc.usermem import UserMemory

__all__ = [
    "ALLOCATORS",
    "DEFAULT_ALLOCATOR",
    "Allocator",
    "Chunk",
    "Libc",
    "MallInfo",
    "UserMemory",
    "allocator_class",
    "allocator_names",
    "check_allocator",
    "make_allocator",
    "register_allocator",
]
