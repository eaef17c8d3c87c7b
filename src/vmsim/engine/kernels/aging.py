"""AGING kernel: n-bit counters shifted right on every tick, the accessed bit entering at the top.

The same run as `policies.aging` replayed with a tick every `tick_interval` references
(the machine's MachineConfig.tick_interval, 1000 by default: a tick comes before the
references numbered 1000, 2000, ...). The victim has the smallest counter, the page
loaded first among equals.

Counters change only at ticks (every one) and when a page is loaded (it starts at the
top bit), so between two ticks the victims come in a known order: at a tick the
resident pages are sorted by (counter, load order) into `order`; pages loaded since
wait in `fresh` (all with counter = top, in load order, younger than every page of
`order`). The victim is the head of `order` unless its counter is above top and a
fresh page waits. A tick re-sorts all resident pages: O(frames log frames) per tick,
O(1) per reference between ticks.

With at most BUCKET_BITS counter bits (the default 8 among them) the sort is a counting
sort instead, over state kept per frame slot: the resident pages are kept on a list in
load order; a tick walks it and
appends each page to the list of its new counter value, so each list stays in load
order; a fresh page joins the list of `top` at its end. The victim is the head of the
lowest non-empty list: O(frames + 2**bits) per tick.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmsim.engine.kernels import kernel
from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError

BUCKET_BITS = 12
"""Counters of at most this many bits are sorted by counting (2**bits lists)."""


@njit(cache=True, nogil=True)
def aging_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, bits: int, tick: int
) -> int:
    """Aging with `bits`-bit counters and a tick every `tick` references."""
    top = np.uint64(1) << np.uint64(bits - 1)
    one = np.uint64(1)
    counter = np.zeros(n_ids, np.uint64)
    seq = np.zeros(n_ids, np.int64)  # load order
    state = np.zeros(n_ids, np.uint8)  # 0 not resident, 1 resident, 2 resident + accessed
    order = np.empty(frames, np.int32)
    o_head = 0
    o_len = 0
    fresh = np.empty(frames, np.int32)  # a circular queue
    f_head = 0
    f_n = 0
    gather = np.empty(frames, np.int32)
    keys = np.empty(frames, np.uint64)
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        if tick and t and t % tick == 0 and count:
            m = 0
            for i in range(o_head, o_len):
                gather[m] = order[i]
                m += 1
            for i in range(f_n):
                gather[m] = fresh[(f_head + i) % frames]
                m += 1
            for i in range(m):
                q = gather[i]
                c = counter[q] >> one
                if state[q] == 2:
                    c |= top
                    state[q] = 1
                counter[q] = c
                keys[i] = seq[q]
            by_seq = np.argsort(keys[:m], kind="mergesort")
            for i in range(m):
                keys[i] = counter[gather[by_seq[i]]]
            by_counter = np.argsort(keys[:m], kind="mergesort")
            for i in range(m):
                order[i] = gather[by_seq[by_counter[i]]]
            o_head, o_len, f_head, f_n = 0, m, 0, 0
        p = ids[t]
        if state[p]:
            state[p] = 2
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            if o_head < o_len and (f_n == 0 or counter[order[o_head]] <= top):
                v = order[o_head]
                o_head += 1
            else:
                v = fresh[f_head]
                f_head = f_head + 1 if f_head + 1 < frames else 0
                f_n -= 1
            state[v] = 0
        else:
            count += 1
        fresh[(f_head + f_n) % frames] = p
        f_n += 1
        counter[p] = top
        seq[p] = t
        state[p] = 2
    return misses


@njit(cache=True, nogil=True)
def aging_bucket_kernel(
    ids: np.ndarray, n_ids: int, frames: int, flags: np.ndarray, bits: int, tick: int
) -> int:
    """Aging with counters of at most BUCKET_BITS bits: lists per counter value.

    The state lives per frame slot (arrays of `frames` entries, which a tick walks), not
    per page id, so that a tick touches memory that fits in the cache.
    """
    nb = 1 << bits
    top = 1 << (bits - 1)
    slot_of = np.full(n_ids, -1, np.int32)
    page = np.empty(frames, np.int32)
    counter = np.zeros(frames, np.int64)
    accessed = np.zeros(frames, np.uint8)
    lnext = np.full(frames, -1, np.int32)  # slots in load order, doubly linked
    lprev = np.full(frames, -1, np.int32)
    lhead = -1
    ltail = -1
    bnext = np.full(frames, -1, np.int32)  # slots per counter value, in load order
    bhead = np.full(nb, -1, np.int32)
    btail = np.full(nb, -1, np.int32)
    low = nb  # no list below it is non-empty
    count = 0
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        if tick and t and t % tick == 0 and count:
            bhead[:] = -1
            btail[:] = -1
            low = nb
            q = lhead
            while q >= 0:
                c = counter[q] >> 1
                if accessed[q]:
                    c |= top
                    accessed[q] = 0
                counter[q] = c
                bnext[q] = -1
                if btail[c] < 0:
                    bhead[c] = q
                else:
                    bnext[btail[c]] = q
                btail[c] = q
                if c < low:
                    low = c
                q = lnext[q]
        p = ids[t]
        v = slot_of[p]
        if v >= 0:
            accessed[v] = 1
            continue
        misses += 1
        if record:
            flags[t] = 1
        if count == frames:
            while bhead[low] < 0:
                low += 1
            v = bhead[low]
            bhead[low] = bnext[v]
            if bhead[low] < 0:
                btail[low] = -1
            slot_of[page[v]] = -1
            if lprev[v] >= 0:
                lnext[lprev[v]] = lnext[v]
            else:
                lhead = lnext[v]
            if lnext[v] >= 0:
                lprev[lnext[v]] = lprev[v]
            else:
                ltail = lprev[v]
        else:
            v = count
            count += 1
        page[v] = p
        slot_of[p] = v
        lprev[v] = ltail
        lnext[v] = -1
        if ltail >= 0:
            lnext[ltail] = v
        else:
            lhead = v
        ltail = v
        bnext[v] = -1
        if btail[top] < 0:
            bhead[top] = v
        else:
            bnext[btail[top]] = v
        btail[top] = v
        if top < low:
            low = top
        counter[v] = top
        accessed[v] = 1
    return misses


@kernel("aging", bits=8, tick_interval=1000)
def run_aging(prep: Prepared, frames: int, flags: np.ndarray, bits: int, tick_interval: int) -> int:
    """AGING; options bits (1..64, default 8), tick_interval (references, default 1000)."""
    if not 1 <= bits <= 64:
        raise ConfigError("bits", bits, "1..64 counter bits")
    if tick_interval < 1:
        raise ConfigError("tick_interval", tick_interval, "at least 1 reference")
    run = aging_bucket_kernel if bits <= BUCKET_BITS else aging_kernel
    return int(run(prep.ids, prep.n_ids, frames, flags, int(bits), int(tick_interval)))
