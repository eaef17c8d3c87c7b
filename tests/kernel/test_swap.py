"""Swap: the host file, swap entries in PTEs, the swap cache, whole-process swapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import vmsim
from vmsim.events import Evict, FrameAlloc, SwapIn, SwapOut

PAGE = 4096


def test_temporary_swap_file_is_removed_on_close() -> None:
    m = vmsim.Machine(memory="64KiB", swap="1MiB")
    path = m.kernel.swap.dev.path  # type: ignore[union-attr]
    assert os.path.getsize(path) == 1 << 20
    with open(path, "rb") as f:
        assert f.read(PAGE)[-10:] == b"SWAPSPACE2"
    m.close()
    assert not os.path.exists(path)
    with vmsim.Machine(memory="64KiB", swap="1MiB") as m2:
        path2 = m2.kernel.swap.dev.path  # type: ignore[union-attr]
        assert os.path.exists(path2)
    assert not os.path.exists(path2)


def test_given_swap_file_holds_the_pages_and_stays(tmp_path: Path) -> None:
    swapfile = tmp_path / "swap.img"
    with vmsim.Machine(memory="64KiB", swap="256KiB", swap_file=str(swapfile)) as m:
        p = m.spawn()
        va = p.mmap(PAGE)
        p.store(va, b"written to a real file")
        assert m.swap_out_process(p.pid) == 1
        slot = p.pte(va).swap_slot  # type: ignore[union-attr]
        assert slot is not None and slot >= 1
        raw = swapfile.read_bytes()
        assert raw[slot * PAGE : slot * PAGE + 22] == b"written to a real file"
    assert swapfile.exists()


def test_bad_swap_sizes_and_files() -> None:
    with pytest.raises(vmsim.ConfigError):
        vmsim.Machine(memory="64KiB", swap=4096)
    with pytest.raises(vmsim.ConfigError) as e:
        vmsim.Machine(memory="64KiB", swap="64KiB", swap_file="/nonexistent/dir/swap")
    assert e.value.option == "swap_file"


@pytest.mark.parametrize(
    ("paging", "cfg", "entry"),
    [
        ("x86_64", {}, lambda slot: slot << 12),
        ("x86_32", {}, lambda slot: slot << 12),
        ("sv39", {}, lambda slot: slot << 10),
        ("linear", {"page_size": "1KiB", "address_space": "64KiB"}, lambda slot: slot),
    ],
)
def test_swap_entry_in_each_formats_layout(paging: str, cfg: dict[str, str], entry: object) -> None:
    with vmsim.Machine(memory="64KiB", swap="64KiB", paging=paging, **cfg) as m:  # type: ignore[arg-type]
        p = m.spawn()
        va = p.mmap(m.config.page_size)
        p.store(va, b"s")
        m.swap_out_process(p.pid)
        info = p.pte(va)
        assert info is not None and not info.present and info.swap_slot == 1
        assert info.raw == entry(1)  # type: ignore[operator]
        assert p.load(va, 1) == b"s"
        assert p.pte(va).present  # type: ignore[union-attr]


def test_clean_page_is_not_written_twice() -> None:
    with vmsim.Machine(memory="1MiB", swap="1MiB") as m:
        p = m.spawn()
        va = p.mmap(PAGE)
        p.store(va, b"once")
        m.swap_out_process(p.pid)
        assert m.stats.pswpout == 1
        assert p.load(va, 4) == b"once"  # swap-in: a major fault, the copy stays in swap
        assert (m.stats.pswpin, p.stats.maj_flt) == (1, 1)
        m.swap_out_process(p.pid)
        assert m.stats.pswpout == 1  # clean: the copy in swap is still good
        p.store(va, b"twice")  # swapped in again, then dirtied
        m.swap_out_process(p.pid)
        assert m.stats.pswpout == 2
        assert p.load(va, 5) == b"twice"
        m.check()


def test_swap_out_process_then_on_demand() -> None:
    with vmsim.Machine(memory="1MiB", swap="1MiB", record_events=True) as m:
        p = m.spawn()
        va = p.mmap(10 * PAGE)
        for i in range(10):
            p.store(va + i * PAGE, bytes([i]) * 100)
        assert m.swap_out_process(p.pid) == 10
        assert (p.stats.rss, p.stats.swap) == (0, 10)
        assert sum(isinstance(e, SwapOut) for e in m.events) == 10
        assert p.load(va + 3 * PAGE, 100) == bytes([3]) * 100
        assert (p.stats.rss, p.stats.swap, p.stats.maj_flt) == (1, 9, 1)
        assert sum(isinstance(e, SwapIn) for e in m.events) == 1
        m.check()


def test_reclaim_never_takes_page_tables_or_the_zero_page() -> None:
    with vmsim.Machine(memory="64KiB", swap="1MiB", record_events=True) as m:
        procs = [m.spawn() for _ in range(2)]
        vas = [p.mmap(32 * PAGE) for p in procs]
        for rnd in range(2):
            for p, va in zip(procs, vas, strict=True):
                for i in range(32):
                    p.load(va + i * PAGE, 1) if i % 3 == 0 else p.store(
                        va + i * PAGE, bytes([rnd, i])
                    )
        purpose: dict[int, str] = {}  # what each frame was last allocated for
        victims = []
        for e in m.events:
            if isinstance(e, FrameAlloc):
                purpose[e.ppn] = e.purpose
            elif isinstance(e, Evict):
                victims.append(purpose[e.ppn])
        assert victims and set(victims) == {"anon"}
        for p, va in zip(procs, vas, strict=True):
            for i in range(32):
                want = bytes(2) if i % 3 == 0 else bytes([1, i])
                assert p.load(va + i * PAGE, 2) == want
        m.check()


def test_memory_limit_replaces_locally_and_ignores_page_tables() -> None:
    with vmsim.Machine(memory="1MiB", swap="1MiB") as m:
        other = m.spawn("other")
        vo = other.mmap(4 * PAGE)
        for i in range(4):
            other.store(vo + i * PAGE, b"keep")
        p = m.spawn("limited", memory_limit="16KiB")
        va = p.mmap(20 * PAGE)
        for i in range(20):
            p.store(va + i * PAGE, bytes([i]))
            assert p.stats.rss <= 4
        assert p.stats.rss == 4 and p.stats.swap == 16 and p.stats.pgtables == 4
        assert other.stats.rss == 4 and other.stats.swap == 0  # local replacement only
        assert all(p.load(va + i * PAGE, 1) == bytes([i]) for i in range(20))
        m.check()


def test_memory_limit_must_be_a_size() -> None:
    m = vmsim.Machine(memory="1MiB")
    with pytest.raises(vmsim.ConfigError) as e:
        m.spawn(memory_limit="lots")
    assert e.value.option == "memory_limit"
    with pytest.raises(vmsim.ConfigError):
        m.spawn(memory_limit=100)
