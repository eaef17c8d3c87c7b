"""The fault path: demand paging, the zero page, SIGSEGV codes, exact counters."""

from __future__ import annotations

import pytest

import vmsim
from vmsim import ProcessKilled, SegmentationFault
from vmsim.events import CowCopy, MapPage, PageFault, Segv

PAGE = 4096


@pytest.fixture
def m() -> vmsim.Machine:
    return vmsim.Machine(memory="1MiB", record_events=True)


@pytest.mark.parametrize("n", [1, 5, 17])
def test_touching_n_fresh_pages_costs_n_minor_faults(m: vmsim.Machine, n: int) -> None:
    p = m.spawn()
    va = p.mmap(n * PAGE)
    for i in range(n):
        p.store(va + i * PAGE, b"a")
    assert p.stats.min_flt == n and m.stats.pgfault == n and p.stats.rss == n
    for i in range(n):
        p.store(va + i * PAGE + 8, b"b")
        assert p.load(va + i * PAGE, 1) == b"a"
    assert p.stats.min_flt == n and m.stats.pgfault == n


def test_read_maps_zero_page_then_write_gets_a_frame(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(PAGE)
    assert p.load(va, 64) == bytes(64)
    pte = p.pte(va)
    assert pte is not None and pte.frame == m.kernel.zero_ppn and not pte.writable
    assert p.stats.rss == 0 and m.stats.zero_page_map == 1
    p.store(va + 3, b"q")
    pte = p.pte(va)
    assert pte is not None and pte.frame != m.kernel.zero_ppn and pte.writable and pte.dirty
    assert p.load(va, 4) == b"\0\0\0q"
    assert p.stats.min_flt == 2 and p.stats.rss == 1
    assert m.kernel.mem.is_zero(m.kernel.zero_ppn)  # the zero page stays zero
    assert not any(isinstance(e, CowCopy) for e in m.events)


def test_write_never_touched_zero_page_of_another_process(m: vmsim.Machine) -> None:
    a, b = m.spawn(), m.spawn()
    va, vb = a.mmap(PAGE), b.mmap(PAGE)
    a.load(va, 1)
    b.load(vb, 1)
    a.store(va, b"A")
    assert b.load(vb, 1) == b"\0"


def test_unmapped_address_is_segv_maperr_and_process_dies(m: vmsim.Machine) -> None:
    p = m.spawn()
    with pytest.raises(SegmentationFault) as e:
        p.load(0x1000, 1)
    assert (e.value.pid, e.value.address, e.value.access, e.value.code) == (
        p.pid,
        0x1000,
        "read",
        "SEGV_MAPERR",
    )
    assert not p.alive and p.exit_status == -11
    with pytest.raises(ProcessKilled):
        p.load(0x401000, 1)
    with pytest.raises(ProcessKilled):
        p.mmap(PAGE)
    assert any(isinstance(ev, Segv) for ev in m.events)
    assert m.kernel.frames.in_use() == 1  # only the zero page is left


@pytest.mark.parametrize(
    ("prot", "op", "access"),
    [
        ("r", "store", "write"),
        ("rw", "fetch", "exec"),
        ("", "load", "read"),
        ("x", "store", "write"),
    ],
)
def test_forbidden_access_is_segv_accerr(m: vmsim.Machine, prot: str, op: str, access: str) -> None:
    p = m.spawn()
    va = p.mmap(PAGE, prot=prot)
    with pytest.raises(SegmentationFault) as e:
        if op == "store":
            p.store(va + 5, b"x")
        elif op == "fetch":
            p.fetch(va, 4)
        else:
            p.load(va, 1)
    assert (
        e.value.code == "SEGV_ACCERR"
        and e.value.access == access
        and e.value.address == va + 5 * (op == "store")
    )


def test_text_is_executable_not_writable(m: vmsim.Machine) -> None:
    p = m.spawn()
    text = next(v for v in p.vmas() if v.kind == "text")
    assert text.prot == "r-x"
    assert p.fetch(text.start, 16) == bytes(16)
    with pytest.raises(SegmentationFault) as e:
        p.store(text.start, b"\x90")
    assert e.value.code == "SEGV_ACCERR"


def test_kernel_and_noncanonical_addresses_fault(m: vmsim.Machine) -> None:
    for va in (0xFFFF_8000_0000_0000, 1 << 48, -8):
        p = m.spawn()
        with pytest.raises(SegmentationFault) as e:
            p.load(va, 8)
        assert e.value.code == "SEGV_MAPERR"


def test_access_spanning_pages_and_vmas(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(3 * PAGE)
    data = bytes(range(256)) * 40  # 10240 bytes across three pages
    p.store(va + 1000, data)
    assert p.load(va + 1000, len(data)) == data
    assert p.stats.rss == 3
    with pytest.raises(SegmentationFault):  # runs off the end of the mapping
        p.store(va + 3 * PAGE - 4, b"12345678")


def test_stack_grows_down_on_demand_to_its_limit() -> None:
    m = vmsim.Machine(memory="1MiB", stack_limit="64KiB")
    p = m.spawn()
    stack = next(v for v in p.vmas() if v.kind == "stack")
    top = stack.end
    p.store(top - 40 * 1024, b"deep")  # 10 pages down: the stack grows
    stack = next(v for v in p.vmas() if v.kind == "stack")
    assert stack.start == top - 40 * 1024 and p.load(top - 40 * 1024, 4) == b"deep"
    with pytest.raises(SegmentationFault) as e:
        p.store(top - 64 * 1024 - 8, b"x")  # beyond the 64 KiB limit
    assert e.value.code == "SEGV_MAPERR"


def test_stack_cannot_grow_into_the_guard_gap() -> None:
    m = vmsim.Machine(memory="64KiB", paging="linear", page_size="1KiB", address_space="64KiB")
    p = m.spawn()
    lay = m.kernel.layout
    assert (lay.stack_limit, lay.stack_guard_gap) == (16 * 1024, 1024)
    top = lay.stack_top
    p.mmap(1024, addr=top - 10 * 1024)  # a mapping 10 KiB below the stack top
    p.store(top - 8 * 1024, b"ok")  # leaves exactly the 1 KiB guard gap: allowed
    with pytest.raises(SegmentationFault) as e:
        p.store(top - 8 * 1024 - 1, b"x")  # would close the gap
    assert e.value.code == "SEGV_MAPERR"


def test_fault_events_in_order(m: vmsim.Machine) -> None:
    p = m.spawn()
    va = p.mmap(PAGE)
    m.events.clear()
    p.store(va, b"x")
    kinds = [type(e).__name__ for e in m.events]
    assert (
        kinds.index("TlbMiss")
        < kinds.index("PageFault")
        < kinds.index("MapPage")
        < kinds.index("TlbFill")
    )
    fault = next(e for e in m.events if isinstance(e, PageFault))
    mp = next(e for e in m.events if isinstance(e, MapPage))
    assert (fault.va, fault.access, fault.reason) == (va, "write", "not-present")
    assert (mp.va, mp.how, mp.prot) == (va, "anon", "rw-")


def test_running_out_of_frames_without_swap_is_an_oom_kill() -> None:
    m = vmsim.Machine(memory="64KiB", overcommit="always")
    p = m.spawn()
    va = p.mmap("1MiB")
    with pytest.raises(ProcessKilled, match="OOM killer"):
        for i in range(256):
            p.store(va + i * PAGE, b"x")
    assert m.stats.oom_kill == 1 and m.kernel.frames.in_use() == 1
