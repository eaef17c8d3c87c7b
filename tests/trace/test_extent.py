"""What a progress bar measures a pass against: a .vmt's count, another file's bytes."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from vmsim.trace import Trace
from vmsim.trace.writers import write_trace

DATA = Path(__file__).resolve().parents[1] / "data"
LS = DATA / "ls.lackey.xz"


@pytest.fixture(scope="module")
def vmt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ls as a .vmt."""
    path = tmp_path_factory.mktemp("extent") / "ls.vmt"
    write_trace(Trace(LS).chunks(), path, "vmt", has_sizes=True)
    return path


def test_a_vmt_knows_its_references(vmt: Path) -> None:
    t = Trace(vmt)
    assert t.extent() == (893_651, "references")
    done = []
    for ch in t.chunks():
        done.append((len(ch), t.done()))
    assert np.cumsum([n for n, _ in done]).tolist() == [d for _, d in done]
    assert t.done() == 893_651


def test_a_cut_or_compressed_vmt_falls_back_to_bytes(vmt: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.vmt"
    cut.write_bytes(vmt.read_bytes()[:-5])
    assert Trace(cut).extent() == (cut.stat().st_size, "bytes")
    packed = tmp_path / "ls.vmt.gz"
    packed.write_bytes(gzip.compress(vmt.read_bytes()))
    assert Trace(packed).extent() == (packed.stat().st_size, "bytes")


def test_another_file_counts_the_bytes_consumed(monkeypatch: pytest.MonkeyPatch) -> None:
    # blocks of 64 KiB: the decompressing thread runs at most 3 blocks ahead (of 12.8 MB)
    # whatever the load; with the 4 MiB default it may be done before the first chunk
    monkeypatch.setattr("vmsim.trace.lines.BLOCK", 1 << 16)
    t = Trace(LS)
    size = LS.stat().st_size
    assert t.extent() == (size, "bytes")
    seen = [t.done("bytes") for _ in t.chunks()]
    assert seen == sorted(seen) and 0 < seen[0] < size  # the xz stream, read as it goes
    assert t.done("bytes") == size


def test_arrays_know_their_length() -> None:
    t = Trace.from_arrays(np.arange(10, dtype=np.uint64) << 12)
    assert t.extent() == (10, "references")


def test_a_pipe_has_no_extent(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(LS.read_bytes()))
    writer.start()
    t = Trace(fifo)
    assert t.extent() is None
    assert sum(len(c) for c in t.chunks()) == 893_651 == t.done()
    writer.join()
