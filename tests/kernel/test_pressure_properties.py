"""Property tests under heavy memory pressure: data survives, mappings stay honest."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim

PAGE = 4096
NPAGES = 12

step = st.tuples(
    st.integers(0, 3),  # process
    st.integers(0, NPAGES - 1),  # page
    st.integers(0, PAGE - 8),  # offset
    st.binary(min_size=1, max_size=8),
    st.sampled_from(["store", "load", "swapout"]),
)


@settings(max_examples=40)
@given(
    st.lists(step, min_size=1, max_size=120),
    st.sampled_from(["fifo", "lru", "clock", "nru", "aging", "random", "wsclock", "mru"]),
    st.sampled_from(["x86_64", "sv39"]),
)
def test_random_writes_under_pressure_read_back_intact(
    script: list[tuple[int, int, int, bytes, str]], policy: str, paging: str
) -> None:
    # 24 frames: the zero page, ~16 page-table pages, a handful for 48 pages of data
    with vmsim.Machine(
        memory="96KiB", swap="1MiB", policy=policy, paging=paging, tick_interval=16
    ) as m:
        procs = [m.spawn(memory_limit="12KiB" if i == 3 else None) for i in range(4)]
        vas = [p.mmap(NPAGES * PAGE) for p in procs]
        model = [bytearray(NPAGES * PAGE) for _ in procs]
        for who, page, off, data, op in script:
            p, va, at = procs[who], vas[who], page * PAGE + off
            if op == "store":
                p.store(va + at, data)
                model[who][at : at + len(data)] = data
            elif op == "load":
                assert p.load(va + at, len(data)) == bytes(model[who][at : at + len(data)])
            else:
                m.swap_out_process(p.pid)
            m.check()  # no frame mapped by a process that does not own or share it, etc.
        for p, va, mine in zip(procs, vas, model, strict=True):
            assert p.load(va, NPAGES * PAGE) == bytes(mine)
        assert procs[3].stats.rss <= 3
