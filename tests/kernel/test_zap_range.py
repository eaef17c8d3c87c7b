"""zap_pte_range: munmap and exit clear a leaf table's PTEs at once, counted one by one.

The hand-worked sequence: a mapping over a 2 MiB boundary (two leaf tables) holds, from
page -2 of the boundary on, a dirty present page, the zero page, a clean page back from
swap, a swap entry, a hole and another swap entry. munmap of pages -2..2 must clear
exactly those PTEs, with the counts of one PTE at a time.
"""

from __future__ import annotations

import vmsim

PAGE = 4096
BOUNDARY = 0x3FE00000
"""2 MiB-aligned (not 1 GiB): the pages below and above it have different leaf tables."""


def at(i: int) -> int:
    """The address of page i from the boundary."""
    return BOUNDARY + i * PAGE


def mixed() -> tuple[vmsim.Machine, vmsim.Process]:
    """The machine and process of the module's sequence, just before the munmap."""
    m = vmsim.Machine(memory="1MiB", swap="1MiB")
    assert m.kernel.frames.nr_free == m.kernel.frames.nframes - 1  # all but the zero page
    p = m.spawn()
    p.mmap(8 * PAGE, addr=at(-3))
    for i in (-2, 0, 1, 3):
        p.store(at(i), b"x")
    p.load(at(-1), 1)  # the zero page
    assert m.swap_out_process(p.pid) == 4
    p.store(at(-2), b"y")  # back from swap, dirty
    p.load(at(0), 1)  # back from swap, clean (its slot stays in the swap cache)
    return m, p


def counts(m: vmsim.Machine, p: vmsim.Process) -> tuple[int, ...]:
    """Memory loads and stores, TLB page flushes, rss, free frames, swap slots in use."""
    k = m.kernel
    return (
        k.mem.reads,
        k.mem.writes,
        k.stats.tlb_flush_page,
        p.stats.rss,
        k.frames.nr_free,
        k.swap.used,
    )


def test_munmap_across_two_leaf_tables_clears_each_pte_once() -> None:
    m, p = mixed()
    kinds = []
    for i in range(-3, 5):
        pte = p.pte(at(i))
        kinds.append(None if pte is None else "swap" if not pte.present else pte.frame)
    zero = m.kernel.zero_ppn
    assert kinds[1] != zero and kinds[2] == zero and isinstance(kinds[3], int)
    assert kinds[0] is None and kinds[4] == "swap" and kinds[5] is None and kinds[6] == "swap"
    before = counts(m, p)
    p.munmap(at(-2), 5 * PAGE)
    delta = [a - b for a, b in zip(counts(m, p), before, strict=True)]
    # loads: 5 leaf entries and 4 upper entries (PML4, PDPT, two PDs); stores and flushes:
    # the 4 PTEs that were not zero; two frames freed (not the zero page) and 3 slots
    # (the swap entry's and the two swap-cache copies of the freed frames)
    assert delta == [9, 4, 4, -2, 2, -3]
    assert [p.pte(at(i)) for i in range(-3, 3)] == [None] * 6
    last = p.pte(at(3))
    assert last is not None and last.swap_slot is not None  # beyond the range: kept
    m.check()


def test_exit_frees_every_frame_and_slot_and_counts_each_pte_flush() -> None:
    m, p = mixed()
    nonzero = sum(p.pte(va) is not None for v in p.vmas() for va in range(v.start, v.end, PAGE))
    assert nonzero == 5  # the sequence's, nothing else was touched
    flushes = m.kernel.stats.tlb_flush_page
    p.exit(0)
    assert m.kernel.swap.used == 0
    assert m.kernel.stats.tlb_flush_page - flushes == nonzero  # gathered, counted per PTE
    assert m.kernel.frames.nr_free == m.kernel.frames.nframes - 1  # frames and page tables
    m.check()


def test_a_dirty_bit_stays_on_a_frame_another_pte_still_maps() -> None:
    """A dirty PTE unmapped while a clean one still maps the frame: the frame keeps the
    dirty mark (its data must be written back); a last, private mapping frees it unmarked."""
    m = vmsim.Machine(memory="1MiB", swap="1MiB")
    k = m.kernel
    parent = m.spawn()
    shared = parent.mmap(PAGE, shared=True)
    parent.load(shared, 1)
    child = parent.fork()
    parent.store(shared, b"d")  # the parent's PTE dirty, the child's clean
    frame = parent.pte(shared).frame
    assert parent.pte(shared).dirty and not child.pte(shared).dirty
    parent.munmap(shared, PAGE)
    assert frame in k.reclaimer.page_dirty
    private = child.mmap(PAGE)
    child.store(private, b"p")
    gone = child.pte(private).frame
    child.munmap(private, PAGE)
    assert gone not in k.reclaimer.page_dirty and k.frames.refcount[gone] == 0
