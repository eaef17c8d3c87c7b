"""Libc: the whole C library of one process, ready for `vmsim.Process` to delegate to.

    libc = Libc(process, allocator="glibc")      # or any name in ALLOCATORS
    libc.heap.malloc(24); libc.cxx.new(24, init=b"..."); libc.stack.call(64)

`fork(child)` gives the child's library: the same allocator state (it lives in the
memory the child inherits), the same stack frames and new-handler.
"""

from __future__ import annotations

from typing import Any

from vmsim.libc.cxx import CxxRuntime
from vmsim.libc.registry import DEFAULT_ALLOCATOR, make_allocator
from vmsim.libc.stack import Stack
from vmsim.libc.usermem import UserMemory


class Libc:
    """A process's heap (by allocator name), C++ runtime and stack."""

    def __init__(
        self,
        mem: UserMemory,
        allocator: str = DEFAULT_ALLOCATOR,
        *,
        stack_protector: bool = True,
        **options: Any,
    ) -> None:
        self.mem = mem
        self.allocator = allocator
        self.heap = make_allocator(allocator, mem, **options)
        self.cxx = CxxRuntime(mem, self.heap)
        self.stack = Stack(mem, protector=stack_protector)

    def fork(self, child: UserMemory) -> Libc:
        """The C library of a forked child (its memory is a copy of this process's)."""
        new = object.__new__(Libc)
        new.mem = child
        new.allocator = self.allocator
        clone = getattr(self.heap, "clone", None)
        if clone is None:
            raise NotImplementedError(f"allocator {self.allocator!r} cannot follow a fork")
        new.heap = clone(child)
        new.cxx = self.cxx.clone(child, new.heap)
        new.stack = self.stack.clone(child)
        return new
