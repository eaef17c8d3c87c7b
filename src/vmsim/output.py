"""Writing a user's output files safely: all or nothing, never over an input.

Every file vmsim writes for a user (traces, plots, JSON, CSV, HTML) goes through
`atomic_output` (bytes) or `atomic_text_output` (UTF-8 text): the data go to a
temporary file in the destination's directory, which is renamed into place only when
the writer finished without an exception (Ctrl-C included). An interrupted or failed
write leaves nothing at the destination and does not touch a file already there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

from vmsim.errors import VmsimError

PathLike = str | os.PathLike[str]


class OutputError(VmsimError):
    """An output file cannot be written where the user asked (the message names it)."""


def ensure_not_input(output: PathLike, *inputs: PathLike) -> None:
    """Refuse an output path that is one of the inputs (the same file, by os.path.samefile)."""
    for src in inputs:
        try:
            same = os.path.samefile(src, output)
        except OSError:
            same = False
        if same:
            raise OutputError(
                f"{os.fspath(output)}: is the input {os.fspath(src)}; refusing to overwrite it"
            )


@contextmanager
def atomic_output(path: PathLike) -> Iterator[IO[bytes]]:
    """A binary file beside `path`, renamed to `path` only if the block succeeds."""
    with _atomic(os.fspath(path)) as (fd, _tmp), os.fdopen(fd, "wb") as f:
        yield f


@contextmanager
def atomic_text_output(path: PathLike) -> Iterator[IO[str]]:
    """A UTF-8 text file beside `path`, renamed to `path` only if the block succeeds."""
    with _atomic(os.fspath(path)) as (fd, _tmp), os.fdopen(fd, "w", encoding="utf-8") as f:
        yield f


@contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[str]:
    """A temporary path beside `path` for writers that want a name (savefig, np.save)."""
    with _atomic(os.fspath(path), suffix) as (fd, tmp):
        os.close(fd)
        yield tmp


@contextmanager
def _atomic(path: str, suffix: str = "") -> Iterator[tuple[int, str]]:
    """Make (fd, tmp) beside path; on success chmod like a new file and rename over path."""
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=f".part{suffix}", dir=directory
        )
    except OSError as e:
        raise OutputError(f"{path}: cannot write there ({e.strerror or e})") from None
    try:
        yield fd, tmp
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: str) -> int:
    """The permission bits an existing file has, else those open() would give a new one."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
