"""CxxRuntime: C++'s new and delete over a process's allocator, as libstdc++ does them.

- `operator_new(size)` loops: malloc(size or 1); on NULL it calls the new-handler
  (`set_new_handler`) and retries, or throws std::bad_alloc (`vmsim.BadAlloc`) when
  none is installed; the nothrow form returns 0 instead of throwing.
- `new(size, init=...)` is a new-expression: operator new, then the constructor,
  which runs only once the allocation succeeded. A constructor is `init`: bytes
  stored at the object, or a callable given the object's address (it writes the
  object through the process).
- `new_array(count, size, destructor=...)` is new T[count]. Under the Itanium C++
  ABI an element type with a non-trivial destructor gets an 8-byte array cookie
  holding the count just before the first element; say so with `destructor=` (the
  destructor, called per element by delete[]) or `cookie=True`.
- `delete(ptr)` / `delete_array(ptr)` run the destructor(s) then operator delete,
  which calls free; deleting NULL does nothing.
- `placement_new(addr)` returns addr, allocates nothing, and runs the constructor.

Every operator logs a `LibcCall` ("operator new", "operator new[]", "operator
delete", "operator delete[]") as it starts, so with malloc/free and the machine's
events the log reads: operator new -> malloc -> brk -> page fault -> Construct.
"""

from __future__ import annotations

from collections.abc import Callable

from vmsim.errors import BadAlloc
from vmsim.events import Construct
from vmsim.libc.api import Allocator, c_ptr, call_event, returned
from vmsim.libc.usermem import UserMemory

Init = bytes | Callable[[int], object] | None
"""A constructor: the bytes of the new object, or a callable given its address."""

COOKIE_SIZE = 8
SIZE_MAX = (1 << 64) - 1


class CxxRuntime:
    """operator new/delete, new-expressions and the new-handler of one process."""

    def __init__(self, mem: UserMemory, heap: Allocator) -> None:
        self.mem = mem
        self.heap = heap
        self.new_handler: Callable[[], object] | None = None

    def clone(self, mem: UserMemory, heap: Allocator) -> CxxRuntime:
        """The runtime of a forked child (the new-handler is inherited)."""
        new = CxxRuntime(mem, heap)
        new.new_handler = self.new_handler
        return new

    def set_new_handler(self, handler: Callable[[], object] | None) -> Callable[[], object] | None:
        """std::set_new_handler: install a handler (None removes it); return the old one."""
        old, self.new_handler = self.new_handler, handler
        return old

    # --- the operators -------------------------------------------------------------------

    def operator_new(self, size: int, *, nothrow: bool = False, array: bool = False) -> int:
        """::operator new(size): malloc, and on NULL the new-handler and a retry.

        array=True is operator new[], which (in libstdc++) calls operator new;
        nothrow=True returns 0 where the plain form throws std::bad_alloc.
        """
        nothrow_arg = ", nothrow" if nothrow else ""
        if array:
            ev = call_event(self.mem, "operator new[]", f"{size}{nothrow_arg}")
            try:
                return returned(self.mem, ev, self.operator_new(size, nothrow=nothrow))
            except BadAlloc:
                returned(self.mem, ev, 0, raised="std::bad_alloc")
                raise
        ev = call_event(self.mem, "operator new", f"{size}{nothrow_arg}")
        size = size or 1  # malloc(0) is unpredictable; libstdc++ avoids it
        while True:
            p = self.heap.malloc(size)
            if p:
                return returned(self.mem, ev, p)
            handler = self.new_handler
            if handler is None:
                if nothrow:
                    return returned(self.mem, ev, 0)
                returned(self.mem, ev, 0, raised="std::bad_alloc")
                raise BadAlloc(f"pid {self.mem.pid}: std::bad_alloc (operator new({size}))")
            handler()

    def operator_delete(self, ptr: int, *, array: bool = False) -> None:
        """::operator delete(ptr): free(ptr); operator delete[] calls operator delete."""
        if array:
            ev = call_event(self.mem, "operator delete[]", c_ptr(ptr))
            self.operator_delete(ptr)
        else:
            ev = call_event(self.mem, "operator delete", c_ptr(ptr))
            self.heap.free(ptr)
        returned(self.mem, ev, 0)

    # --- expressions ---------------------------------------------------------------------

    def new(self, size: int, *, init: Init = None, nothrow: bool = False) -> int:
        """`new T` / `new (std::nothrow) T`: allocate, then construct (only on success)."""
        p = self.operator_new(size, nothrow=nothrow)
        if p and init is not None:
            self._construct(p, size, init)
        return p

    def new_array(
        self,
        count: int,
        size: int,
        *,
        init: Init = None,
        destructor: Callable[[int], object] | None = None,
        cookie: bool | None = None,
        nothrow: bool = False,
    ) -> int:
        """`new T[count]`: a cookie with the count if T needs one, then each element built."""
        with_cookie = destructor is not None if cookie is None else cookie
        total = count * size + (COOKIE_SIZE if with_cookie else 0)
        if count < 0 or size < 0 or total > SIZE_MAX:
            total = SIZE_MAX  # what g++ passes on overflow: the allocation must fail
        p = self.operator_new(total, nothrow=nothrow, array=True)
        if not p:
            return 0
        if with_cookie:
            self.mem.store(p, count.to_bytes(8, "little"))
            p += COOKIE_SIZE
        if init is not None:
            for i in range(count):
                self._construct(p + i * size, size, init)
        return p

    def placement_new(self, addr: int, *, size: int = 0, init: Init = None) -> int:
        """`new (addr) T`: no allocation; construct at addr and return it."""
        if isinstance(init, bytes | bytearray) and not size:
            size = len(init)
        if init is not None:
            self._construct(addr, size, init)
        return addr

    def delete(self, ptr: int, *, destructor: Callable[[int], object] | None = None) -> None:
        """`delete p`: the destructor, then operator delete; nothing for NULL."""
        if not ptr:
            return
        if destructor is not None:
            destructor(ptr)
        self.operator_delete(ptr)

    def delete_array(
        self,
        ptr: int,
        *,
        size: int = 0,
        destructor: Callable[[int], object] | None = None,
        cookie: bool | None = None,
    ) -> int:
        """`delete[] p`: read the cookie, destroy the elements last first, free.

        Returns the element count read from the cookie (0 without one). `size` is
        the element size, needed to find each element for the destructor.
        """
        if not ptr:
            return 0
        with_cookie = destructor is not None if cookie is None else cookie
        count = 0
        if with_cookie:
            ptr -= COOKIE_SIZE
            count = int.from_bytes(self.mem.load(ptr, 8), "little")
            if destructor is not None:
                for i in reversed(range(count)):
                    destructor(ptr + COOKIE_SIZE + i * size)
        self.operator_delete(ptr, array=True)
        return count

    def _construct(self, p: int, size: int, init: bytes | Callable[[int], object]) -> None:
        """Run a constructor on the object at p (after its allocation succeeded)."""
        self.mem.emit(Construct(self.mem.pid, p, size))
        if isinstance(init, bytes | bytearray):
            if len(init) > size:
                raise ValueError(f"init has {len(init)} bytes for a {size}-byte object")
            self.mem.store(p, bytes(init))
        else:
            init(p)


__all__ = ["COOKIE_SIZE", "CxxRuntime", "Init"]
