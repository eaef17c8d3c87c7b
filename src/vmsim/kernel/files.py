"""files: a real program's file table over host files, with the writable-directory rule.

Every guest descriptor is a host descriptor of its own (opened, or duplicated from the
host's stdin/stdout/stderr), so reads, seeks and fstat are the host's, with its real
inodes. A program may read what its user may read; it may write only to the stdout,
stderr and pipes it was given and to files under the directories given as writable
(elsewhere: EACCES), so a run cannot damage the host.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from vmsim.errors import SyscallError

O_ACCMODE, O_WRONLY, O_RDWR = 3, 1, 2
O_CREAT, O_TRUNC, O_APPEND, O_CLOEXEC = 0o100, 0o1000, 0o2000, 0o2000000
O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK = 0o200000, 0o400000, 0o4000
AT_FDCWD = -100
_OPEN_FLAGS = {
    O_CREAT: os.O_CREAT, O_TRUNC: os.O_TRUNC, O_APPEND: os.O_APPEND, O_CLOEXEC: os.O_CLOEXEC,
    O_DIRECTORY: os.O_DIRECTORY, O_NOFOLLOW: os.O_NOFOLLOW, O_NONBLOCK: os.O_NONBLOCK,
    0o200: os.O_EXCL,
}  # fmt: skip
T = TypeVar("T")
STAT = struct.Struct("<QQQIIIIQqqqqqqqqq24x")
"""struct stat of x86-64 Linux (144 bytes)."""


@dataclass
class OpenFile:
    """One guest descriptor: a host descriptor and what the guest may do with it."""

    host_fd: int
    path: str
    writable: bool
    cloexec: bool = False
    dir_pos: int = 0
    """Entries of a directory getdents64 has returned so far."""


@dataclass
class FileTable:
    """A process's descriptors (0, 1, 2 from the host), and where it may write files."""

    writable_dirs: tuple[str, ...] = ()
    fds: dict[int, OpenFile] = field(default_factory=dict)

    @classmethod
    def with_stdio(cls, writable_dirs: tuple[str, ...] = ()) -> FileTable:
        """A table whose 0, 1, 2 are duplicates of the host's stdin, stdout and stderr."""
        table = cls(tuple(os.path.realpath(d) for d in writable_dirs))
        for fd, name in ((0, "<stdin>"), (1, "<stdout>"), (2, "<stderr>")):
            try:
                table.fds[fd] = OpenFile(os.dup(fd), name, writable=fd != 0)
            except OSError:
                continue
        return table

    def fork(self) -> FileTable:
        """The child's table: every descriptor duplicated (shared offsets, as Linux)."""
        return FileTable(
            self.writable_dirs,
            {
                fd: OpenFile(os.dup(f.host_fd), f.path, f.writable, f.cloexec)
                for fd, f in self.fds.items()
            },
        )

    def get(self, fd: int) -> OpenFile:
        """The open file of fd; SyscallError(EBADF)."""
        f = self.fds.get(fd)
        if f is None:
            raise SyscallError(errno.EBADF, f"bad file descriptor {fd}")
        return f

    def install(self, f: OpenFile, lowest: int = 0) -> int:
        """Give f the lowest free descriptor >= lowest."""
        fd = lowest
        while fd in self.fds:
            fd += 1
        self.fds[fd] = f
        return fd

    def may_write(self, path: str) -> bool:
        """Whether a file at path lies under a writable directory."""
        real = os.path.realpath(path)
        return any(real == d or real.startswith(d.rstrip("/") + "/") for d in self.writable_dirs)

    def open(self, path: str, flags: int, mode: int) -> int:
        """openat(AT_FDCWD, path, flags, mode); EACCES for writing outside writable dirs."""
        acc = flags & O_ACCMODE
        wants_write = acc in (O_WRONLY, O_RDWR) or flags & (O_CREAT | O_TRUNC)
        if wants_write and not self.may_write(path):
            raise SyscallError(errno.EACCES, f"open: {path} is outside the writable directories")
        host = {0: os.O_RDONLY, O_WRONLY: os.O_WRONLY, O_RDWR: os.O_RDWR}.get(acc, os.O_RDONLY)
        for bit, hbit in _OPEN_FLAGS.items():
            if flags & bit:
                host |= hbit
        try:
            hfd = os.open(path, host, mode & 0o7777)
        except OSError as exc:
            raise SyscallError(exc.errno or errno.EIO, f"open: {path}: {exc.strerror}") from None
        return self.install(OpenFile(hfd, path, bool(wants_write), bool(flags & O_CLOEXEC)))

    def close(self, fd: int) -> None:
        """Close fd; SyscallError(EBADF)."""
        f = self.get(fd)
        del self.fds[fd]
        os.close(f.host_fd)

    def dup(self, fd: int, new: int | None = None, lowest: int = 0) -> int:
        """dup/dup2/F_DUPFD: a new descriptor for the same open file."""
        f = self.get(fd)
        copy = OpenFile(os.dup(f.host_fd), f.path, f.writable)
        if new is None:
            return self.install(copy, lowest)
        if new in self.fds:
            self.close(new)
        self.fds[new] = copy
        return new

    def close_all(self) -> None:
        """Close every descriptor (the process exits)."""
        for fd in list(self.fds):
            self.close(fd)

    def read(self, fd: int, n: int, offset: int | None = None) -> bytes:
        """Read up to n bytes (at offset for pread)."""
        f = self.get(fd)
        return _host(
            lambda: os.read(f.host_fd, n) if offset is None else os.pread(f.host_fd, n, offset)
        )

    def write(self, fd: int, data: bytes, offset: int | None = None) -> int:
        """Write data; EBADF if fd was not opened for writing."""
        f = self.get(fd)
        if not f.writable:
            raise SyscallError(errno.EBADF, f"write: descriptor {fd} is not open for writing")
        if offset is None:
            return _host(lambda: os.write(f.host_fd, data))
        return _host(lambda: os.pwrite(f.host_fd, data, offset))

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        """Move fd's offset."""
        f = self.get(fd)
        return _host(lambda: os.lseek(f.host_fd, offset, whence))

    def pipe(self) -> tuple[int, int]:
        """A host pipe, non-blocking on the host: (read end, write end).

        A read of an empty pipe or a write to a full one raises WouldBlock: the kernel
        lets other processes run and retries (the host never blocks on a guest's pipe).
        """
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        return self.install(OpenFile(r, "<pipe>", False)), self.install(OpenFile(w, "<pipe>", True))

    def getdents64(self, fd: int, size: int) -> bytes:
        """As many struct linux_dirent64 records of directory fd as fit in size bytes."""
        f = self.get(fd)
        try:
            entries = [(".", os.stat(f.path)), ("..", os.stat(os.path.join(f.path, "..")))]
            with os.scandir(f.path) as it:
                entries += [(e.name, e.stat(follow_symlinks=False)) for e in it]
        except OSError as exc:
            raise SyscallError(exc.errno or errno.ENOTDIR, f"getdents64: {f.path}") from None
        out = bytearray()
        for i in range(f.dir_pos, len(entries)):
            name, st = entries[i]
            raw = os.fsencode(name) + b"\0"
            reclen = (19 + len(raw) + 7) & ~7
            if len(out) + reclen > size:
                if not out:
                    raise SyscallError(errno.EINVAL, "getdents64: buffer too small")
                break
            rec = DIRENT64.pack(st.st_ino, i + 1, reclen, _dtype(st.st_mode)) + raw
            out += rec.ljust(reclen, b"\0")
            f.dir_pos = i + 1
        return bytes(out)

    def path_of(self, fd: int) -> str:
        """The path fd was opened with (for file mappings)."""
        return self.get(fd).path


