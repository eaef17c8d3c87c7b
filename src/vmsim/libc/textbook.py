"""TextbookHeap: one free list with OSTEP's fit and order rules, on a process's heap.

The decisions are `libc.freelist.FreeList`'s, the same code as `vmsim ostep malloc`.
What the machine adds is memory: the heap grows with brk, every chunk starts with a
16-byte header (its size and a magic word) written into simulated memory, and every
free entry holds its size and a link to the next entry in list order (a classic
K&R-style free list). malloc follows those links in simulated memory, and free reads
the header there, so a program that scribbles over them is caught, with glibc-style
messages, and aborted (SIGABRT).

Layout: [size: 8][magic: 8][user bytes ...]; the magic word is MAGIC_USED ^ address
for a live chunk; a free entry holds [size: 8][next entry address or 0: 8]. A block
aligned beyond 16 bytes sits inside a larger chunk, with [chunk address: 8]
[MAGIC_ALIGNED ^ pointer: 8] just below the pointer, so free finds its chunk.
"""

from __future__ import annotations

import copy
import errno as _errno

from vmsim.errors import ConfigError, format_addr
from vmsim.libc.api import Chunk, MallInfo, c_ptr, call_event, register_allocator, returned
from vmsim.libc.freelist import FreeList, check_rules
from vmsim.libc.usermem import UserMemory

HEADER = 16
ALIGN = 16
MAGIC_USED = 0x7EA7B00C_0DDBA11
MAGIC_ALIGNED = 0xA119_4ED0_B10C_0000
MAX_REQUEST = 1 << 62


