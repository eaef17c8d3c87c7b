"""MallocState: glibc malloc's fields, read and written in the process's own memory.

Nothing that a program could corrupt is kept in Python: chunk headers, fd/bk links,
the tcache_perthread_struct, main_arena (bins, fastbins, top, binmap, system_mem) and
mp_ (thresholds, mmap counters, sbrk_base) all live in simulated bytes and are read
back through `UserMemory.load` every time glibc would read them. Python keeps only
what is fixed at link time: the addresses of main_arena and mp_ (libc's data page).
"""

from __future__ import annotations

from vmsim.libc.ptmalloc.layout import (
    AV_BINMAP,
    AV_BINS,
    AV_FASTBINS,
    AV_FLAGS,
    AV_HAVE_FASTCHUNKS,
    AV_LAST_REMAINDER,
    AV_MAX_SYSTEM_MEM,
    AV_SYSTEM_MEM,
    AV_TOP,
    CH_BK,
    CH_BK_NEXTSIZE,
    CH_FD,
    CH_FD_NEXTSIZE,
    CH_SIZE,
    DATA_GLOBAL_MAX_FAST,
    DATA_MAIN_ARENA,
    DATA_MP,
    DATA_TCACHE,
    DATA_TCACHE_KEY,
    IS_MMAPPED,
    MASK64,
    NONCONTIGUOUS_BIT,
    PREV_INUSE,
    SIZE_BITS,
    TC_COUNTS,
    TC_ENTRIES,
)
from vmsim.libc.usermem import UserMemory


