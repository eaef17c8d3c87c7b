"""valgrind lackey text: parsing, skipping valgrind's lines, errors with file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vmsim import TraceFormatError
from vmsim.kinds import INSTR, LOAD, MODIFY, STORE
from vmsim.trace import Trace, detect_format, lines
from vmsim.trace.lackey import LackeyReader
from vmsim.trace.lines import read_all

SAMPLE = """==123== Lackey, an example Valgrind tool
==123== Command: ./a.out
==123==
I  0401ab70,3
 L 1fff000d18,8
 S 04c5d3a8,4
 M 0000ffff,16
I  ffffffffffffffff,1
--123-- a valgrind debug line
==123== Exit code:       0
"""


def test_parses_every_kind_and_skips_valgrind_lines(write: Callable[..., Path]) -> None:
    r = LackeyReader(write(SAMPLE))
    got = read_all(r)
    assert got["addresses"].tolist() == [0x0401AB70, 0x1FFF000D18, 0x04C5D3A8, 0xFFFF, 2**64 - 1]
    assert got["kinds"].tolist() == [INSTR, LOAD, STORE, MODIFY, INSTR]
    assert got["sizes"].tolist() == [3, 8, 4, 16, 1]
    assert r.stats.skipped == 5 and r.stats.lines == 10


@pytest.mark.parametrize("compression", ["plain", "gzip", "xz", "zstd"])
def test_compression_is_detected_from_the_content(
    write: Callable[..., Path], compression: str
) -> None:
    path = write(SAMPLE, name="misleading.txt", compression=compression)
    assert detect_format(path) == "lackey"
    assert len(Trace(path).pages()) == 5


def test_crlf_and_missing_final_newline(write: Callable[..., Path]) -> None:
    got = read_all(LackeyReader(write("I  10,1\r\n L 2000,4")))
    assert got["addresses"].tolist() == [0x10, 0x2000]


@pytest.mark.parametrize(
    "bad",
    [
        " X 1000,4",
        "I  10",
        "I  zz,4",
        " L 1000,",
        "I 10,4 trailing",
        "hello",
        " L 11112222333344445,8",
    ],
)
def test_malformed_line_names_file_line_and_text(write: Callable[..., Path], bad: str) -> None:
    path = write(f"I  10,1\n L 20,4\n{bad}\nI  30,1\n")
    with pytest.raises(TraceFormatError) as e:
        read_all(LackeyReader(path))
    assert e.value.path == str(path)
    assert e.value.line == 3
    assert e.value.text == bad
    assert str(path) in str(e.value) and ":3:" in str(e.value)


def test_skip_bad_counts_and_reports(write: Callable[..., Path]) -> None:
    path = write("I  10,1\nbad one\n L 20,4\nbad two\n")
    r = LackeyReader(path, skip_bad=True)
    assert read_all(r)["addresses"].tolist() == [0x10, 0x20]
    assert r.stats.bad_lines == 2
    assert r.stats.first_bad == f"{path}:2: bad one"


def test_lines_split_across_blocks(
    write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    addrs = rng.integers(0, 2**40, 3000)
    kinds = rng.integers(0, 4, 3000)
    text = "".join(
        f"{'I  ' if k == 0 else ' ' + 'LSM'[k - 1] + ' '}{a:08x},{k + 1}\n"
        for a, k in zip(addrs, kinds, strict=True)
    )
    text = text.replace("\n", "\nbad\n", 1)  # line 2 is bad: the error line must stay exact
    path = write(text, compression="zstd")
    monkeypatch.setattr(lines, "BLOCK", 37)  # tiny blocks: most lines straddle two
    r = LackeyReader(path, skip_bad=True)
    got = read_all(r)
    assert got["addresses"].tolist() == addrs.tolist()
    assert got["kinds"].tolist() == kinds.tolist()
    assert r.stats.first_bad.endswith(":2: bad")
    with pytest.raises(TraceFormatError) as e:
        read_all(LackeyReader(path))
    assert e.value.line == 2


def test_a_binary_file_is_not_a_trace(write: Callable[..., Path]) -> None:
    path = write(bytes(range(256)) * 400)
    with pytest.raises(TraceFormatError):
        read_all(LackeyReader(path))


def test_the_gzip_trace_counts_match_its_readme(refs: Path) -> None:
    """README: 2,343,739 references (I 1,751,297; L 374,788; S 211,394; M 6,260)."""
    r = LackeyReader(refs / "traces" / "gzip_16k.lackey.xz")
    counts = np.zeros(4, np.int64)
    for ch in r.chunks():
        counts += np.bincount(ch.kinds, minlength=4)
    assert counts.tolist() == [1_751_297, 374_788, 211_394, 6_260]
