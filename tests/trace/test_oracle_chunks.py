"""oracleGeneral in many chunks, mapped (a plain file) or read through one reused buffer (a
compressed one): every chunk keeps its ids, a partial record is an error in its place."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from vmsim.errors import TraceFormatError
from vmsim.trace import oracle
from vmsim.trace.oracle import OracleGeneralReader


def _oracle(records: list[tuple[int, int, int, int]]) -> bytes:
    """oracleGeneral bytes packed with struct (libCacheSim's <IQIq layout, 24 bytes)."""
    return b"".join(struct.pack("<IQIq", *r) for r in records)


@pytest.mark.parametrize("compress", [False, True])
def test_chunks_are_copies_and_size_zero_is_skipped_in_any_chunk(
    tmp_path: Path, compress: bool
) -> None:
    recs = [(i, 1000 + i, 0 if i in (4, 11) else 8, -1) for i in range(14)]
    data = _oracle(recs)
    p = tmp_path / "m.oracleGeneral"
    p.write_bytes(gzip.compress(data) if compress else data)
    reader = OracleGeneralReader(p, chunk_refs=3)
    chunks = list(reader.chunks())
    ids = [int(a) for c in chunks for a in c.addresses]
    assert ids == [1000 + i for i in range(14) if i not in (4, 11)]
    assert [int(s) for c in chunks for s in c.sizes] == [8] * 12
    assert reader.stats.skipped == 2 and reader.stats.lines == 14


@pytest.mark.parametrize("compress", [False, True])
def test_a_partial_last_record_is_an_error_after_the_whole_ones(
    tmp_path: Path, compress: bool
) -> None:
    data = _oracle([(i, 50 + i, 8, -1) for i in range(10)]) + b"\x01" * 5
    p = tmp_path / "m.oracleGeneral"
    p.write_bytes(gzip.compress(data) if compress else data)
    got: list[int] = []
    with pytest.raises(TraceFormatError, match=r"m\.oracleGeneral:11: truncated record"):
        for c in OracleGeneralReader(p, chunk_refs=3).chunks():
            got.extend(int(a) for a in c.addresses)
    assert got == list(range(50, 60))


def test_a_plain_file_is_mapped_and_a_compressed_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reads(*_: object) -> int:
        raise AssertionError("read, not mapped")

    monkeypatch.setattr(oracle, "_read_into", no_reads)
    data = _oracle([(i, i, 8, -1) for i in range(7)])
    plain = tmp_path / "p.oracleGeneral"
    plain.write_bytes(data)
    reader = OracleGeneralReader(plain, chunk_refs=3)
    chunks = reader.chunks()
    assert next(chunks).addresses.tolist() == [0, 1, 2]
    assert reader.input.position() == 3 * 24  # how far the reading is, for the progress bar
    assert [int(a) for c in chunks for a in c.addresses] == [3, 4, 5, 6]
    packed = tmp_path / "p.oracleGeneral.gz"
    packed.write_bytes(gzip.compress(data))
    with pytest.raises(AssertionError, match="read, not mapped"):
        list(OracleGeneralReader(packed, chunk_refs=3).chunks())
