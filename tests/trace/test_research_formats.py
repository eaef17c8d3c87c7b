"""The formats researchers already have: libCacheSim's oracleGeneral and CSV, Pitt CS1550."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard

import vmsim
from vmsim.cli.main import main
from vmsim.errors import ConfigError, TraceFormatError
from vmsim.kinds import LOAD, STORE
from vmsim.trace import Trace, detect_format


def _oracle(records: list[tuple[int, int, int, int]]) -> bytes:
    """oracleGeneral bytes packed with struct (libCacheSim's <IQIq layout, 24 bytes)."""
    return b"".join(struct.pack("<IQIq", *r) for r in records)


def test_oracle_general_reads_ids_and_sizes_and_skips_size_zero(tmp_path: Path) -> None:
    recs = [(0, 7, 100, 2), (1, 1 << 63, 50, -1), (2, 7, 100, -1), (3, 9, 0, -1), (4, 5, 1, -1)]
    p = tmp_path / "w.oracleGeneral.bin"
    p.write_bytes(_oracle(recs))
    t = Trace(p)
    assert t.format == "oracle-general"
    (ch,) = list(t.chunks())
    assert ch.addresses.tolist() == [7, 1 << 63, 7, 5]
    assert ch.sizes is not None and ch.sizes.tolist() == [100, 50, 100, 1]
    assert set(ch.kinds.tolist()) == {LOAD}
    assert t.stats.skipped == 1
    # objects are pages whatever the page size: 3 distinct objects, the repeat of 7 hits
    assert vmsim.simulate(p, "lru", 3).misses == 3
    assert vmsim.simulate(p, "lru", 3, page_shift=20).misses == 3


def test_oracle_general_zstd_and_truncation(tmp_path: Path) -> None:
    raw = _oracle([(i, i % 5, 10, -1) for i in range(100)])
    z = tmp_path / "c.oracleGeneral.zst"
    z.write_bytes(zstandard.ZstdCompressor().compress(raw))
    assert vmsim.simulate(z, "fifo", 5).misses == 5
    cut = tmp_path / "cut.oracleGeneral"
    cut.write_bytes(raw[:-5])
    with pytest.raises(TraceFormatError, match=r"cut\.oracleGeneral:100: truncated record"):
        list(Trace(cut).chunks())
    assert zlib.crc32(raw)  # the input bytes are untouched


def test_oracle_general_by_format_option(tmp_path: Path) -> None:
    p = tmp_path / "anything.bin"
    p.write_bytes(_oracle([(0, 1, 1, -1), (1, 2, 1, -1)]))
    assert Trace(p, "oracle-general").pages().tolist() == [1, 2]


CSV = "time,obj_id,size,op\n1,100,4096,get\n2,0x1f,512,SET\n3,abc,8,read\n4,100,4096,w\n"


def test_csv_columns_by_name_with_header(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(CSV)
    t = Trace(p, "csv:id=obj_id,size=size,op=op")
    (ch,) = list(t.chunks())
    assert ch.addresses[[0, 1, 3]].tolist() == [100, 31, 100]
    assert ch.kinds.tolist() == [LOAD, STORE, LOAD, STORE]
    assert ch.sizes is not None and ch.sizes.tolist() == [4096, 512, 8, 4096]
    assert vmsim.simulate(t, "lru", 8).misses == 3  # 100, 0x1f, "abc" (hashed), 100 hits


def test_csv_by_number_without_header_tab_separated(tmp_path: Path) -> None:
    p = tmp_path / "t.tsv"
    p.write_text("5\t0x3000\n6\t0x3fff\n7\t0x5000\n")
    t = Trace(p, "csv:id=2,header=no,sep=tab,ids=addresses")
    assert t.pages(12).tolist() == [3, 3, 5]


def test_csv_detected_by_name_default_id_column(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("key,v\nk1,1\nk2,2\nk1,3\n")
    assert detect_format(p) == "csv"
    assert vmsim.simulate(p, "lru", 2).misses == 2


@pytest.mark.parametrize(
    ("text", "fmt", "needle"),
    [
        (CSV.replace("SET", "frobnicate"), "csv:op=op", r"t\.csv:3: unknown operation"),
        (CSV, "csv:id=nosuch", "no column 'nosuch'"),
        ("1,2\n3\n", "csv:id=1", r"t\.csv"),
        ("0x10\nbanana\n", "csv:ids=addresses,header=no", r"t\.csv:2: not an address"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, text: str, fmt: str, needle: str) -> None:
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(TraceFormatError, match=needle):
        list(Trace(p, fmt).chunks())


def test_csv_bad_format_spec() -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        Trace(__file__, "csv:oops")


def test_pitt_cs1550_lines_are_detected_as_hex(tmp_path: Path) -> None:
    p = tmp_path / "gcc.trace"
    p.write_text("0041f7a0 R\n13f5e2c0 R\n05e78900 W\n0041f7a4 R\n")
    t = Trace(p)
    assert t.format == "pitt"
    assert t.pages(12).tolist() == [0x41F, 0x13F5E, 0x5E78, 0x41F]
    assert [c.kinds.tolist() for c in t.chunks()] == [[LOAD, LOAD, STORE, LOAD]]


def test_trace_formats_lists_the_new_readers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("oracle-general", "csv", "pitt"):
        assert name in out


def test_simulate_cli_on_a_csv_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "t.csv"
    ids = np.tile(np.arange(10), 5)
    p.write_text("id\n" + "".join(f"{i}\n" for i in ids))
    assert main(["simulate", str(p), "-p", "fifo", "-f", "10", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"misses": 10' in out


def test_oracle_general_file_gives_libcachesims_misses(tmp_path: Path) -> None:
    """One oracleGeneral file, read by libCacheSim and by vmsim: the same misses."""
    import libcachesim as lcs

    rng = np.random.default_rng(3)
    ids = np.concatenate([np.tile(np.arange(300), 10), rng.zipf(1.3, 20_000) % 5000])
    n = len(ids)
    nxt = [-1] * n
    seen: dict[int, int] = {}
    for i in range(n - 1, -1, -1):
        nxt[i] = seen.get(int(ids[i]), -1)
        seen[int(ids[i])] = i
    p = tmp_path / "z.oracleGeneral.bin"
    p.write_bytes(_oracle([(i, int(ids[i]), 1, nxt[i]) for i in range(n)]))
    for policy, cls, opts in (("lru", "LRU", {}), ("fifo", "FIFO", {}),
                              ("clock", "Clock", {"load_sets_refbit": False})):  # fmt: skip
        for frames in (50, 400):
            cache = getattr(lcs, cls)(frames, hashpower=16)
            ratio, _ = cache.process_trace(
                lcs.TraceReader(str(p), lcs.TraceType.ORACLE_GENERAL_TRACE)
            )
            assert vmsim.simulate(p, policy, frames, **opts).misses == round(ratio * n), policy
