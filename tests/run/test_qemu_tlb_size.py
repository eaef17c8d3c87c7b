"""The CPU's model of QEMU's soft-TLB size (tlb_mmu_resize_locked in QEMU's cputlb.c).

QEMU resizes its TLB only on a flush: it doubles when more than 70 % of the entries were
in use at a flush of the current 100 ms window; once a window has run out with under 30 %
in use, it shrinks to the power of two that holds the most used at 70 % or less (64 at
least). The CPU decides when to flush to grow it from this model, so the model must follow
QEMU's rule step by step: the figures below are worked by hand from that source.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_MEM_READ, UC_MEM_WRITE

from vmsim.config import MachineConfig
from vmsim.hw.cpu import CPU, QEMU_TLB_ENTRIES, QEMU_TLB_WINDOW_NS, _TlbEntry
from vmsim.hw.pte import NX, PRESENT, USER, WRITE
from vmsim.kernel.kernel import Kernel
from vmsim.kernel.vm import map_page


def fresh_cpu() -> CPU:
    """A CPU over a small machine (its TLB model as Unicorn starts: 256 entries)."""
    k = Kernel(MachineConfig(memory=8 << 20))
    return CPU(k.mem, k.mmu, lambda va, access, reason: False)


def test_grows_over_70_per_cent_and_shrinks_after_a_quiet_window() -> None:
    cpu = fresh_cpu()
    assert cpu._tlb_size == QEMU_TLB_ENTRIES == 256
    t = cpu._window_begin
    cpu._resize_on_flush(179, t + 1)  # 69 %: as it was
    assert cpu._tlb_size == 256
    cpu._resize_on_flush(180, t + 2)  # 70 %: not over
    assert cpu._tlb_size == 256
    cpu._resize_on_flush(181, t + 3)  # 70.7 %, rounded down to 70: still not over
    assert cpu._tlb_size == 256
    cpu._resize_on_flush(182, t + 4)  # 71 %: doubled, a new window with nothing used yet
    assert cpu._tlb_size == 512
    cpu._resize_on_flush(10, t + 5)  # 10 of 512, but the window has not run out
    assert cpu._tlb_size == 512
    late = t + 4 + QEMU_TLB_WINDOW_NS + 1
    cpu._resize_on_flush(10, late)  # the most used in the window: 10 -> 16, and at least 64
    assert cpu._tlb_size == 64
    cpu._resize_on_flush(20, late + 1)  # 31 % of 64, a fresh window: as it is
    assert cpu._tlb_size == 64


def test_a_window_that_runs_out_between_the_bounds_starts_over_from_the_use_seen() -> None:
    cpu = fresh_cpu()
    t = cpu._window_begin
    cpu._resize_on_flush(128, t + QEMU_TLB_WINDOW_NS + 1)  # 50 %: kept, the window restarts
    assert cpu._tlb_size == 256 and cpu._window_max == 128
    cpu._resize_on_flush(0, t + 2 * QEMU_TLB_WINDOW_NS + 2)  # 0 % now, but 128 in the window
    assert cpu._tlb_size == 256
    cpu._resize_on_flush(0, t + 3 * QEMU_TLB_WINDOW_NS + 3)  # a window of nothing: the least
    assert cpu._tlb_size == 64


def test_shrinking_keeps_the_most_used_under_70_per_cent() -> None:
    cpu = fresh_cpu()
    cpu._tlb_size = 4096
    t = cpu._window_begin
    cpu._resize_on_flush(1000, t + QEMU_TLB_WINDOW_NS + 1)  # 24 %: 1000 -> 1024 is 97 %: 2048
    assert cpu._tlb_size == 2048


def test_entries_in_use_are_counted_as_qemu_counts_them() -> None:
    """tlb_set_page_with_attrs: a fill into an empty slot or over the same page (a write
    after a read-only fill) adds one to n_used_entries; one that evicts another page to
    the victim TLB adds none."""
    k = Kernel(MachineConfig(memory=8 << 20))
    proc = k.spawn("filler")
    k.switch_to(proc)
    cpu = CPU(k.mem, k.mmu, lambda va, access, reason: False)
    base = 0x7F12_3440_0000  # pages base, base + 1 and base + 256: slots 0, 1 and 0 again
    for page in (0, 1, QEMU_TLB_ENTRIES):
        ppn = k.frames.kalloc("anon")
        map_page(k, proc.mm, base + page * 4096, ppn, PRESENT | USER | WRITE | NX, "anon")
    entry = ctypes.pointer(_TlbEntry())
    used = []
    for page, access in ((0, UC_MEM_READ), (0, UC_MEM_WRITE), (QEMU_TLB_ENTRIES, UC_MEM_READ),
                         (1, UC_MEM_READ)):  # fmt: skip
        assert cpu._fill(0, base + page * 4096, access, entry, 0)
        used.append(cpu._used)
    assert used == [1, 2, 2, 3]
