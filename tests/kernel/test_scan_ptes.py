"""scan_ptes against its definition: every non-zero leaf PTE of the range, in address order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import vmsim
from vmsim.kernel.vm import scan_ptes, walk

PAGE = 4096


def _definition(k: object, mm: object, start: int, end: int) -> list[tuple[int, int, int]]:
    """Every page of [start, end) walked one by one: (va, pte_pa, pte) where pte != 0."""
    out = []
    for va in range(start, end, PAGE):
        pte_pa, pte = walk(k, mm, va)  # type: ignore[arg-type]
        if pte_pa >= 0 and pte:
            out.append((va, pte_pa, pte))
    return out


@settings(max_examples=30, deadline=None)
@given(
    paging=st.sampled_from(["x86_64", "x86_32", "sv39", "linear"]),
    pages=st.lists(st.integers(0, 300), min_size=1, max_size=24, unique=True),
    cut=st.tuples(st.integers(0, 301), st.integers(1, 302)),
)
def test_scan_ptes_is_every_leaf_pte_in_the_range(
    paging: str, pages: list[int], cut: tuple[int, int]
) -> None:
    """Pages spread over several leaf tables (and, with huge spans, upper tables)."""
    extra = {"address_space": 64 << 20} if paging == "linear" else {}
    m = vmsim.Machine(memory="4MiB", paging=paging, overcommit="always", **extra)
    p = m.spawn()
    k = m.kernel
    spread = 1 if paging == "linear" else (1 << k.fmt.level_bits[-1]) // 4 + 1  # 4 a leaf table
    base = p.mmap(((max(pages) + 1) * spread + 1) * PAGE)
    for i in pages:
        p.store(base + i * spread * PAGE, b"x")
    mm = p._proc.mm
    lo = base + min(cut) * PAGE
    hi = base + max(max(cut), min(cut) + 1) * spread * PAGE
    assert list(scan_ptes(k, mm, lo, hi)) == _definition(k, mm, lo, hi)
    assert len(list(scan_ptes(k, mm, 0, k.fmt.user_top))) >= len(pages)