class MallocState:
    """Typed access to malloc's structures in simulated memory (no Python copies)."""

    def __init__(self, mem: UserMemory, data: int) -> None:
        self.mem = mem
        self.data = data
        """Start of libc's data page (where main_arena, mp_ and the statics live)."""
        self.av = data + DATA_MAIN_ARENA
        """&main_arena."""
        self.mp = data + DATA_MP
        """&mp_."""
        self._load = mem.load
        self._store = mem.store

    # --- words ----------------------------------------------------------------------

    def ld(self, a: int) -> int:
        """Load a 64-bit word."""
        return int.from_bytes(self._load(a & MASK64, 8), "little")

    def st(self, a: int, v: int) -> None:
        """Store a 64-bit word (wrapping like C)."""
        self._store(a & MASK64, (v & MASK64).to_bytes(8, "little"))

    def ld32(self, a: int) -> int:
        """Load a 32-bit word."""
        return int.from_bytes(self._load(a, 4), "little")

    def st32(self, a: int, v: int) -> None:
        """Store a 32-bit word."""
        self._store(a, (v & 0xFFFFFFFF).to_bytes(4, "little"))

    def ld16(self, a: int) -> int:
        """Load a 16-bit word."""
        return int.from_bytes(self._load(a, 2), "little")

    def st16(self, a: int, v: int) -> None:
        """Store a 16-bit word."""
        self._store(a, (v & 0xFFFF).to_bytes(2, "little"))

    # --- chunks -----------------------------------------------------------------------

    def size_nomask(self, p: int) -> int:
        """chunksize_nomask(p): the size field with its flag bits."""
        return self.ld(p + CH_SIZE)

    def chunksize(self, p: int) -> int:
        """chunksize(p)."""
        return self.ld(p + CH_SIZE) & ~SIZE_BITS

    def prev_size(self, p: int) -> int:
        """prev_size(p)."""
        return self.ld(p)

    def set_prev_size(self, p: int, v: int) -> None:
        """set_prev_size(p, v)."""
        self.st(p, v)

    def set_head(self, p: int, s: int) -> None:
        """set_head(p, s): the whole size field."""
        self.st(p + CH_SIZE, s)

    def set_head_size(self, p: int, s: int) -> None:
        """set_head_size(p, s): size, keeping the flag bits."""
        self.st(p + CH_SIZE, (self.ld(p + CH_SIZE) & SIZE_BITS) | s)

    def set_foot(self, p: int, s: int) -> None:
        """set_foot(p, s): prev_size of the next chunk."""
        self.st(p + s, s)

    def prev_inuse(self, p: int) -> int:
        """prev_inuse(p)."""
        return self.ld(p + CH_SIZE) & PREV_INUSE

    def chunk_is_mmapped(self, p: int) -> int:
        """chunk_is_mmapped(p)."""
        return self.ld(p + CH_SIZE) & IS_MMAPPED

    def inuse(self, p: int) -> int:
        """inuse(p): the PREV_INUSE bit of the next chunk."""
        return self.ld(p + self.chunksize(p) + CH_SIZE) & PREV_INUSE

    def inuse_bit_at_offset(self, p: int, s: int) -> int:
        """inuse_bit_at_offset(p, s)."""
        return self.ld(p + s + CH_SIZE) & PREV_INUSE

    def set_inuse_bit_at_offset(self, p: int, s: int) -> None:
        """set_inuse_bit_at_offset(p, s)."""
        a = p + s + CH_SIZE
        self.st(a, self.ld(a) | PREV_INUSE)

    def clear_inuse_bit_at_offset(self, p: int, s: int) -> None:
        """clear_inuse_bit_at_offset(p, s)."""
        a = p + s + CH_SIZE
        self.st(a, self.ld(a) & ~PREV_INUSE)

    def fd(self, p: int) -> int:
        """p->fd."""
        return self.ld(p + CH_FD)

    def bk(self, p: int) -> int:
        """p->bk."""
        return self.ld(p + CH_BK)

    def set_fd(self, p: int, v: int) -> None:
        """p->fd = v."""
        self.st(p + CH_FD, v)

    def set_bk(self, p: int, v: int) -> None:
        """p->bk = v."""
        self.st(p + CH_BK, v)

    def fd_nextsize(self, p: int) -> int:
        """p->fd_nextsize."""
        return self.ld(p + CH_FD_NEXTSIZE)

    def bk_nextsize(self, p: int) -> int:
        """p->bk_nextsize."""
        return self.ld(p + CH_BK_NEXTSIZE)

    def set_fd_nextsize(self, p: int, v: int) -> None:
        """p->fd_nextsize = v."""
        self.st(p + CH_FD_NEXTSIZE, v)

    def set_bk_nextsize(self, p: int, v: int) -> None:
        """p->bk_nextsize = v."""
        self.st(p + CH_BK_NEXTSIZE, v)

    def reveal(self, field: int) -> int:
        """REVEAL_PTR(*field): undo Safe-Linking on the pointer stored at field."""
        return ((field >> 12) ^ self.ld(field)) & MASK64

    # --- main_arena ---------------------------------------------------------------------

    def top(self) -> int:
        """av->top."""
        return self.ld(self.av + AV_TOP)

    def set_top(self, p: int) -> None:
        """av->top = p."""
        self.st(self.av + AV_TOP, p)

    def last_remainder(self) -> int:
        """av->last_remainder."""
        return self.ld(self.av + AV_LAST_REMAINDER)

    def set_last_remainder(self, p: int) -> None:
        """av->last_remainder = p."""
        self.st(self.av + AV_LAST_REMAINDER, p)

    def bin_at(self, i: int) -> int:
        """bin_at(av, i): the bin header, seen as a chunk whose fd/bk are bins[]."""
        return self.av + AV_BINS + (i - 1) * 16 - CH_FD

    def unsorted_chunks(self) -> int:
        """unsorted_chunks(av) == bin_at(av, 1) (also initial_top)."""
        return self.bin_at(1)

    def fastbin(self, idx: int) -> int:
        """&fastbin(av, idx)."""
        return self.av + AV_FASTBINS + 8 * idx

    def binmap(self, block: int) -> int:
        """av->binmap[block]."""
        return self.ld32(self.av + AV_BINMAP + 4 * block)

    def set_binmap(self, block: int, v: int) -> None:
        """av->binmap[block] = v."""
        self.st32(self.av + AV_BINMAP + 4 * block, v)

    def mark_bin(self, i: int) -> None:
        """mark_bin(av, i)."""
        block = i >> 5
        self.set_binmap(block, self.binmap(block) | (1 << (i & 31)))

    def flags(self) -> int:
        """av->flags."""
        return self.ld32(self.av + AV_FLAGS)

    def contiguous(self) -> bool:
        """contiguous(av)."""
        return (self.flags() & NONCONTIGUOUS_BIT) == 0

    def set_noncontiguous(self) -> None:
        """set_noncontiguous(av)."""
        self.st32(self.av + AV_FLAGS, self.flags() | NONCONTIGUOUS_BIT)

    def have_fastchunks(self) -> int:
        """av->have_fastchunks."""
        return self.ld32(self.av + AV_HAVE_FASTCHUNKS)

    def set_have_fastchunks(self, v: int) -> None:
        """av->have_fastchunks = v."""
        self.st32(self.av + AV_HAVE_FASTCHUNKS, v)

    def system_mem(self) -> int:
        """av->system_mem."""
        return self.ld(self.av + AV_SYSTEM_MEM)

    def set_system_mem(self, v: int) -> None:
        """av->system_mem = v."""
        self.st(self.av + AV_SYSTEM_MEM, v)

    def max_system_mem(self) -> int:
        """av->max_system_mem."""
        return self.ld(self.av + AV_MAX_SYSTEM_MEM)

    def set_max_system_mem(self, v: int) -> None:
        """av->max_system_mem = v."""
        self.st(self.av + AV_MAX_SYSTEM_MEM, v)

    # --- mp_ and the statics --------------------------------------------------------------

    def mp_get(self, off: int) -> int:
        """A size_t field of mp_."""
        return self.ld(self.mp + off)

    def mp_set(self, off: int, v: int) -> None:
        """Set a size_t field of mp_."""
        self.st(self.mp + off, v)

    def mp_get32(self, off: int) -> int:
        """An int field of mp_ (as a C int)."""
        v = self.ld32(self.mp + off)
        return v - (1 << 32) if v >> 31 else v

    def mp_set32(self, off: int, v: int) -> None:
        """Set an int field of mp_."""
        self.st32(self.mp + off, v)

    def get_max_fast(self) -> int:
        """global_max_fast (a uint8_t)."""
        return self._load(self.data + DATA_GLOBAL_MAX_FAST, 1)[0]

    def set_max_fast_raw(self, v: int) -> None:
        """global_max_fast = v."""
        self._store(self.data + DATA_GLOBAL_MAX_FAST, bytes([v & 0xFF]))

    def tcache(self) -> int:
        """The thread's tcache pointer (0 until tcache_init)."""
        return self.ld(self.data + DATA_TCACHE)

    def set_tcache(self, v: int) -> None:
        """tcache = v."""
        self.st(self.data + DATA_TCACHE, v)

    def tcache_key(self) -> int:
        """tcache_key: marks chunks that sit in a tcache."""
        return self.ld(self.data + DATA_TCACHE_KEY)

    def tc_count(self, tc: int, idx: int) -> int:
        """tcache->counts[idx]."""
        return self.ld16(tc + TC_COUNTS + 2 * idx)

    def set_tc_count(self, tc: int, idx: int, v: int) -> None:
        """tcache->counts[idx] = v."""
        self.st16(tc + TC_COUNTS + 2 * idx, v)

    def tc_entry(self, tc: int, idx: int) -> int:
        """tcache->entries[idx]."""
        return self.ld(tc + TC_ENTRIES + 8 * idx)

    def set_tc_entry(self, tc: int, idx: int, v: int) -> None:
        """tcache->entries[idx] = v."""
        self.st(tc + TC_ENTRIES + 8 * idx, v)
