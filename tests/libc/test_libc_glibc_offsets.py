"""vmsim's malloc against this machine's glibc: the same offsets from the heap's start.

A small C program (data/glibc_offsets.c, compiled here with the system compiler)
runs each sequence in a fresh process and prints where every pointer landed
relative to the initial sbrk(0); vmsim runs the same sequence on a fresh simulated
process. Every offset must be equal, and so must glibc's message when a sequence
corrupts the heap on purpose.
"""

from __future__ import annotations

import random
import re

import pytest
from glibcseq import (
    Harness,
    buggy_sequence,
    build_harness,
    random_sequence,
    run_glibc,
    run_vmsim,
)

from toolcheck import require


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    h = build_harness(tmp_path_factory.mktemp("glibc"))
    require(h, "a C compiler (gcc)")
    assert h is not None
    return h


def compare(harness: Harness, sequences: list[str]) -> None:
    """Assert vmsim gives glibc's line for every sequence (showing the first difference)."""
    expected = run_glibc(harness, sequences)
    for i, (seq, want) in enumerate(zip(sequences, expected, strict=True)):
        got = run_vmsim(seq, harness.heap_base)
        if got != want:
            g, w = got.split(), want.split()
            k = next((j for j, (a, b) in enumerate(zip(g, w, strict=False)) if a != b), 0)
            pytest.fail(
                f"sequence {i} differs at result {k}:\n  ops: {seq}\n"
                f"  vmsim: {' '.join(g[k : k + 4])}\n  glibc: {' '.join(w[k : k + 4])}"
            )


def ops(*parts: str) -> str:
    return " ".join(parts)


def seq_of(op: str, slots: range, arg: str = "") -> str:
    return " ".join(f"{op}{s}{arg}" for s in slots)


HAND_WRITTEN = [
    # tcache: fill a bin past its 7 entries, then take them back (LIFO, then fastbin)
    ops(seq_of("m", range(10), ":24"), seq_of("f", range(10)), seq_of("m", range(10, 20), ":24")),
    # several tcache bins at once, sizes on both sides of each 16-byte step
    ops(
        seq_of("m", range(0, 9), ":40"),
        seq_of("m", range(9, 18), ":41"),
        seq_of("f", range(18)),
        seq_of("m", range(20, 38), ":41"),
    ),
    # fastbins: take one back while more wait: the rest are stashed in the tcache
    ops(
        seq_of("m", range(16), ":100"),
        seq_of("f", range(16)),
        seq_of("m", range(16, 20), ":100"),
        seq_of("m", range(20, 40), ":100"),
    ),
    # malloc_consolidate: fastbin chunks merged when a large request comes
    ops(
        seq_of("m", range(20), ":56"),
        "m30:10",
        seq_of("f", range(20)),
        "m31:1200 m32:1200",
    ),
    # unsorted -> small and large bins, best fit among large chunks
    ops(
        "m0:1100 m1:16 m2:1500 m3:16 m4:3000 m5:16 m6:1040 m7:16 m8:2500 m9:16",
        "f0 f2 f4 f6 f8",
        "m10:1030 m11:2000 m12:1400 m13:1100 m14:600 m15:3500",
    ),
    # the last remainder serves a run of small requests
    ops("m0:4000 m1:16 f0", seq_of("m", range(2, 30), ":64")),
    # coalescing with both neighbours and into top
    ops(
        "m0:1500 m1:1500 m2:1500 m3:1500 m4:20",
        "f1 f3 f2 m5:4000 f5 f4 f0 m6:8000",
    ),
    # realloc: shrink, grow into top, grow into a free neighbour, move
    ops(
        "m0:100 r0:50 r0:1000 r0:8000 m1:20 r0:9000",
        "m2:300 m3:300 m4:20 f3 r2:600 r2:700 r2:50 r4:5000 r4:0",
    ),
    # realloc of small blocks hopping between tcache sizes
    ops(seq_of("m", range(8), ":24"), *[f"r{s}:{40 + 16 * s}" for s in range(8)], "m9:24 m10:40"),
    # calloc skips the tcache and clears what it reuses
    ops(
        seq_of("m", range(9), ":200"),
        seq_of("f", range(9)),
        "c10:1:200 c11:5:40 c12:0:8 c13:3:0",
    ),
    # malloc(0), realloc(NULL, n), realloc(p, 0)
    "m0:0 m1:0 r2:10 r1:0 m3:0 r0:24 r0:0 m4:1",
    # memalign leaves a lead and a tail behind
    ops("m0:10 a1:64:100 a2:256:10 a3:4096:1000 a4:48:30", "f1 f2 f3 a5:128:200 m6:100"),
    # heap growth beyond the first 132 KiB, then trimming on free and malloc_trim
    ops(seq_of("m", range(200), ":1000"), seq_of("f", range(199, -1, -1)), "t m200:50"),
    # the mmap threshold, and how it rises when a mapped chunk is freed
    "m0:140000 m1:140000 f0 m2:140000 f1 f2 m3:200000 m4:140000 t",
    # mallinfo2 at every stage: fresh, tcache, fastbins, bins, mmapped, trimmed
    ops(
        "i m0:10 i",
        seq_of("m", range(1, 12), ":100"),
        "m12:3000 m13:10 m14:200000 i",
        seq_of("f", range(1, 12)),
        "f12 i f14 i m15:2000 f0 f15 i t i",
    ),
]


