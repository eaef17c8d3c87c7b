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

from typing import Any, ClassVar

import numpy as np
from numba import njit

from vmsim.engine.kernels import Arrays, State, stateful
from vmsim.engine.prefetch import prefetch_ahead
from vmsim.errors import ConfigError

BUCKET_BITS = 12
"""Counters of at most this many bits are sorted by counting (2**bits lists)."""


@njit(cache=True, nogil=True)
def aging_kernel(
    ids: np.ndarray, t0: int, counter: np.ndarray, seq: np.ndarray, state: np.ndarray,
    order: np.ndarray, fresh: np.ndarray, gather: np.ndarray, keys: np.ndarray, sc: np.ndarray,
    frames: int, flags: np.ndarray, bits: int, tick: int,
) -> int:  # fmt: skip
    """Aging with `bits`-bit counters and a tick every `tick` references; t0: the references
    before this chunk. Per page: counter, seq (load order), state (0 not resident, 1
    resident, 2 resident + accessed); fresh is a circular queue; sc: o_head, o_len,
    f_head, f_n, count."""
    top = np.uint64(1) << np.uint64(bits - 1)
    one = np.uint64(1)
    o_head = sc[0]
    o_len = sc[1]
    f_head = sc[2]
    f_n = sc[3]
    count = sc[4]
    misses = 0
    record = len(flags) > 0
    for t in range(len(ids)):
        if tick and t0 + t and (t0 + t) % tick == 0 and count:
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
        seq[p] = t0 + t
        state[p] = 2
    sc[0] = o_head
    sc[1] = o_len
    sc[2] = f_head
    sc[3] = f_n
    sc[4] = count
    return misses


@njit(cache=True, nogil=True)
def aging_bucket_kernel(
    ids: np.ndarray, t0: int, slot_of: np.ndarray, page: np.ndarray, counter: np.ndarray,
    accessed: np.ndarray, lnext: np.ndarray, lprev: np.ndarray, bnext: np.ndarray,
    bhead: np.ndarray, btail: np.ndarray, sc: np.ndarray, frames: int, flags: np.ndarray,
    bits: int, tick: int,
) -> int:  # fmt: skip
    """Aging with counters of at most BUCKET_BITS bits: lists per counter value.

    The state lives per frame slot (arrays of `frames` entries, which a tick walks), not
    per page id, so that a tick touches memory that fits in the cache. lnext/lprev: the
    slots in load order, doubly linked; bnext, bhead, btail: the slots per counter value,
    in load order. sc: lhead, ltail, low (no list below it is non-empty), count.
    """
    nb = 1 << bits
    top = 1 << (bits - 1)
    lhead = sc[0]
    ltail = sc[1]
    low = sc[2]
    count = sc[3]
    misses = 0
    record = len(flags) > 0
    n = len(ids)
    for t in range(n):
        if tick and t0 + t and (t0 + t) % tick == 0 and count:
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
        prefetch_ahead(ids, t, slot_of)
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
    sc[0] = lhead
    sc[1] = ltail
    sc[2] = low
    sc[3] = count
    return misses


def _check(bits: int, tick_interval: int) -> None:
    """ConfigError for counter bits or a tick interval out of range."""
    if not 1 <= bits <= 64:
        raise ConfigError("bits", bits, "1..64 counter bits")
    if tick_interval < 1:
        raise ConfigError("tick_interval", tick_interval, "at least 1 reference")


class AgingSort(State):
    """Aging with counters of more than BUCKET_BITS bits (sorted at each tick)."""

    PAGE: ClassVar[Arrays] = {
        "counter": (np.uint64, 0),
        "seq": (np.int64, 0),
        "state": (np.uint8, 0),
    }
    FRAME: ClassVar[Arrays] = {
        "order": (np.int32, 0),
        "fresh": (np.int32, 0),
        "gather": (np.int32, 0),
        "keys": (np.uint64, 0),
    }
    SCALARS = 5

    def setup(self, bits: int = 8, tick_interval: int = 1000, **_: Any) -> None:
        """Keep the options."""
        self.bits, self.tick = int(bits), int(tick_interval)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            aging_kernel(ids, self.t, self.counter, self.seq, self.state, self.order,
                         self.fresh, self.gather, self.keys, self.sc, self.frames, flags,
                         self.bits, self.tick)
        )  # fmt: skip


class AgingBuckets(State):
    """Aging with counters of at most BUCKET_BITS bits (lists per counter value)."""

    PAGE: ClassVar[Arrays] = {"slot_of": (np.int32, -1)}
    FRAME: ClassVar[Arrays] = {
        "page": (np.int32, 0),
        "counter": (np.int64, 0),
        "accessed": (np.uint8, 0),
        "lnext": (np.int32, -1),
        "lprev": (np.int32, -1),
        "bnext": (np.int32, -1),
    }
    SCALARS = 4

    def setup(self, bits: int = 8, tick_interval: int = 1000, **_: Any) -> None:
        """Keep the options; empty lists."""
        self.bits, self.tick = int(bits), int(tick_interval)
        self.bhead = np.full(1 << self.bits, -1, np.int32)
        self.btail = np.full(1 << self.bits, -1, np.int32)
        self.sc[:] = (-1, -1, 1 << self.bits, 0)

    def step(
        self, ids: np.ndarray, wbits: np.ndarray, flags: np.ndarray, next_use: np.ndarray | None
    ) -> int:
        """One chunk."""
        return int(
            aging_bucket_kernel(ids, self.t, self.slot_of, self.page, self.counter,
                                self.accessed, self.lnext, self.lprev, self.bnext, self.bhead,
                                self.btail, self.sc, self.frames, flags, self.bits, self.tick)
        )  # fmt: skip


@stateful("aging", bits=8, tick_interval=1000)
class Aging(State):
    """AGING; options bits (1..64, default 8), tick_interval (references, default 1000)."""

    def __new__(cls, frames: int, n_ids: int = 0, **options: Any) -> Any:
        bits, tick = int(options.get("bits", 8)), int(options.get("tick_interval", 1000))
        _check(bits, tick)
        impl = AgingBuckets if bits <= BUCKET_BITS else AgingSort
        return impl(frames, n_ids, **options)
