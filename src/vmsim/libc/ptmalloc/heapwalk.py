"""Looking inside a Ptmalloc heap: walk its chunks, check its invariants, sum it up.

All of it reads simulated memory only (like glibc's MALLOC_DEBUG checks and
mallinfo), except where the arena's stretches start and which mmapped chunks exist,
which glibc does not record and Ptmalloc notes for inspection.
"""

from __future__ import annotations

from collections.abc import Iterator

from vmsim.errors import format_addr
from vmsim.libc.api import Chunk, MallInfo
from vmsim.libc.ptmalloc.core import Ptmalloc
from vmsim.libc.ptmalloc.layout import (
    CH_FD,
    CHUNK_HDR_SZ,
    IS_MMAPPED,
    MASK64,
    MINSIZE,
    MP_MMAPPED_MEM,
    MP_N_MMAPS,
    MP_SBRK_BASE,
    MP_TCACHE_COUNT,
    NBINS,
    NFASTBINS,
    PREV_INUSE,
    SIZE_BITS,
    TCACHE_MAX_BINS,
    TE_KEY,
    bin_index,
    csize2tidx,
    fastbin_index,
    idx2bit,
)


class HeapCheckFailure(Exception):
    """Internal: an invariant does not hold (check() turns it into SIGABRT)."""


def _fail(what: str, addr: int) -> HeapCheckFailure:
    """The failure to raise, naming the chunk."""
    return HeapCheckFailure(f"heap check: {what} (chunk {format_addr(addr)})")


def _bin_kind(i: int) -> str:
    """What bin i is called in Chunk.where."""
    if i == 1:
        return "unsorted"
    return "smallbin" if i < 64 else "largebin"


def free_lists(h: Ptmalloc, limit: int) -> dict[int, tuple[str, int]]:
    """Chunk -> (list kind, bin index) for every chunk on a tcache, fastbin or bin list.

    Raises HeapCheckFailure when a chunk is on two lists or a list is longer than
    `limit` (a loop).
    """
    found: dict[int, tuple[str, int]] = {}

    def note(p: int, kind: str, i: int) -> None:
        """Record p on list (kind, i)."""
        if p in found:
            raise _fail(f"on two free lists ({found[p][0]} and {kind})", p)
        if len(found) > limit:
            raise _fail("free lists longer than the heap (a loop?)", p)
        found[p] = (kind, i)

    tc = h.tcache()
    if tc:
        for i in range(TCACHE_MAX_BINS):
            e = h.tc_entry(tc, i)
            while e:
                note(e - CHUNK_HDR_SZ, "tcache", i)
                e = h.reveal(e)
    for i in range(NFASTBINS):
        p = h.ld(h.fastbin(i))
        while p:
            note(p, "fastbin", i)
            p = h.reveal(p + CH_FD)
    for i in range(1, NBINS):
        b = h.bin_at(i)
        p = h.fd(b)
        while p != b:
            note(p, _bin_kind(i), i)
            p = h.fd(p)
    return found


def walk(h: Ptmalloc) -> Iterator[tuple[int, int]]:
    """(address, size) of every chunk of the arena, top last, fenceposts left out."""
    top = h.top()
    last = h.segments[-1] if h.segments else None
    for start in h.segments:
        p = start
        while p != top:
            if start == last and p > top:
                raise _fail("chunks run past the top chunk", p)
            size = h.chunksize(p)
            if size == CHUNK_HDR_SZ:
                break  # fencepost: the end of a stretch
            if size < MINSIZE or size & 15:
                raise _fail(f"bad size {size:#x}", p)
            if size > h.system_mem():
                raise _fail(f"size {size:#x} larger than the arena", p)
            yield p, size
            p += size
        else:
            yield top, h.chunksize(top)
            return


def chunks(h: Ptmalloc) -> list[Chunk]:
    """Every chunk: the arena's in address order, then the mmapped ones."""
    lists = free_lists(h, _max_chunks(h))
    top = h.top()
    out: list[Chunk] = []
    for p, size in walk(h):
        if p == top:
            out.append(Chunk(p, size, False, "top"))
        elif p in lists:
            out.append(Chunk(p, size, False, lists[p][0]))
        elif h.inuse_bit_at_offset(p, size):
            out.append(Chunk(p, size, True, "in use"))
        else:
            out.append(Chunk(p, size, False, "free"))
    for p in sorted(h.mmapped.values()):
        out.append(Chunk(p, h.chunksize(p), True, "mmapped"))
    return out


def _max_chunks(h: Ptmalloc) -> int:
    """More list entries than this means a loop."""
    return h.system_mem() // MINSIZE + TCACHE_MAX_BINS + 16


def check(h: Ptmalloc) -> None:
    """Raise HeapCheckFailure on the first broken invariant of the heap."""
    top = h.top()
    if not h.segments:
        if top != h.unsorted_chunks():
            raise _fail("top moved before any memory was obtained", top)
        return
    _check_top(h, top)
    lists = free_lists(h, _max_chunks(h))
    seen = set()
    for p, size in walk(h):
        seen.add(p)
        if p != top:
            _check_chunk(h, p, size, lists.get(p), top)
    for p, (kind, i) in lists.items():
        if p not in seen:
            raise _fail(f"{kind} entry is not a chunk of the heap", p)
        _check_listed(h, p, kind, i)
    _check_bins(h)
    _check_tcache_counts(h)
    _check_mmapped(h)


def _check_top(h: Ptmalloc, top: int) -> None:
    """Top is aligned, at least MINSIZE, follows an in-use chunk, ends the arena."""
    size = h.chunksize(top)
    if size < MINSIZE or not h.prev_inuse(top) or top & 15:
        raise _fail(f"top chunk malformed (size field {h.size_nomask(top):#x})", top)
    if h.contiguous() and h.mp_get(MP_SBRK_BASE) + h.system_mem() != top + size:
        raise _fail("sbrk_base + system_mem is not the end of top", top)