def test_hand_written_sequences_match_glibc(harness: Harness) -> None:
    compare(harness, HAND_WRITTEN)


@pytest.mark.parametrize(
    ("seed", "count", "length", "kw"),
    [
        (1, 150, 300, {}),
        (2, 60, 300, {"ops": "mmmcrrffati"}),
        (3, 60, 300, {"max_size": 5000}),
        (4, 40, 400, {"max_size": 70000, "big": 0.03, "ops": "mmmcrrfffati"}),
        (5, 12, 2000, {"ops": "mmmmmcrrfff"}),
        (6, 100, 200, {"slots": 12, "ops": "mmcrrrfff"}),
    ],
    ids=["small", "memalign-trim", "large-bins", "mmap-trim", "long", "churn"],
)
def test_random_sequences_match_glibc(
    harness: Harness, seed: int, count: int, length: int, kw: dict[str, object]
) -> None:
    rng = random.Random(seed)
    compare(harness, [random_sequence(rng, length, **kw) for _ in range(count)])  # type: ignore[arg-type]


TCACHE_FULL = ops(seq_of("m", range(8), ":24"), seq_of("f", range(7)))

CORRUPTIONS = {
    "tcache double free": "m0:24 f0 f0",
    "fastbin double free": ops(TCACHE_FULL, "f7 f7"),
    "free misaligned": "m0:100 g0:1",
    "free inside a block": "m0:100 g0:16",
    "size below MINSIZE": "m0:100 w0:-8:17 f0",
    "mmapped header": "m0:200000 w0:-16:8 f0",
    "overflow into top": "m0:24 w0:24:18446744073709551615 m1:100",
    "free of top": "m0:2000 f0 f0",
    "free of a free chunk": "m0:2000 m1:10 f0 f0",
    "next size too small (fast)": ops(TCACHE_FULL, "w7:24:0 f7"),
    "next size too small": "m0:2000 m1:2000 m2:10 w0:2008:1 f0",
    "footer of a free neighbour": "m0:2000 m1:2000 m2:10 f1 w1:2000:4000 f0",
    "chunk beyond top": "m0:2000 m1:10 w0:-8:1048577 f0",
    "fastbin chunk resized": ops(TCACHE_FULL, "f7 w7:-8:81", seq_of("m", range(7), ":24"), "m8:24"),
    "realloc misaligned": "m0:100 x0:1:200",
    "realloc huge old size": "m0:100 w0:-8:268435457 r0:200",
    "realloc next size": "m0:100 w0:-8:17 r0:200",
    "realloc mmapped header": "m0:200000 w0:-16:8 r0:300000",
    "unsorted size": "m0:2000 m1:10 f0 w0:-8:268435457 m2:3000",
    "unsorted footer": "m0:2000 m1:10 f0 w0:2000:5 m2:3000",
    "unsorted next prev_inuse": "m0:2000 m1:10 f0 w0:2008:33 m2:3000",
}


def test_heap_corruption_is_reported_with_glibcs_message(harness: Harness) -> None:
    sequences = list(CORRUPTIONS.values())
    expected = run_glibc(harness, sequences)
    assert not [e for e in expected if re.fullmatch(r"[0-9a-fNMt ]*", e)]  # glibc aborted each
    got = [run_vmsim(s, harness.heap_base) for s in sequences]
    assert dict(zip(CORRUPTIONS, got, strict=True)) == dict(zip(CORRUPTIONS, expected, strict=True))


@pytest.mark.parametrize(
    ("seed", "ops"), [(1, "mmmmmmmmcrrfw"), (2, "mmmmmmmmmmcrrrfwww"), (3, "mmmmmcrfffffw")]
)
def test_buggy_programs_fail_exactly_as_with_glibc(harness: Harness, seed: int, ops: str) -> None:
    """Double frees, use after free and stray writes: the same message, or the same results.

    Needs the same addresses on both sides (Safe-Linking mixes addresses into the
    pointers a buggy program reads back), so it runs only with randomisation off.
    """
    require(harness.heap_base is not None, "setarch -R (address randomisation off)")
    rng = random.Random(seed)
    compare(harness, [buggy_sequence(rng, 80, ops) for _ in range(120)])
