"""kalloc/kfree: frames come zeroed, a gathered teardown zeroes its frames together."""

from __future__ import annotations

import pytest

import vmsim
from vmsim.errors import KernelPanic
from vmsim.hw.physmem import PhysicalMemory
from vmsim.kernel.kalloc import FrameAllocator
from vmsim.stats import VmStat


def _filled(n: int, ppns: list[int], host_buffer: bool) -> tuple[PhysicalMemory, FrameAllocator]:
    """An allocator over n frames with ppns allocated, each frame's bytes its number + 1."""
    mem = PhysicalMemory(n, 4096)
    if host_buffer:
        mem.map_host_buffer()
    frames = FrameAllocator(mem, VmStat(), None)
    for ppn in ppns:
        assert frames.kalloc("anon") == ppn
        mem.write(ppn << 12, bytes([ppn + 1]) * 4096)
    return mem, frames


@pytest.mark.parametrize("host_buffer", [False, True])
def test_a_gathered_teardown_frees_as_kfree_does(host_buffer: bool) -> None:
    """Frames freed under gather() read as zeros after it, a kalloc inside it gets a zeroed
    frame, and the free list (the order frames are handed out) is kfree's."""
    taken = list(range(40))
    plain_mem, plain = _filled(48, taken, host_buffer)
    mem, frames = _filled(48, taken, host_buffer)
    order = [*range(10, 30), 2, 35, 3]
    for ppn in order:
        plain.refcount[ppn] = 0
        plain.kfree(ppn)
    with frames.gather():
        for ppn in order[:-1]:
            frames.refcount[ppn] = 0
            frames.kfree(ppn)
        inside = frames.kalloc("anon")  # the last frame freed: handed out zeroed
        assert inside == order[-2] and mem.is_zero(inside)
        frames.refcount[inside] = 0
        frames.kfree(inside)
        frames.refcount[3] = 0
        frames.kfree(3)
    assert mem.host_frames == plain_mem.host_frames
    for ppn in range(48):
        assert mem.is_zero(ppn) == (ppn in order or ppn >= 40), ppn
    assert [frames.kalloc("anon") for _ in range(30)] == [plain.kalloc("anon") for _ in range(30)]
    assert frames.stats.pgfree == plain.stats.pgfree + 1  # the frame freed twice


def test_an_exited_process_leaves_only_zeroed_free_frames() -> None:
    """exit_mmap frees under gather(): every free frame reads as zeros afterwards, and the
    next process's pages start zeroed."""
    m = vmsim.Machine(memory="4MiB")
    writer = m.spawn()
    heap = writer.mmap(2 << 20, "rw")
    for va in range(heap, heap + (2 << 20), 4096):
        writer.store(va, b"\x5a" * 64)
    writer.exit()
    frames = m.kernel.frames
    free = [ppn for ppn in range(frames.nframes) if not frames.refcount[ppn]]
    assert len(free) > 512
    assert all(m.kernel.mem.is_zero(ppn) for ppn in free)
    reader = m.spawn()
    heap = reader.mmap(2 << 20, "rw")
    for va in range(heap, heap + (2 << 20), 4096):
        reader.store(va + 64, b"b")
        assert reader.load(va, 64) == bytes(64)


def test_rmap_remove_of_a_mapping_not_recorded_is_a_kernel_panic() -> None:
    _, frames = _filled(4, [0], host_buffer=False)
    mm = object()
    with pytest.raises(KernelPanic, match="frame 0 not mapped at 0x1000"):
        frames.rmap_remove(0, mm, 0x1000)  # type: ignore[arg-type]  # no mapping at all
    frames.rmap_add(0, mm, 0x1000)  # type: ignore[arg-type]
    frames.rmap_add(0, mm, 0x2000)  # type: ignore[arg-type]
    with pytest.raises(KernelPanic, match="frame 0 not mapped at 0x3000"):
        frames.rmap_remove(0, mm, 0x3000)  # type: ignore[arg-type]  # another va
    frames.rmap_remove(0, mm, 0x1000)  # type: ignore[arg-type]
    assert frames.mapcount(0) == 1
    frames.rmap_remove(0, mm, 0x2000)  # type: ignore[arg-type]
    assert frames.mapcount(0) == 0 and 0 not in frames.rmap