def _check_chunk(h: Ptmalloc, p: int, size: int, listed: tuple[str, int] | None, top: int) -> None:
    """A free chunk is binned, has its footer, no free neighbour; a used one is not binned."""
    nxt = p + size
    free = not (h.size_nomask(nxt) & PREV_INUSE)
    kind = listed[0] if listed else None
    if free:
        if kind not in ("unsorted", "smallbin", "largebin"):
            raise _fail("free chunk on no bin (leaked)", p)
        if h.prev_size(nxt) != size:
            raise _fail(f"footer {h.prev_size(nxt):#x} != size {size:#x}", p)
        if not h.prev_inuse(p):
            raise _fail("two free chunks side by side", p)
        if nxt != top and not h.inuse(nxt):
            raise _fail("two free chunks side by side", nxt)
    elif kind in ("unsorted", "smallbin", "largebin"):
        raise _fail(f"in-use chunk on the {kind} list", p)
    if h.size_nomask(p) & IS_MMAPPED:
        raise _fail("heap chunk marked mmapped", p)


def _check_listed(h: Ptmalloc, p: int, kind: str, i: int) -> None:
    """A chunk on a free list is aligned, of that list's size, and properly linked."""
    size = h.chunksize(p)
    if p & 15:
        raise _fail(f"misaligned {kind} entry", p)
    if kind == "tcache":
        if csize2tidx(size) != i or h.ld(p + CHUNK_HDR_SZ + TE_KEY) != h.tcache_key():
            raise _fail(f"tcache bin {i} holds a chunk of size {size:#x}", p)
    elif kind == "fastbin":
        if fastbin_index(size) != i:
            raise _fail(f"fastbin {i} holds a chunk of size {size:#x}", p)
    else:
        if i >= 2 and bin_index(size) != i:
            raise _fail(f"bin {i} holds a chunk of size {size:#x}", p)
        if h.bk(h.fd(p)) != p or h.fd(h.bk(p)) != p:
            raise _fail("corrupted double-linked list", p)


def _check_bins(h: Ptmalloc) -> None:
    """The binmap covers every non-empty bin; large bins are sorted largest first."""
    for i in range(2, NBINS):
        b = h.bin_at(i)
        empty = h.bk(b) == b
        if not empty and not (h.binmap(i >> 5) & idx2bit(i)):
            raise _fail(f"bin {i} not empty but unmarked in binmap", b)
        if i < 64 or empty:
            continue
        p = h.fd(b)
        while h.fd(p) != b:
            if h.chunksize(h.fd(p)) > h.chunksize(p):
                raise _fail(f"large bin {i} out of order", p)
            p = h.fd(p)


def _check_tcache_counts(h: Ptmalloc) -> None:
    """Each tcache count equals its list's length and stays within tcache_count."""
    tc = h.tcache()
    if not tc:
        return
    limit = h.mp_get(MP_TCACHE_COUNT)
    for i in range(TCACHE_MAX_BINS):
        n = 0
        e = h.tc_entry(tc, i)
        while e:
            n += 1
            e = h.reveal(e)
        if n != h.tc_count(tc, i) or n > limit:
            raise _fail(f"tcache bin {i} has {n} entries, count {h.tc_count(tc, i)}", tc)


def _check_mmapped(h: Ptmalloc) -> None:
    """Mapped chunks have sound headers and mp_'s counters add them up."""
    total = 0
    for block, p in h.mmapped.items():
        field = h.size_nomask(p)
        span = h.prev_size(p) + (field & ~SIZE_BITS)
        if not field & IS_MMAPPED or (p - h.prev_size(p)) & MASK64 != block:
            raise _fail("mmapped chunk header corrupted", p)
        if span % h.pagesize or (p + CHUNK_HDR_SZ) & 15:
            raise _fail("mmapped chunk not page-sized", p)
        total += span
    if h.mp_get32(MP_N_MMAPS) != len(h.mmapped) or h.mp_get(MP_MMAPPED_MEM) != total:
        raise _fail("mmap counters disagree with the mapped chunks", h.mp)


def mallinfo(h: Ptmalloc) -> MallInfo:
    """int_mallinfo for main_arena, plus tcache totals, in-use/free and fragmentation."""
    top_size = h.chunksize(h.top())
    avail, nblocks, largest = top_size, 1, top_size
    nfast = fastavail = 0
    tblocks = tbytes = 0
    for p, (kind, _i) in free_lists(h, _max_chunks(h)).items():
        size = h.chunksize(p)
        largest = max(largest, size)
        if kind == "tcache":
            tblocks, tbytes = tblocks + 1, tbytes + size
        elif kind == "fastbin":
            nfast, fastavail = nfast + 1, fastavail + size
        else:
            nblocks, avail = nblocks + 1, avail + size
    avail += fastavail
    system_mem = h.system_mem()
    hblkhd = h.mp_get(MP_MMAPPED_MEM)
    free = avail + tbytes
    return MallInfo(
        arena=system_mem,
        ordblks=nblocks,
        smblks=nfast,
        hblks=h.mp_get32(MP_N_MMAPS),
        hblkhd=hblkhd,
        usmblks=0,
        fsmblks=fastavail,
        uordblks=system_mem - avail,
        fordblks=avail,
        keepcost=top_size,
        tcache_blocks=tblocks,
        tcache_bytes=tbytes,
        in_use=system_mem - free + hblkhd,
        free=free,
        largest_free=largest,
        fragmentation=1.0 - largest / free if free else 0.0,
    )
