"""PhysicalMemory: lazy frames, little-endian integers, zeroing by release."""

from __future__ import annotations

import pytest

from vmsim.errors import KernelPanic
from vmsim.hw.physmem import PhysicalMemory


def test_a_4gib_machine_costs_only_touched_frames() -> None:
    mem = PhysicalMemory(nframes=1 << 20, page_size=4096)  # 4 GiB
    assert mem.size == 4 << 30
    assert mem.read(123 << 12, 16) == bytes(16)
    assert mem.host_frames == 0
    mem.write((1 << 20) - 1 << 12, b"top")
    mem.write_uint(77 << 12 | 8, 8, 0x1122334455667788)
    assert mem.host_frames == 2
    assert mem.read(77 << 12 | 8, 8) == bytes.fromhex("8877665544332211")
    assert mem.read_uint(((1 << 20) - 1) << 12, 1) == ord("t")


def test_release_zeroes_a_frame() -> None:
    mem = PhysicalMemory(4, 4096)
    mem.write(4096 + 10, b"secret")
    mem.release(1)
    assert mem.read(4096 + 10, 6) == bytes(6) and mem.is_zero(1)


def test_copy_and_whole_frame_io() -> None:
    mem = PhysicalMemory(4, 1024)
    mem.write_frame(2, bytes(range(256)) * 4)
    mem.copy_frame(2, 3)
    assert mem.read_frame(3) == mem.read_frame(2)
    mem.copy_frame(0, 3)
    assert mem.is_zero(3)


@pytest.mark.parametrize(("pa", "n"), [(-1, 1), (4 * 4096, 1), (4096 - 2, 4)])
def test_out_of_range_or_cross_frame_is_a_panic(pa: int, n: int) -> None:
    with pytest.raises(KernelPanic):
        PhysicalMemory(4, 4096).read(pa, n)


def test_a_host_buffer_keeps_the_bytes_and_the_byte_order() -> None:
    """Frames moved into the host mapping read as before; PTE-sized words are little-endian
    at any offset within a frame; release zeroes in place."""
    mem = PhysicalMemory(8, 4096)
    mem.write(3 << 12 | 100, b"kept")
    with pytest.raises(KernelPanic):
        mem.host_words  # noqa: B018  (no host buffer yet)
    mem.map_host_buffer()
    assert mem.read(3 << 12 | 100, 4) == b"kept"
    mem.write_uint(5 << 12 | 16, 8, 0x1122334455667788)  # aligned: one word
    mem.write_uint(5 << 12 | 41, 8, 0x0102030405060708)  # unaligned, still within the frame
    mem.write_uint(5 << 12 | 60, 4, 0xAABBCCDD)
    assert mem.read(5 << 12 | 16, 8) == bytes.fromhex("8877665544332211")
    assert mem.read(5 << 12 | 41, 8) == bytes.fromhex("0807060504030201")
    assert mem.read_uint(5 << 12 | 16, 8) == 0x1122334455667788
    assert mem.read_uint(5 << 12 | 41, 8) == 0x0102030405060708
    assert mem.read_uint(5 << 12 | 60, 4) == 0xAABBCCDD
    assert mem.read_uint(5 << 12 | 17, 1) == 0x77
    assert mem.host_words[(5 << 12 | 16) >> 3] == 0x1122334455667788  # the CPU's view of it
    assert mem.host_frames == 2
    mem.release(5)
    assert mem.host_frames == 1
    assert mem.is_zero(5) and mem.read_uint(5 << 12 | 16, 8) == 0


@pytest.mark.parametrize("host_buffer", [False, True])
def test_release_many_zeroes_exactly_the_frames_given(host_buffer: bool) -> None:
    """Runs long enough to go back to the host (64 KiB and more) and short ones, unsorted
    and repeated: those frames read as zeros after, their neighbours keep their bytes."""
    mem = PhysicalMemory(64, 4096)
    if host_buffer:
        mem.map_host_buffer()
    for ppn in range(64):
        mem.write(ppn << 12, bytes([ppn + 1]) * 4096)
    freed = [*range(20, 40), 3, 5, 4, 41, 63, 21]  # a 20-frame run, a 3-frame run, singles
    mem.release_many(freed)
    assert mem.host_frames == 64 - len(set(freed))
    for ppn in range(64):
        if ppn in freed:
            assert mem.is_zero(ppn), ppn
        else:
            assert mem.read_frame(ppn) == bytes([ppn + 1]) * 4096, ppn
    mem.write(30 << 12, b"again")  # a frame given back to the host works as before
    assert mem.read(30 << 12, 5) == b"again"