@register_allocator("textbook", "one free list: first/best/worst/next fit, five list orders")
class TextbookHeap:
    """The textbook allocator: a FreeList whose headers and links live in simulated memory."""

    def __init__(
        self,
        mem: UserMemory,
        *,
        fit: str = "first",
        order: str = "addrsort",
        coalesce: bool = True,
        grow: int = 4096,
    ) -> None:
        self.check_options(fit=fit, order=order, coalesce=coalesce, grow=grow)
        self.mem = mem
        self.errno = 0
        self.grow = max(grow, mem.page_size)
        self.base = mem.sbrk(0)
        self.list = FreeList(
            self.base, 0, fit=fit, order=order, coalesce=coalesce, header=HEADER, align=ALIGN
        )
        self.searched = 0
        """Entries the last malloc looked at (OSTEP's "searched k elements")."""

    @staticmethod
    def check_options(
        *, fit: str = "first", order: str = "addrsort", coalesce: bool = True, grow: int = 4096
    ) -> None:
        """ConfigError for an option value the textbook heap cannot use (before it runs)."""
        check_rules(fit, order)
        if not isinstance(coalesce, bool):
            raise ConfigError("coalesce", coalesce, "True or False")
        if isinstance(grow, bool) or not isinstance(grow, int) or grow < 1:
            raise ConfigError("grow", grow, "a positive number of bytes")

    def clone(self, mem: UserMemory) -> TextbookHeap:
        """The heap of a forked child: the same list over the child's copy of the memory."""
        child = copy.copy(self)
        child.mem = mem
        child.list = copy.deepcopy(self.list)
        return child

    # --- the list in simulated memory ---------------------------------------------------

    def _entries(self) -> list[tuple[int, int]]:
        """Free entries that can hold a link (a zero-size entry at the heap's end cannot)."""
        return [(a, s) for a, s in self.list.entries() if s >= HEADER]

    def _write_links(self) -> None:
        """Write every free entry's size and next link into simulated memory."""
        entries = self._entries()
        for i, (addr, size) in enumerate(entries):
            nxt = entries[i + 1][0] if i + 1 < len(entries) else 0
            self.mem.store(addr, size.to_bytes(8, "little") + nxt.to_bytes(8, "little"))

    def _verify_links(self) -> None:
        """Follow the links in simulated memory; abort if they disagree with the list."""
        entries = self._entries()
        addr = entries[0][0] if entries else 0
        for want_addr, want_size in entries:
            if addr != want_addr:
                self.mem.abort("malloc(): corrupted free list")
            raw = self.mem.load(addr, HEADER)
            size, addr = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
            if size != want_size:
                self.mem.abort("malloc(): corrupted free list")

    # --- allocation ---------------------------------------------------------------------

    def _alloc(self, size: int) -> int:
        """A chunk of at least size user bytes (growing the heap); its user pointer or 0."""
        if size < 0 or size > MAX_REQUEST:
            self.errno = _errno.ENOMEM
            return 0
        self._verify_links()
        addr, self.searched = self.list.alloc(size)
        while addr == -1:
            need = self.list.chunk_size(size)
            grow = -(-max(need, self.grow) // self.mem.page_size) * self.mem.page_size
            try:
                self.mem.sbrk(grow)
            except OSError:
                self.errno = _errno.ENOMEM
                return 0
            self.list.extend(grow)
            addr, self.searched = self.list.alloc(size)
        chunk = self.list.chunk(addr)
        assert chunk is not None
        self.mem.store(
            addr, chunk.to_bytes(8, "little") + (MAGIC_USED ^ addr).to_bytes(8, "little")
        )
        self._write_links()
        return addr + HEADER

    def malloc(self, size: int) -> int:
        """malloc(size): a 16-byte aligned block, or 0 (errno ENOMEM)."""
        ev = call_event(self.mem, "malloc", f"{size}")
        return returned(self.mem, ev, self._alloc(size))

    def calloc(self, count: int, size: int) -> int:
        """calloc(count, size): zeroed memory; 0 with ENOMEM if count x size overflows."""
        ev = call_event(self.mem, "calloc", f"{count}, {size}")
        total = count * size
        if count < 0 or size < 0 or total >= 1 << 64:
            self.errno = _errno.ENOMEM
            return returned(self.mem, ev, 0)
        ptr = self._alloc(total)
        if ptr and total:
            self.mem.store(ptr, bytes(total))
        return returned(self.mem, ev, ptr)

    def _chunk_of(self, ptr: int, func: str) -> int:
        """The chunk address of a user pointer; abort if its header is not a live chunk's."""
        if ptr % ALIGN or ptr - HEADER < self.base:
            self.mem.abort(f"{func}(): invalid pointer")
        raw = self.mem.load(ptr - HEADER, HEADER)
        first, magic = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
        addr = first if magic == MAGIC_ALIGNED ^ ptr else ptr - HEADER
        raw = self.mem.load(addr, HEADER) if addr != ptr - HEADER else raw
        size, magic = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
        live = self.list.chunk(addr)
        if magic != MAGIC_USED ^ addr:
            self.mem.abort(
                f"{func}(): invalid pointer" if live is None else f"{func}(): invalid size"
            )
        if live != size:
            self.mem.abort(f"{func}(): invalid size")
        return addr

    def free(self, ptr: int) -> None:
        """free(ptr): nothing for NULL; abort on a pointer that is not a live block."""
        ev = call_event(self.mem, "free", c_ptr(ptr))
        if ptr:
            addr = self._chunk_of(ptr, "free")
            self._verify_links()
            self.mem.store(addr + 8, bytes(8))  # no longer live: a second free is caught
            self.list.free(addr)
            self._write_links()
        returned(self.mem, ev, 0)

    def realloc(self, ptr: int, size: int) -> int:
        """realloc(ptr, size): malloc if ptr is NULL; free and NULL if size is 0."""
        ev = call_event(self.mem, "realloc", f"{c_ptr(ptr)}, {size}")
        if not ptr:
            return returned(self.mem, ev, self._alloc(size))
        if size == 0:
            self.free(ptr)
            return returned(self.mem, ev, 0)
        old = self.malloc_usable_size(ptr)
        if 0 <= size <= old:
            return returned(self.mem, ev, ptr)
        new = self._alloc(size)
        if new:
            self.mem.store(new, self.mem.load(ptr, old))
            self.free(ptr)
        return returned(self.mem, ev, new)

    def reallocf(self, ptr: int, size: int) -> int:
        """FreeBSD's reallocf: like realloc, but frees ptr when the resize fails."""
        ev = call_event(self.mem, "reallocf", f"{c_ptr(ptr)}, {size}")
        new = self.realloc(ptr, size)
        if not new and ptr and size:
            self.free(ptr)
        return returned(self.mem, ev, new)

    def _alloc_aligned(self, alignment: int, size: int) -> int:
        """A block aligned to `alignment` (a power of two), inside a chunk big enough."""
        if alignment <= ALIGN:
            return self._alloc(size)
        raw = self._alloc(size + alignment + HEADER)
        if not raw:
            return 0
        ptr = -(-(raw + HEADER) // alignment) * alignment
        chunk = raw - HEADER
        self.mem.store(
            ptr - HEADER, chunk.to_bytes(8, "little") + (MAGIC_ALIGNED ^ ptr).to_bytes(8, "little")
        )
        return ptr

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """A block aligned to a power-of-two alignment; 0 with EINVAL for any other."""
        ev = call_event(self.mem, "aligned_alloc", f"{alignment}, {size}")
        if alignment <= 0 or alignment & (alignment - 1):
            self.errno = _errno.EINVAL
            return returned(self.mem, ev, 0)
        return returned(self.mem, ev, self._alloc_aligned(alignment, size))

    def valloc(self, size: int) -> int:
        """A page-aligned block."""
        ev = call_event(self.mem, "valloc", f"{size}")
        return returned(self.mem, ev, self._alloc_aligned(self.mem.page_size, size))

    def posix_memalign(self, alignment: int, size: int) -> tuple[int, int]:
        """(0, ptr) or (errno, 0): alignment must be a power of two and a multiple of 8."""
        if alignment <= 0 or alignment % 8 or alignment & (alignment - 1):
            return _errno.EINVAL, 0
        ptr = self._alloc_aligned(alignment, size)
        return (0, ptr) if ptr else (self.errno, 0)

    def malloc_usable_size(self, ptr: int) -> int:
        """Bytes usable at ptr (the chunk minus its header); 0 for NULL."""
        if not ptr:
            return 0
        addr = self._chunk_of(ptr, "malloc_usable_size")
        return addr + int(self.list.chunk(addr) or 0) - ptr

    # --- inspection ---------------------------------------------------------------------

    def chunks(self) -> list[Chunk]:
        """Every chunk and free entry in address order."""
        out = [Chunk(a, s, True, "in use") for a, s in self.list.live().items()]
        out += [Chunk(a, s, False, "free list") for a, s in self.list.entries() if s]
        return sorted(out, key=lambda c: c.addr)

    def check(self) -> None:
        """Chunks tile the heap, headers and links are intact; abort otherwise."""
        addr = self.base
        for c in self.chunks():
            if c.addr != addr:
                self.mem.abort(f"heap check: gap or overlap at {format_addr(addr)}")
            addr += c.size
            if c.in_use:
                raw = self.mem.load(c.addr, HEADER)
                if int.from_bytes(raw[8:], "little") != MAGIC_USED ^ c.addr:
                    self.mem.abort(f"heap check: corrupted header at {format_addr(c.addr)}")
        if addr != self.base + self.list.size:
            self.mem.abort("heap check: chunks do not reach the end of the heap")
        self._verify_links()

    def mallinfo(self) -> MallInfo:
        """Arena, in-use and free bytes, and fragmentation (1 - largest free / free)."""
        live = self.list.live()
        free_sizes = [s for _, s in self.list.entries() if s]
        in_use, free = sum(live.values()), sum(free_sizes)
        largest = max(free_sizes, default=0)
        return MallInfo(
            arena=self.list.size, ordblks=len(free_sizes), smblks=0, hblks=0, hblkhd=0,
            usmblks=0, fsmblks=0, uordblks=in_use, fordblks=free, keepcost=0,
            tcache_blocks=0, tcache_bytes=0, in_use=in_use, free=free, largest_free=largest,
            fragmentation=1 - largest / free if free else 0.0,
        )  # fmt: skip
