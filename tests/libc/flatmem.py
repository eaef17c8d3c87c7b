"""FlatMemory: a plain UserMemory for testing the C library without the machine.

A brk heap, anonymous mappings and a stack, each a bytearray at a Linux-like
address; anything else is SIGSEGV. `limit` caps the bytes of heap plus mappings
(sbrk and mmap then fail with ENOMEM), `heap_max` caps the heap alone. Memory
returned to the system (brk shrink, munmap) reads back as zeros when reobtained,
as from the kernel. The benchmark imports it too (benchmarks/bench_malloc.py).
"""

from __future__ import annotations

import bisect
import errno
from typing import NoReturn

from vmsim.errors import HeapCorruption, ProcessKilled, SegmentationFault
from vmsim.events import Event

HEAP_BASE = 0x5555_5555_9000
MMAP_TOP = 0x7FFF_F7FF_0000
STACK_TOP = 0x7FFF_FFFF_E000


class FlatMemory:
    """A process's memory as three kinds of flat byte arrays (see the module doc)."""

    def __init__(
        self,
        *,
        pid: int = 1,
        page_size: int = 4096,
        heap_base: int = HEAP_BASE,
        heap_max: int = 1 << 30,
        limit: int | None = None,
        stack_limit: int = 1 << 20,
        record: bool = True,
    ) -> None:
        self._pid = pid
        self._page = page_size
        self.heap_base = heap_base
        self.heap_max = heap_max
        self.limit = limit
        self.heap = bytearray()
        self.cur_brk = heap_base
        self.maps: dict[int, bytearray] = {}
        self._starts: list[int] = []
        self._last: tuple[int, bytearray] = (0, bytearray())
        self._mmap_next = MMAP_TOP
        self.stack_top = STACK_TOP
        self.stack = bytearray(stack_limit)
        self.stack_bottom = STACK_TOP - stack_limit
        self._sp = STACK_TOP
        self.events: list[Event] = []
        self.record = record
        self.dead: str | None = None
        self.syscalls: list[tuple[str, int]] = []

    # --- UserMemory ------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def page_size(self) -> int:
        return self._page

    def load(self, va: int, n: int) -> bytes:
        h = va - self.heap_base
        if h >= 0 and h + n <= len(self.heap):
            return bytes(self.heap[h : h + n])
        buf, off = self._find(va, n, "read")
        return bytes(buf[off : off + n])

    def store(self, va: int, data: bytes) -> None:
        n = len(data)
        h = va - self.heap_base
        if h >= 0 and h + n <= len(self.heap):
            self.heap[h : h + n] = data
            return
        buf, off = self._find(va, n, "write")
        buf[off : off + n] = data

    def sbrk(self, increment: int) -> int:
        old = self.cur_brk
        self.syscalls.append(("sbrk", increment))
        if increment:
            self._set_brk(old + increment)
        return old

    def brk(self, addr: int) -> int:
        self.syscalls.append(("brk", addr))
        return self._set_brk(addr)

    def _set_brk(self, addr: int) -> int:
        if addr < self.heap_base or addr - self.heap_base > self.heap_max:
            raise OSError(errno.ENOMEM, "brk")
        size = self._round(addr - self.heap_base)
        if size > len(self.heap) and self._committed() + size - len(self.heap) > self._cap():
            raise OSError(errno.ENOMEM, "brk")
        if size > len(self.heap):
            self.heap.extend(bytes(size - len(self.heap)))
        else:
            del self.heap[size:]
        self.cur_brk = addr
        return addr

    def mmap(self, length: int, prot: str = "rw") -> int:
        self.syscalls.append(("mmap", length))
        if length <= 0:
            raise OSError(errno.EINVAL, "mmap")
        size = self._round(length)
        if self._committed() + size > self._cap() or size > self._mmap_next - self.cur_brk:
            raise OSError(errno.ENOMEM, "mmap")
        self._mmap_next -= size
        self._add(self._mmap_next, bytearray(size))
        return self._mmap_next

    def munmap(self, va: int, length: int) -> None:
        self.syscalls.append(("munmap", length))
        if va % self._page or length <= 0:
            raise OSError(errno.EINVAL, "munmap")
        end = va + self._round(length)
        self._last = (0, bytearray())
        for start in [s for s in self._starts if s < end and s + len(self.maps[s]) > va]:
            buf = self.maps.pop(start)
            self._starts.remove(start)
            if start < va:
                self._add(start, buf[: va - start])
            if start + len(buf) > end:
                self._add(end, buf[end - start :])

    @property
    def sp(self) -> int:
        return self._sp

    @sp.setter
    def sp(self, value: int) -> None:
        self._sp = value

    def emit(self, event: Event) -> None:
        if self.record:
            self.events.append(event)

    def abort(self, message: str) -> NoReturn:
        self.dead = message
        raise HeapCorruption(self._pid, message)

    # --- helpers -----------------------------------------------------------------------

    def mapped_bytes(self) -> int:
        """Bytes in anonymous mappings."""
        return sum(len(b) for b in self.maps.values())

    def is_mapped(self, va: int) -> bool:
        """Whether va is an address of the heap, a mapping or the stack."""
        try:
            self._find(va, 1, "read")
        except SegmentationFault:
            return self.heap_base <= va < self.heap_base + len(self.heap)
        return True

    def _round(self, n: int) -> int:
        return (n + self._page - 1) & ~(self._page - 1)

    def _cap(self) -> int:
        return self.limit if self.limit is not None else 1 << 62

    def _committed(self) -> int:
        return len(self.heap) + self.mapped_bytes()

    def _add(self, start: int, buf: bytearray) -> None:
        self.maps[start] = buf
        bisect.insort(self._starts, start)

    def _find(self, va: int, n: int, access: str) -> tuple[bytearray, int]:
        if self.dead is not None:
            raise ProcessKilled(self._pid, self.dead)
        if self.stack_bottom <= va and va + n <= self.stack_top:
            return self.stack, va - self.stack_bottom
        start, buf = self._last
        if start <= va and va + n <= start + len(buf):
            return buf, va - start
        i = bisect.bisect_right(self._starts, va) - 1
        if i >= 0:
            start = self._starts[i]
            buf = self.maps[start]
            if va + n <= start + len(buf):
                self._last = (start, buf)
                return buf, va - start
        raise SegmentationFault(self._pid, va, access, "SEGV_MAPERR")
