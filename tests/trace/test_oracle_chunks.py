"""oracleGeneral read in many chunks through one reused buffer: every chunk keeps its ids."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

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
