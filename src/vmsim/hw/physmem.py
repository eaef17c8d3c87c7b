"""PhysicalMemory: frames that hold real bytes, allocated lazily on the host.

A frame that was never written costs no host memory and reads as zeros, so a 4 GiB
machine costs only what was touched. `release(ppn)` drops a frame's bytes: the frame
then reads as zeros again (this is how freed frames are zeroed).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator

from vmsim.errors import KernelPanic

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_U8 = struct.Struct("<B")
_UINT = {8: _U64, 4: _U32, 1: _U8}
GIVE_BACK = 64 << 10
"""release_many hands a run of freed frames' host pages back to the host (one madvise)
from this many bytes; shorter runs are zeroed in place."""


class PhysicalMemory:
    """`nframes` frames of `page_size` bytes; physical address = ppn * page_size + offset."""

    def __init__(self, nframes: int, page_size: int) -> None:
        self.nframes = nframes
        self.page_size = page_size
        self.page_shift = page_size.bit_length() - 1
        self.size = nframes * page_size
        self._offset_mask = page_size - 1
        self._frames: dict[int, bytearray] | _HostFrames = {}
        self._zeros = bytes(page_size)
        self.reads = 0
        self.writes = 0
        self.host_buffer: mmap.mmap | None = None
        """The one anonymous host mapping holding every frame, once map_host_buffer ran."""
        self._host: _HostFrames | None = None
        """The frames in the host mapping: PTE-sized loads and stores go straight to it."""

    def map_host_buffer(self) -> mmap.mmap:
        """Move every frame into one anonymous host mapping (a CPU maps it as guest RAM).

        The host backs the mapping lazily, so untouched frames still cost nothing (with
        transparent huge pages, host memory comes in 2 MiB pieces: kalloc hands frames out
        from the bottom, so the touched ones lie together); a released frame is zeroed in
        place. Idempotent; returns the mapping.
        """
        if self.host_buffer is None:
            buf = mmap.mmap(-1, self.size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if hasattr(mmap, "MADV_HUGEPAGE"):
                buf.madvise(mmap.MADV_HUGEPAGE)  # fewer host faults where THP is "madvise"
            frames = _HostFrames(buf, self._zeros)
            if isinstance(self._frames, dict):
                for ppn, data in self._frames.items():
                    frames.get(ppn)[:] = data
            self._frames, self.host_buffer = frames, buf
            self._host = frames
        return self.host_buffer

    @property
    def host_words(self) -> memoryview:
        """The host mapping as 64-bit words (word i at physical address 8 * i), once
        map_host_buffer ran: where the CPU's walks read and set PTEs."""
        if self._host is None:
            raise KernelPanic("physmem: no host buffer mapped")
        return self._host.words

    @property
    def host_frames(self) -> int:
        """Frames that currently hold host memory (were written since last release).

        In a host buffer: the frames the kernel touched since their last release."""
        return len(self._frames)

    def _check(self, pa: int, n: int) -> None:
        """KernelPanic if [pa, pa + n) leaves physical memory or crosses a frame."""
        if pa < 0 or pa + n > self.size:
            raise KernelPanic(f"physmem: access at {pa:#x}+{n} beyond {self.size:#x}")
        if (pa & (self.page_size - 1)) + n > self.page_size:
            raise KernelPanic(f"physmem: access at {pa:#x}+{n} crosses a frame")

    def frame(self, ppn: int) -> bytearray | memoryview:
        """The bytes of frame ppn (allocated on the host on first use), for in-place work."""
        f = self._frames.get(ppn)
        if f is None:
            if not 0 <= ppn < self.nframes:
                raise KernelPanic(f"physmem: frame {ppn} out of range")
            f = self._frames[ppn] = bytearray(self.page_size)
        return f

    def read(self, pa: int, n: int) -> bytes:
        """n bytes at physical address pa (within one frame)."""
        off = pa & self._offset_mask
        if pa < 0 or pa + n > self.size or off + n > self.page_size:
            self._check(pa, n)
        self.reads += 1
        f = self._frames.get(pa >> self.page_shift)
        if f is None:
            return bytes(n)
        return bytes(f[off : off + n])

    def write(self, pa: int, data: bytes) -> None:
        """Write data at physical address pa (within one frame)."""
        n = len(data)
        off = pa & self._offset_mask
        if pa < 0 or pa + n > self.size or off + n > self.page_size:
            self._check(pa, n)
        self.writes += 1
        f = self._frames.get(pa >> self.page_shift)
        if f is None:
            f = self.frame(pa >> self.page_shift)
        f[off : off + n] = data

    def read_uint(self, pa: int, size: int) -> int:
        """A little-endian unsigned integer of size 1, 4 or 8 bytes at pa."""
        if pa < 0 or pa + size > self.size or (pa & self._offset_mask) + size > self.page_size:
            self._check(pa, size)
        self.reads += 1
        host = self._host
        if host is not None:
            if size == 8 and not pa & 7:
                return host.words[pa >> 3]
            return int(_UINT[size].unpack_from(host.view, pa)[0])
        f = self._frames.get(pa >> self.page_shift)
        if f is None:
            return 0
        return int(_UINT[size].unpack_from(f, pa & self._offset_mask)[0])

    def read_uints(self, pa: int, count: int, size: int) -> list[int]:
        """count consecutive unsigned integers of size bytes from pa, within one frame
        (count loads: `read_uint` of each)."""
        n = count * size
        if pa < 0 or pa + n > self.size or (pa & self._offset_mask) + n > self.page_size:
            self._check(pa, n)
        self.reads += count
        host = self._host
        if host is not None and size == 8 and not pa & 7:
            return host.words[pa >> 3 : (pa >> 3) + count].tolist()
        f = self._frames.get(pa >> self.page_shift)
        if f is None:
            return [0] * count
        off = pa & self._offset_mask
        return [int(v) for (v,) in _UINT[size].iter_unpack(f[off : off + n])]

    def zero_uints(self, pa: int, count: int, size: int) -> None:
        """Store zero in count consecutive integers of size bytes from pa, within one
        frame (count stores: `write_uint` of each)."""
        n = count * size
        if pa < 0 or pa + n > self.size or (pa & self._offset_mask) + n > self.page_size:
            self._check(pa, n)
        self.writes += count
        host = self._host
        if host is not None:
            host.view[pa : pa + n] = bytes(n)
            host.touched.add(pa >> self.page_shift)
            return
        off = pa & self._offset_mask
        self.frame(pa >> self.page_shift)[off : off + n] = bytes(n)

    def write_uint(self, pa: int, size: int, value: int) -> None:
        """Store a little-endian unsigned integer of size 1, 4 or 8 bytes at pa."""
        if pa < 0 or pa + size > self.size or (pa & self._offset_mask) + size > self.page_size:
            self._check(pa, size)
        self.writes += 1
        host = self._host
        if host is not None:
            if size == 8 and not pa & 7:
                host.words[pa >> 3] = value
            else:
                _UINT[size].pack_into(host.view, pa, value)
            host.touched.add(pa >> self.page_shift)
            return
        _UINT[size].pack_into(self.frame(pa >> self.page_shift), pa & self._offset_mask, value)

    def read_frame(self, ppn: int) -> bytes:
        """The whole content of frame ppn."""
        f = self._frames.get(ppn)
        return bytes(f) if f is not None else bytes(self.page_size)

    def write_frame(self, ppn: int, data: bytes) -> None:
        """Replace the whole content of frame ppn."""
        if len(data) != self.page_size:
            raise KernelPanic(f"physmem: frame write of {len(data)} bytes")
        if data == self._zeros:
            self.release(ppn)
        else:
            self.frame(ppn)[:] = data

    def copy_frame(self, src: int, dst: int) -> None:
        """Copy frame src onto frame dst."""
        f = self._frames.get(src)
        if f is None:
            self.release(dst)
        else:
            self.frame(dst)[:] = f

    def release(self, ppn: int) -> None:
        """Zero frame ppn by dropping its host bytes."""
        self._frames.pop(ppn, None)

    def release_many(self, ppns: list[int]) -> None:
        """Zero every frame in ppns, as `release` does one: in a host buffer a run of
        consecutive frames at a time, its whole host pages handed back to the host."""
        host = self._host
        if host is None:
            for ppn in ppns:
                self._frames.pop(ppn, None)
            return
        for first, end in runs(sorted(set(ppns))):
            host.zero_run(first, end)

    def is_zero(self, ppn: int) -> bool:
        """Whether frame ppn holds only zeros."""
        f = self._frames.get(ppn)
        return f is None or f == self._zeros


