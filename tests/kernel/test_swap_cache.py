"""The swap cache, directly: a page read back from swap keeps its slot until it changes.

A clean swap-cache page goes back to swap without a write; a page changed after its
swap-in (by a write that faults, or one that hits the TLB) must be written again.
"""

from __future__ import annotations

import pytest

import vmsim

PAGE = 4096


def _swapped_page(m: vmsim.Machine) -> tuple[vmsim.Process, int]:
    """A process whose one written page (b"one") has gone to swap."""
    p = m.spawn()
    va = p.mmap(PAGE)
    p.store(va, b"one")
    assert m.swap_out_process(p.pid) == 1
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 0)
    return p, va


@pytest.fixture
def m() -> vmsim.Machine:
    return vmsim.Machine(memory="1MiB", swap="1MiB")


def test_a_clean_swap_cache_page_is_not_written_again(m: vmsim.Machine) -> None:
    p, va = _swapped_page(m)
    assert p.load(va, 3) == b"one"
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 1)
    assert m.swap_out_process(p.pid) == 1
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 1)  # the slot still holds it
    assert p.load(va, 3) == b"one"
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 2)
    m.check()


@pytest.mark.parametrize("tlb_hit", [False, True], ids=["write-faults", "write-hits-tlb"])
def test_a_changed_swap_cache_page_is_written_again(m: vmsim.Machine, tlb_hit: bool) -> None:
    """Swap out, swap in (a read), modify, swap out, read back: the modified bytes."""
    p, va = _swapped_page(m)
    assert p.load(va, 3) == b"one"  # swap-in: the page stays in the swap cache
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 1)
    if tlb_hit:
        p.load(va, 1)  # the TLB holds the clean translation: the write finds it there
        p.store(va, b"two")
    else:
        m.kernel.flush_tlb_all()
        p.store(va, b"two")
    assert m.swap_out_process(p.pid) == 1
    assert (m.stats.pswpout, m.stats.pswpin) == (2, 1)
    assert p.load(va, 3) == b"two"
    assert (m.stats.pswpout, m.stats.pswpin) == (2, 2)
    m.check()


def test_a_write_that_swaps_in_is_written_again(m: vmsim.Machine) -> None:
    p, va = _swapped_page(m)
    p.store(va + 3, b"+two")  # the swap-in is the write's own fault
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 1)
    assert m.swap_out_process(p.pid) == 1
    assert (m.stats.pswpout, m.stats.pswpin) == (2, 1)
    assert p.load(va, 7) == b"one+two"
    assert (m.stats.pswpout, m.stats.pswpin) == (2, 2)
    m.check()


def test_a_child_sharing_the_swap_cache_page_sees_the_old_bytes(m: vmsim.Machine) -> None:
    """After fork both map the swap-cache page; the parent's write copies, the slot stays."""
    p, va = _swapped_page(m)
    c = p.fork()
    assert c.load(va, 3) == b"one"  # one swap-in maps it for both
    assert (m.stats.pswpout, m.stats.pswpin) == (1, 1)
    p.store(va, b"two")  # copy-on-write: the parent's new frame is not the cached copy
    assert m.swap_out_process(p.pid) == 1 and m.swap_out_process(c.pid) == 1
    assert m.stats.pswpout == 2  # the parent's new page; the child's is the clean cached one
    assert p.load(va, 3) == b"two" and c.load(va, 3) == b"one"
    assert m.stats.pswpin == 3
    m.check()
