"""SwapDevice: page-sized slots on a real host file.

Slot 0 holds a header (the magic "SWAPSPACE2" in its last 10 bytes, as Linux's swap
header does) and is never used for pages; slots 1..nslots-1 hold pages. The file is a
temporary file unless a path is given; a temporary file is removed by close().
"""

from __future__ import annotations

import os
import tempfile

from vmsim.errors import ConfigError, KernelPanic

MAGIC = b"SWAPSPACE2"


class SwapDevice:
    """A swap area on a host file, read and written one page-sized slot at a time."""

    def __init__(self, size: int, page_size: int, path: str | None = None) -> None:
        if size < 2 * page_size:
            raise ConfigError("swap", size, f"at least two pages ({2 * page_size} bytes) or 0")
        self.page_size = page_size
        self.nslots = size // page_size
        self.reads = 0
        self.writes = 0
        self._temporary = path is None
        if path is None:
            fd, path = tempfile.mkstemp(prefix="vmsim-swap-", suffix=".img")
        else:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise ConfigError(
                    "swap_file", path, f"a writable file path ({exc.strerror})"
                ) from None
        self.path = path
        self._fd = fd
        os.ftruncate(fd, size)
        os.pwrite(fd, MAGIC, page_size - len(MAGIC))

    def _check(self, slot: int) -> None:
        if not 1 <= slot < self.nslots:
            raise KernelPanic(f"swap: slot {slot} out of range 1..{self.nslots - 1}")
        if self._fd < 0:
            raise KernelPanic("swap: device is closed")

    def read_slot(self, slot: int) -> bytes:
        """The page stored in slot."""
        self._check(slot)
        self.reads += 1
        data = os.pread(self._fd, self.page_size, slot * self.page_size)
        return data.ljust(self.page_size, b"\0")

    def write_slot(self, slot: int, data: bytes) -> None:
        """Store one page in slot."""
        self._check(slot)
        if len(data) != self.page_size:
            raise KernelPanic(f"swap: write of {len(data)} bytes")
        self.writes += 1
        os.pwrite(self._fd, data, slot * self.page_size)

    def close(self) -> None:
        """Close the file; remove it if it was temporary."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            if self._temporary:
                os.unlink(self.path)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._fd < 0
