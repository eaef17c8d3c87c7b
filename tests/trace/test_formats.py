"""din, plain text and .npy readers; detection of the format from the content."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vmsim import ConfigError, TraceFormatError
from vmsim.kinds import INSTR, LOAD, MODIFY, STORE
from vmsim.trace import FORMATS, Trace, detect_format, format_names
from vmsim.trace.din import DinReader
from vmsim.trace.lines import read_all
from vmsim.trace.npy import NpyReader
from vmsim.trace.text import TextReader


def test_registry_has_every_format() -> None:
    assert set(format_names()) >= {"lackey", "din", "text", "npy", "vmt"}
    assert all(FORMATS[n].name == n for n in format_names())


def test_din(write: Callable[..., Path]) -> None:
    path = write("# comment\n2 0 \n0 1000\n0 70f60888 trailing words\n1 0x70F60890\n4 0\n3 ff\n")
    assert detect_format(path) == "din"
    r = DinReader(path)
    got = read_all(r)
    assert got["addresses"].tolist() == [0, 0x1000, 0x70F60888, 0x70F60890, 0xFF]
    assert got["kinds"].tolist() == [INSTR, LOAD, LOAD, STORE, LOAD]
    assert got["sizes"] is None


@pytest.mark.parametrize("bad", ["5 1000", "0", "0 xyz", "01000", "1 12345678901234567"])
def test_din_errors(write: Callable[..., Path], bad: str) -> None:
    with pytest.raises(TraceFormatError) as e:
        read_all(DinReader(write(f"0 10\n{bad}\n")))
    assert e.value.line == 2 and e.value.text == bad


def test_text_hex_decimal_and_kinds(write: Callable[..., Path]) -> None:
    path = write("0x1000\n4096 W\nX 0x2000\n8192,r\n  0x10 M # note\n\n# c\n")
    assert detect_format(path) == "text"
    got = read_all(TextReader(path))
    assert got["addresses"].tolist() == [0x1000, 4096, 0x2000, 8192, 0x10]
    assert got["kinds"].tolist() == [LOAD, STORE, INSTR, LOAD, MODIFY]


def test_text_radix_16(write: Callable[..., Path]) -> None:
    path = write("ff\n10 W\n")
    assert read_all(TextReader(path, radix=16))["addresses"].tolist() == [0xFF, 0x10]
    with pytest.raises(TraceFormatError) as e:
        read_all(TextReader(path))  # auto: bare "ff" is not decimal
    assert e.value.line == 1
    with pytest.raises(ConfigError):
        TextReader(path, radix=8)


@pytest.mark.parametrize("bad", ["0x", "12 Q", "W", "1 2", "99999999999999999999999"])
def test_text_errors(write: Callable[..., Path], bad: str) -> None:
    with pytest.raises(TraceFormatError) as e:
        read_all(TextReader(write(f"1\n2\n{bad}\n")))
    assert e.value.line == 3


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("compression", ["plain", "xz", "zstd"])
def test_npy_plain_addresses(write: Callable[..., Path], compression: str) -> None:
    arr = np.arange(0, 5000 * 4096, 4096, dtype=np.uint64)
    path = write(_npy_bytes(arr), compression=compression)
    assert detect_format(path) == "npy"
    r = NpyReader(path, chunk_refs=777)
    chunks = list(r.chunks())
    assert max(len(c) for c in chunks) == 777
    got = np.concatenate([c.addresses for c in chunks])
    assert (got == arr).all()
    assert all((c.kinds == LOAD).all() for c in chunks)


def test_npy_structured(write: Callable[..., Path]) -> None:
    rec = np.zeros(3, [("address", "<u8"), ("kind", "u1"), ("size", "<u2")])
    rec["address"] = [1, 2, 3]
    rec["kind"] = [0, 2, 3]
    rec["size"] = [4, 8, 1]
    got = read_all(NpyReader(write(_npy_bytes(rec))))
    assert got["kinds"].tolist() == [INSTR, STORE, MODIFY]
    assert got["sizes"].tolist() == [4, 8, 1]


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((2, 2), np.uint64),
        np.zeros(3, np.float64),
        np.array([1, -1], np.int64),
        np.zeros(2, [("x", "<u8")]),
        np.array([(1, 9)], [("addr", "<u8"), ("kind", "u1")]),
    ],
)
def test_npy_errors(write: Callable[..., Path], arr: np.ndarray) -> None:
    with pytest.raises(TraceFormatError):
        read_all(NpyReader(write(_npy_bytes(arr))))


def test_truncated_npy(write: Callable[..., Path]) -> None:
    data = _npy_bytes(np.arange(100, dtype=np.uint64))
    with pytest.raises(TraceFormatError, match="truncated"):
        read_all(NpyReader(write(data[:-8])))


def test_unknown_and_missing_files(write: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="unknown trace format"):
        Trace(write("this is not a trace\n"))
    with pytest.raises(TraceFormatError, match="empty"):
        Trace(write(""))
    with pytest.raises(TraceFormatError, match="no such file"):
        Trace(tmp_path / "missing.lackey")
    with pytest.raises(ConfigError):
        Trace(write("0x10\n"), format="nope")


def test_corrupt_compressed_stream(write: Callable[..., Path]) -> None:
    import lzma

    data = lzma.compress(b"0x10\n" * 100_000)
    path = write(data[: len(data) // 2] + b"\x00" * 64)
    with pytest.raises(TraceFormatError, match="decompress"):
        Trace(path, "text").pages()


@pytest.mark.parametrize(
    ("line", "reader", "value"),
    [
        (b"1\n", TextReader, 1),
        (b"0 0\n", DinReader, 0),
        (b"I 0,1\n", None, 0),
        (b" L 0,1\n", None, 0),
    ],
)
def test_shortest_lines_fill_their_chunk(
    write: Callable[..., Path], line: bytes, reader: type | None, value: int
) -> None:
    """Blocks of the shortest possible lines: as many references as lines, no overflow."""
    from vmsim.trace.lackey import LackeyReader

    r = (reader or LackeyReader)(write(line * 300_000))
    got = read_all(r)
    assert len(got["addresses"]) == 300_000 and (got["addresses"] == value).all()
