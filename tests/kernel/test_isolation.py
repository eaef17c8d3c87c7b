"""Property tests: processes never see each other's bytes; fresh memory reads as zeros."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import vmsim

PAGE = 4096
NPAGES = 8

ops = st.lists(
    st.tuples(
        st.integers(0, 2),  # which process
        st.integers(0, NPAGES * PAGE - 16),  # offset in its mapping
        st.binary(min_size=1, max_size=16),
        st.booleans(),  # store (True) or load-check (False)
    ),
    max_size=60,
)


@given(ops, st.sampled_from(["x86_64", "x86_32", "sv39"]), st.sampled_from([0, 4]))
def test_processes_never_see_each_others_bytes(
    script: list[tuple[int, int, bytes, bool]], paging: str, asid_bits: int
) -> None:
    m = vmsim.Machine(memory="1MiB", paging=paging, tlb_entries=8, tlb_ways=2, asid_bits=asid_bits)
    procs = [m.spawn() for _ in range(3)]
    vas = [p.mmap(NPAGES * PAGE) for p in procs]
    assert len(set(vas)) == 1  # same virtual addresses in every process
    model = [bytearray(NPAGES * PAGE) for _ in procs]
    for who, off, data, is_store in script:
        p, va = procs[who], vas[who]
        if is_store:
            p.store(va + off, data)
            model[who][off : off + len(data)] = data
        else:
            assert p.load(va + off, len(data)) == bytes(model[who][off : off + len(data)])
    for p, va, mine in zip(procs, vas, model, strict=True):
        assert p.load(va, NPAGES * PAGE) == bytes(mine)


@given(st.lists(st.integers(0, 31), min_size=1, max_size=40))
def test_fresh_pages_read_as_zeros_even_after_reuse(pages: list[int]) -> None:
    m = vmsim.Machine(memory="256KiB")
    a = m.spawn()
    va = a.mmap(32 * PAGE)
    for pg in pages:
        a.store(va + pg * PAGE, b"\xff" * 64)
    a.exit()
    b = m.spawn()
    vb = b.mmap(32 * PAGE)
    for pg in pages:
        b.store(vb + pg * PAGE + 100, b"\x01")  # fresh frames, likely the ones a used
        assert b.load(vb + pg * PAGE, 64) == bytes(64)
    assert b.load(vb, 32 * PAGE).count(0) == 32 * PAGE - len(set(pages))
