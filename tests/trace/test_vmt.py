"""The compact .vmt format: exact round trips, size, corruption detected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmsim import TraceFormatError
from vmsim.trace import Trace, TraceChunk
from vmsim.trace.lines import read_all
from vmsim.trace.vmt import BLOCK_REFS, VmtReader, VmtWriter

addresses = st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=300)


@given(addresses, st.data(), st.booleans())
def test_round_trip(
    tmp_path_factory: pytest.TempPathFactory, addrs: list[int], data: st.DataObject, sizes: bool
) -> None:
    n = len(addrs)
    kinds = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    szs = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n))
    path = tmp_path_factory.mktemp("vmt") / "t.vmt"
    with VmtWriter(path, has_sizes=sizes) as w:
        half = n // 2
        for lo, hi in ((0, half), (half, n)):
            w.write(
                TraceChunk(
                    np.array(addrs[lo:hi], np.uint64),
                    np.array(kinds[lo:hi], np.uint8),
                    np.array(szs[lo:hi], np.uint32),
                )
            )
    got = read_all(VmtReader(path))
    assert got["addresses"].tolist() == addrs
    assert got["kinds"].tolist() == kinds
    assert VmtReader(path).has_sizes == sizes
    if sizes:
        assert got["sizes"].tolist() == szs


def test_blocks_split_and_join(tmp_path: Path) -> None:
    n = BLOCK_REFS + 12345
    addrs = np.arange(n, dtype=np.uint64) * np.uint64(64)
    kinds = (np.arange(n) % 4).astype(np.uint8)
    with VmtWriter(tmp_path / "b.vmt", has_sizes=False) as w:
        for lo in range(0, n, 300_000):
            w.write(TraceChunk(addrs[lo : lo + 300_000], kinds[lo : lo + 300_000]))
    chunks = list(VmtReader(tmp_path / "b.vmt").chunks())
    assert [len(c) for c in chunks] == [BLOCK_REFS, 12345]
    assert (np.concatenate([c.addresses for c in chunks]) == addrs).all()


def test_ten_times_smaller_than_lackey_text(refs: Path, tmp_path: Path) -> None:
    import lzma

    src = refs / "traces" / "gzip_16k.lackey.xz"
    with lzma.open(src) as f:
        text_size = sum(len(b) for b in iter(lambda: f.read(1 << 22), b""))
    trace = Trace(src)
    with VmtWriter(tmp_path / "g.vmt") as w:
        for ch in trace.chunks():
            w.write(ch)
    size = (tmp_path / "g.vmt").stat().st_size
    assert size * 10 <= text_size
    assert (Trace(tmp_path / "g.vmt").pages() == trace.pages()).all()


def _good(tmp_path: Path) -> bytes:
    with VmtWriter(tmp_path / "g.vmt") as w:
        w.write(
            TraceChunk(
                np.arange(1000, dtype=np.uint64), np.zeros(1000, np.uint8), np.ones(1000, np.uint32)
            )
        )
    return (tmp_path / "g.vmt").read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-8],  # no trailer
        lambda b: b[:30],  # truncated block
        lambda b: b[:16] + b"\xff\xff\xff\x7f" + b[20:],  # absurd block length
        lambda b: b[:24] + bytes(x ^ 0x55 for x in b[24:40]) + b[40:],  # corrupt zstd
        lambda b: b[:8] + b"\x09\x00" + b[10:],  # unknown version
        lambda b: b[:-8] + b"\x00" * 8,  # wrong total
    ],
)
def test_corruption_is_a_trace_format_error(tmp_path: Path, damage: object) -> None:
    bad = tmp_path / "bad.vmt"
    bad.write_bytes(damage(_good(tmp_path)))  # type: ignore[operator]
    with pytest.raises(TraceFormatError):
        read_all(VmtReader(bad))
