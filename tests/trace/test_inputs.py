"""Where trace bytes come from: files re-read, pipes read once (prefix kept, or spooled)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from vmsim import TraceFormatError
from vmsim.trace.inputs import PREFIX_BYTES, FileInput, PipeInput, open_input


def _pipe(data: bytes, spool: bool = False) -> PipeInput:
    """A PipeInput over an in-memory stream that can be read once."""
    return PipeInput("<test pipe>", lambda: io.BytesIO(data), spool=spool)


def test_a_small_pipe_is_read_again_from_its_prefix() -> None:
    data = b"x" * 1000
    p = _pipe(data)
    assert p.open().read() == data
    assert p.open().read() == data  # all of it is in the kept prefix


def test_a_long_pipe_read_twice_says_to_save_it_first() -> None:
    data = os.urandom(PREFIX_BYTES + 12345)
    p = _pipe(data)
    assert p.open().read() == data
    assert p.open().read(100) == data[:100]  # the prefix is still there (detection, headers)
    with pytest.raises(TraceFormatError, match="<test pipe>: a pipe can be read only once"):
        p.open().read()


def test_a_spooled_pipe_is_read_whole_any_number_of_times() -> None:
    data = os.urandom(3 * PREFIX_BYTES + 7)
    p = _pipe(data, spool=True)
    assert [p.open().read() == data for _ in range(3)] == [True, True, True]
    p.close()


def test_spooling_can_start_after_a_header_was_read() -> None:
    data = os.urandom(2 * PREFIX_BYTES)
    p = _pipe(data)
    assert p.open().read(64) == data[:64]  # a reader checks the header
    p.want_spool()
    assert p.open().read() == data
    assert p.open().read() == data


def test_open_input_kinds(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("0x10\n")
    assert isinstance(open_input(f), FileInput) and not open_input(f).is_pipe
    with pytest.raises(TraceFormatError, match="no such file"):
        open_input(tmp_path / "missing")
    with pytest.raises(TraceFormatError, match="is a directory"):
        open_input(tmp_path)
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    p = open_input(fifo)
    assert p.is_pipe and open_input(fifo) is p  # the same pipe is the same Input