class WouldBlock(Exception):
    """A pipe is empty (read) or full (write): the caller should wait and retry."""


def _host(op: Callable[[], T]) -> T:
    """Run a host file operation, turning OSError into SyscallError (WouldBlock: EAGAIN)."""
    try:
        return op()
    except BlockingIOError:
        raise WouldBlock from None
    except OSError as exc:
        raise SyscallError(exc.errno or errno.EIO, str(exc)) from None


DIRENT64 = struct.Struct("<QqHB")
"""The fixed part of struct linux_dirent64: d_ino, d_off, d_reclen, d_type."""


def _dtype(mode: int) -> int:
    """DT_* of a file mode."""
    for test, dt in ((stat.S_ISDIR, 4), (stat.S_ISREG, 8), (stat.S_ISLNK, 10), (stat.S_ISCHR, 2),
                     (stat.S_ISBLK, 6), (stat.S_ISFIFO, 1), (stat.S_ISSOCK, 12)):  # fmt: skip
        if test(mode):
            return dt
    return 0


def stat_bytes(st: os.stat_result) -> bytes:
    """A host stat result as x86-64 Linux's struct stat."""
    return STAT.pack(
        st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid, st.st_gid, 0, st.st_rdev,
        st.st_size, st.st_blksize, st.st_blocks,
        int(st.st_atime), st.st_atime_ns % 10**9, int(st.st_mtime), st.st_mtime_ns % 10**9,
        int(st.st_ctime), st.st_ctime_ns % 10**9,
    )  # fmt: skip


def is_regular(path: str) -> bool:
    """Whether path is a regular file."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