class _HostFrames:
    """Frames as views of one host mapping: every frame exists (reads its bytes), pop zeroes."""

    def __init__(self, buf: mmap.mmap, zero_page: bytes) -> None:
        self.buf = buf
        self.view = memoryview(buf)
        self.words = self.view.cast("Q")
        """The mapping as 64-bit words, in the host's byte order (the CPU, the only user of a
        host buffer, refuses a big-endian host); shared with the CPU (host_words)."""
        self._ps = len(zero_page)
        self._zero_page = zero_page
        """One page of zeros (PhysicalMemory's): what pop writes."""
        self.touched: set[int] = set()
        """The frames written since their last release (host memory they may hold)."""

    def get(self, ppn: int, default: object = None) -> memoryview:
        """The bytes of frame ppn, in place (every frame exists: `default` is never used)."""
        self.touched.add(ppn)
        return self.view[ppn * self._ps : (ppn + 1) * self._ps]

    def pop(self, ppn: int, default: None = None) -> None:
        """Zero frame ppn."""
        self.view[ppn * self._ps : (ppn + 1) * self._ps] = self._zero_page
        self.touched.discard(ppn)

    def zero_run(self, first: int, end: int) -> None:
        """Zero frames [first, end): the host pages wholly inside a run of at least
        GIVE_BACK bytes go back to the host (MADV_DONTNEED: a private anonymous page
        reads as zeros after it), the rest is zeroed in place."""
        lo, hi = first * self._ps, end * self._ps
        host = mmap.PAGESIZE
        inner_lo, inner_hi = -(-lo // host) * host, hi // host * host
        if inner_hi - inner_lo >= GIVE_BACK and hasattr(mmap, "MADV_DONTNEED"):
            self.view[lo:inner_lo] = bytes(inner_lo - lo)
            self.view[inner_hi:hi] = bytes(hi - inner_hi)
            self.buf.madvise(mmap.MADV_DONTNEED, inner_lo, inner_hi - inner_lo)
        else:
            for ppn in range(first, end):
                self.view[ppn * self._ps : (ppn + 1) * self._ps] = self._zero_page
        self.touched.difference_update(range(first, end))

    def __setitem__(self, ppn: int, data: bytearray) -> None:
        self.get(ppn)[:] = data

    def __getitem__(self, ppn: int) -> memoryview:
        return self.get(ppn)

    def __len__(self) -> int:
        return len(self.touched)


def runs(ppns: list[int]) -> Iterator[tuple[int, int]]:
    """(first, end) of each run of consecutive numbers in the sorted list ppns."""
    i, n = 0, len(ppns)
    while i < n:
        j = i + 1
        while j < n and ppns[j] == ppns[j - 1] + 1:
            j += 1
        yield ppns[i], ppns[j - 1] + 1
        i = j
