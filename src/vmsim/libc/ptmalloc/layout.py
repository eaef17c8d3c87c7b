"""glibc 2.36 malloc on x86-64: sizes, bin indexes and the layout of its structures.

Every name here is glibc's (malloc/malloc.c), in snake_case where glibc uses a macro.
All arithmetic is C's: sizes are size_t (64-bit, wrapping), bin indexes go through
the same `unsigned int` casts glibc makes, so corrupted sizes give the same results.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
SIZE_MAX = MASK64
PTRDIFF_MAX = (1 << 63) - 1

SIZE_SZ = 8
MALLOC_ALIGNMENT = 16
MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1
CHUNK_HDR_SZ = 2 * SIZE_SZ
MIN_CHUNK_SIZE = 32  # offsetof(struct malloc_chunk, fd_nextsize)
MINSIZE = (MIN_CHUNK_SIZE + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK

PREV_INUSE = 0x1
IS_MMAPPED = 0x2
NON_MAIN_ARENA = 0x4
SIZE_BITS = PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA

# struct malloc_chunk
CH_PREV_SIZE = 0
CH_SIZE = 8
CH_FD = 16
CH_BK = 24
CH_FD_NEXTSIZE = 32
CH_BK_NEXTSIZE = 40

NBINS = 128
NSMALLBINS = 64
SMALLBIN_WIDTH = MALLOC_ALIGNMENT
SMALLBIN_CORRECTION = int(MALLOC_ALIGNMENT > CHUNK_HDR_SZ)
MIN_LARGE_SIZE = (NSMALLBINS - SMALLBIN_CORRECTION) * SMALLBIN_WIDTH

BINMAPSHIFT = 5
BITSPERMAP = 1 << BINMAPSHIFT
BINMAPSIZE = NBINS // BITSPERMAP

MAX_FAST_SIZE = 80 * SIZE_SZ // 4
DEFAULT_MXFAST = 64 * SIZE_SZ // 4
FASTBIN_CONSOLIDATION_THRESHOLD = 65536
NONCONTIGUOUS_BIT = 2

DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_TOP_PAD = 128 * 1024  # what this machine's glibc uses (the first brk is 132 KiB)
DEFAULT_MMAP_THRESHOLD_MIN = 128 * 1024
DEFAULT_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * SIZE_SZ
DEFAULT_MMAP_THRESHOLD = DEFAULT_MMAP_THRESHOLD_MIN
DEFAULT_MMAP_MAX = 65536
HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX
MMAP_AS_MORECORE_SIZE = 1024 * 1024
MAX_ITERS = 10000

TCACHE_MAX_BINS = 64
TCACHE_FILL_COUNT = 7
MAX_TCACHE_COUNT = 0xFFFF

# mallopt parameter numbers (malloc.h)
M_MXFAST = 1
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
M_CHECK_ACTION = -5
M_PERTURB = -6
M_ARENA_TEST = -7
M_ARENA_MAX = -8

# --- struct malloc_state (main_arena) -------------------------------------------------
AV_MUTEX = 0
AV_FLAGS = 4
AV_HAVE_FASTCHUNKS = 8
AV_FASTBINS = 16
AV_TOP = 96
AV_LAST_REMAINDER = 104
AV_BINS = 112
AV_BINMAP = AV_BINS + (NBINS * 2 - 2) * 8
AV_NEXT = AV_BINMAP + BINMAPSIZE * 4
AV_NEXT_FREE = AV_NEXT + 8
AV_ATTACHED_THREADS = AV_NEXT_FREE + 8
AV_SYSTEM_MEM = AV_ATTACHED_THREADS + 8
AV_MAX_SYSTEM_MEM = AV_SYSTEM_MEM + 8
SIZEOF_MALLOC_STATE = AV_MAX_SYSTEM_MEM + 8

# --- struct malloc_par (mp_) -----------------------------------------------------------
MP_TRIM_THRESHOLD = 0
MP_TOP_PAD = 8
MP_MMAP_THRESHOLD = 16
MP_ARENA_TEST = 24
MP_ARENA_MAX = 32
MP_N_MMAPS = 40  # int
MP_N_MMAPS_MAX = 44  # int
MP_MAX_N_MMAPS = 48  # int
MP_NO_DYN_THRESHOLD = 52  # int
MP_MMAPPED_MEM = 56
MP_MAX_MMAPPED_MEM = 64
MP_SBRK_BASE = 72
MP_TCACHE_BINS = 80
MP_TCACHE_MAX_BYTES = 88
MP_TCACHE_COUNT = 96
MP_TCACHE_UNSORTED_LIMIT = 104
SIZEOF_MALLOC_PAR = 112

# --- libc's data page: main_arena, mp_ and the other statics malloc.c keeps -------------
DATA_MAIN_ARENA = 0
DATA_MP = 2208
DATA_GLOBAL_MAX_FAST = DATA_MP + SIZEOF_MALLOC_PAR  # uint8_t
DATA_TCACHE_KEY = DATA_GLOBAL_MAX_FAST + 8  # uintptr_t
DATA_TCACHE = DATA_TCACHE_KEY + 8  # __thread tcache_perthread_struct *
DATA_CURBRK = DATA_TCACHE + 8  # __curbrk: sbrk's idea of the break (brk.c)
DATA_SIZE = DATA_CURBRK + 8

# --- struct tcache_perthread_struct / tcache_entry ------------------------------------
TC_COUNTS = 0  # uint16_t counts[TCACHE_MAX_BINS]
TC_ENTRIES = 2 * TCACHE_MAX_BINS  # tcache_entry *entries[TCACHE_MAX_BINS]
SIZEOF_TCACHE = TC_ENTRIES + 8 * TCACHE_MAX_BINS
TE_NEXT = 0
TE_KEY = 8


def request2size(req: int) -> int:
    """Pad a request to a usable chunk size (the request2size macro)."""
    if req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE:
        return MINSIZE
    return (req + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK & MASK64


def checked_request2size(req: int) -> int:
    """request2size, or 0 when the request is above PTRDIFF_MAX."""
    if req > PTRDIFF_MAX:
        return 0
    return request2size(req)


def csize2tidx(x: int) -> int:
    """tcache bin index of a chunk size."""
    return ((x - MINSIZE + MALLOC_ALIGN_MASK) & MASK64) // MALLOC_ALIGNMENT


def tidx2usize(idx: int) -> int:
    """Largest user size served by tcache bin idx."""
    return idx * MALLOC_ALIGNMENT + MINSIZE - SIZE_SZ


MAX_TCACHE_SIZE = tidx2usize(TCACHE_MAX_BINS - 1)


def in_smallbin_range(sz: int) -> bool:
    """Whether a chunk size belongs to a small bin."""
    return (sz & MASK64) < MIN_LARGE_SIZE


def smallbin_index(sz: int) -> int:
    """Small bin of a chunk size (through glibc's `(unsigned)` cast)."""
    return ((sz & MASK32) >> 4) + SMALLBIN_CORRECTION


def largebin_index(sz: int) -> int:
    """Large bin of a chunk size (largebin_index_64)."""
    sz &= MASK64
    if (sz >> 6) <= 48:
        return 48 + (sz >> 6)
    if (sz >> 9) <= 20:
        return 91 + (sz >> 9)
    if (sz >> 12) <= 10:
        return 110 + (sz >> 12)
    if (sz >> 15) <= 4:
        return 119 + (sz >> 15)
    if (sz >> 18) <= 2:
        return 124 + (sz >> 18)
    return 126


def bin_index(sz: int) -> int:
    """The bin a free chunk of this size goes to."""
    return smallbin_index(sz) if in_smallbin_range(sz) else largebin_index(sz)


def fastbin_index(sz: int) -> int:
    """Fastbin of a chunk size: `((unsigned int) sz >> 4) - 2`, wrapping like C."""
    return (((sz & MASK32) >> 4) - 2) & MASK32


NFASTBINS = fastbin_index(request2size(MAX_FAST_SIZE)) + 1


def idx2block(i: int) -> int:
    """Binmap word holding bin i."""
    return i >> BINMAPSHIFT


def idx2bit(i: int) -> int:
    """Bit of bin i in its binmap word."""
    return 1 << (i & (BITSPERMAP - 1))


def aligned_ok(m: int) -> bool:
    """Whether an address has malloc's alignment."""
    return (m & MALLOC_ALIGN_MASK) == 0


def misaligned_chunk(p: int) -> int:
    """Nonzero when a chunk address is not aligned (MALLOC_ALIGNMENT == CHUNK_HDR_SZ)."""
    return p & MALLOC_ALIGN_MASK


def powerof2(x: int) -> bool:
    """glibc's powerof2: true for 0 too."""
    return (x & (x - 1)) == 0


def align_up(x: int, a: int) -> int:
    """Round x up to a multiple of a (a power of two)."""
    return (x + a - 1) & ~(a - 1)


def align_down(x: int, a: int) -> int:
    """Round x down to a multiple of a (a power of two)."""
    return x & ~(a - 1)


def to_signed64(x: int) -> int:
    """Reinterpret a 64-bit value as a C long."""
    x &= MASK64
    return x - (1 << 64) if x >> 63 else x


def protect_ptr(pos: int, ptr: int) -> int:
    """Safe-Linking: PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr."""
    return ((pos >> 12) ^ ptr) & MASK64
