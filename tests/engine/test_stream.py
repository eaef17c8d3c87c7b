"""Traces fed in chunks give exactly the misses and curve of the whole-array run."""

from __future__ import annotations

import itertools
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.engine import stream
from vmsim.engine.kernels import State, kernel_names, kernel_spec, run_kernel
from vmsim.engine.mrc import lru_curve
from vmsim.engine.prepared import Prepared
from vmsim.engine.simulate import run_one
from vmsim.engine.stackdist import StackDistances, stack_distance_hist
from vmsim.engine.stream import (
    NextUseSpool,
    Stream,
    lru_curve_trace,
    simulate_trace,
    stream_lru_curve,
    stream_simulate,
)
from vmsim.trace import Trace

DATA = Path(__file__).parent.parent / "data"

OPTIONS = {
    "aging": [{}, {"bits": 3, "tick_interval": 7}, {"bits": 13, "tick_interval": 5}],
    "wsclock": [{}, {"tau": 9}],
    "ostep-clock": [{}, {"seed": 9, "clockbits": 5}],
    "random": [{}, {"seed": 11}],
    "clock": [{}, {"load_sets_refbit": False}],
    "2q": [{}, {"kin": 0.5, "kout": 1.5}],
    "lirs": [{}, {"hir": 0.3}],
}


@pytest.fixture(autouse=True)
def _grow_from_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page arrays grow from 1 entry: small traces exercise the growth of every state."""
    monkeypatch.setattr(State, "GROW_MIN", 1)
    monkeypatch.setattr(StackDistances, "GROW_MIN", 1)


def _bounds(n: int, cuts: list[int]) -> list[int]:
    """Chunk boundaries 0 = b0 <= b1 <= ... <= n from cut points (empty chunks included)."""
    return [0, *sorted(min(c, n) for c in cuts), n]


def _first_seen_ids(pages: list[int]) -> np.ndarray:
    """Dense ids in order of first appearance (as a PageIdMap numbers a stream)."""
    seen: dict[int, int] = {}
    return np.array([seen.setdefault(p, len(seen)) for p in pages], np.int32)


refs = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=1, max_size=300)


@pytest.mark.parametrize("name", sorted(kernel_names()))
@settings(max_examples=60, deadline=None)
@given(
    refs=refs,
    frames=st.integers(1, 24),
    cuts=st.lists(st.integers(0, 300), max_size=12),
    which=st.integers(0, 2),
)
def test_chunks_miss_like_the_whole_trace(
    name: str, refs: list[tuple[int, int]], frames: int, cuts: list[int], which: int
) -> None:
    """Every reference misses or hits as in the whole-array run, wherever the chunks end."""
    variants = OPTIONS.get(name, [{}])
    options = variants[which % len(variants)]
    ids = _first_seen_ids([p for p, _ in refs])
    kinds = np.array([k for _, k in refs], np.uint8)
    prep = Prepared.from_pages(ids, kinds)
    misses, whole = run_kernel(name, prep, frames, record=True, **options)
    spec = kernel_spec(name)
    assert spec.state is not None
    state = spec.state(frames, 0, **{**spec.options, **options})
    state.total = len(ids)  # type: ignore[attr-defined]
    flags = np.zeros(len(ids), np.uint8)
    b = _bounds(len(ids), cuts)
    for lo, hi in itertools.pairwise(b):
        chunk_kinds = kinds[lo:hi]
        wbits = np.packbits(chunk_kinds >= 2, bitorder="little")
        n_ids = int(ids[:hi].max(initial=-1)) + 1
        nxt = prep.next_use[lo:hi] if state.NEXT_USE else None
        state.feed(ids[lo:hi], n_ids, wbits, flags[lo:hi], nxt)
    assert whole is not None
    assert flags.astype(bool).tolist() == whole.tolist()
    assert state.misses == misses


@settings(max_examples=200, deadline=None)
@given(
    pages=st.lists(st.integers(0, 60), min_size=1, max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=15),
)
def test_stack_distances_in_chunks_equal_one_pass(pages: list[int], cuts: list[int]) -> None:
    ids = _first_seen_ids(pages)
    hist, cold = stack_distance_hist(ids, int(ids.max()) + 1)
    sd = StackDistances()
    b = _bounds(len(ids), cuts)
    for lo, hi in itertools.pairwise(b):
        sd.feed(ids[lo:hi], int(ids[:hi].max(initial=-1)) + 1)
    assert sd.cold == cold
    assert sd.hist[: len(hist)].tolist() == hist.tolist()
    assert not sd.hist[len(hist) :].any()


def test_stack_distances_compact_while_streaming() -> None:
    """Far more references than positions: compactions inside chunks and at growth."""
    rng = np.random.default_rng(7)
    n = 300_000
    pages = (np.cumsum(rng.integers(0, 2, n)) // 50 + rng.integers(0, 2000, n)).tolist()
    ids = _first_seen_ids(pages)
    hist, cold = stack_distance_hist(ids, int(ids.max()) + 1)
    sd = StackDistances()
    for lo in range(0, n, 9_999):
        sd.feed(ids[lo : lo + 9_999], int(ids[: lo + 9_999].max()) + 1)
    assert sd.cold == cold
    assert sd.hist[: len(hist)].tolist() == hist.tolist()


@settings(max_examples=100, deadline=None)
@given(
    pages=st.lists(st.integers(0, 30), min_size=1, max_size=300),
    writes=st.integers(1, 50),
    chunk=st.integers(1, 64),
)
def test_spooled_next_uses_equal_in_memory(pages: list[int], writes: int, chunk: int) -> None:
    prep = Prepared.from_pages(np.array(pages))
    spool = NextUseSpool()
    for lo in range(0, len(pages), writes):
        spool.write(prep.ids[lo : lo + writes])
    parts = list(spool.chunks(prep.n_ids, chunk))
    spool.close()
    assert np.concatenate([i for i, _ in parts]).tolist() == prep.ids.tolist()
    assert np.concatenate([n for _, n in parts]).tolist() == prep.next_use.tolist()


def _locality_trace(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Page numbers (sparse: through the hash map) with a moving hot set, and kinds."""
    rng = np.random.default_rng(seed)
    pages = (np.cumsum(rng.integers(0, 2, n)) // 4 + rng.integers(0, 500, n)) * 4096 + 2**40
    return pages, rng.integers(0, 4, n).astype(np.uint8)


def test_one_pass_over_chunks_equals_each_run_in_memory() -> None:
    """OPT and UNOPT through the spool, the others in the pass: the misses of run_one."""
    pages, kinds = _locality_trace(60_000, 1)
    prep = Prepared.from_pages(pages, kinds)
    chunks = [(pages[lo : lo + 4097], kinds[lo : lo + 4097]) for lo in range(0, len(pages), 4097)]
    sizes = [1, 37, 300, 10**9]
    results = stream_simulate(chunks, kernel_names(), sizes)
    assert [(r.policy, r.frames) for r in results] == [
        (p, f) for p in kernel_names() for f in sizes
    ]
    for r in results:
        assert r.references == len(pages)
        assert r.misses == run_one(prep, r.policy, r.frames).misses, (r.policy, r.frames)


def test_the_lru_curve_of_a_stream_equals_in_memory() -> None:
    pages, _ = _locality_trace(50_000, 2)
    whole = lru_curve(Prepared.from_pages(pages))
    streamed = stream_lru_curve(pages[lo : lo + 3000] for lo in range(0, len(pages), 3000))
    assert streamed.sizes.tolist() == whole.sizes.tolist()
    assert streamed.misses.tolist() == whole.misses.tolist()
    assert streamed.distinct_pages == whole.distinct_pages
    some = stream_lru_curve([pages], [1, 10, 10**9])
    assert some.misses.tolist() == [whole.at(1), whole.at(10), whole.at(10**9)]


def test_memory_does_not_grow_with_the_length() -> None:
    """The same pages over and over: after the first pass no state array grows."""
    pages, kinds = _locality_trace(20_000, 3)
    s = Stream([(p, 64, {}) for p in kernel_names() if p not in ("opt", "unopt")], curve=True)

    def held() -> int:
        arrays = [s.sd.__dict__, s.idmap.__dict__] if s.sd else []
        arrays += [st.__dict__ for st in s.states]
        return sum(v.nbytes for d in arrays for v in d.values() if isinstance(v, np.ndarray))

    for _ in range(3):
        s.feed(pages, kinds)
    before = held()
    for _ in range(20):
        s.feed(pages, kinds)
    assert held() == before
    assert s.references == 23 * len(pages)


def test_a_trace_file_streamed_equals_in_memory() -> None:
    """limit=0 streams a real trace; the default (in memory) gives the same figures."""
    trace = Trace(DATA / "walk.lackey.xz")
    pols = ["lru", "opt", "nru", "arc"]
    streamed = simulate_trace(trace, pols, [4, 16], limit=0)
    memory = simulate_trace(trace, pols, [4, 16], workers=1)
    assert [r.to_dict() for r in streamed] == [r.to_dict() for r in memory]
    a = lru_curve_trace(trace, limit=0)
    b = lru_curve_trace(trace)
    assert a.misses.tolist() == b.misses.tolist() and a.references == b.references


def test_a_pipe_is_streamed(tmp_path: Path) -> None:
    """A trace read from a FIFO goes through the stream (it can be read once): same figures."""
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    data = (DATA / "walk.lackey.xz").read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    piped = simulate_trace(Trace(str(fifo)), ["lru", "opt"], [8])
    writer.join()
    whole = simulate_trace(Trace(DATA / "walk.lackey.xz"), ["lru", "opt"], [8], workers=1)
    assert [r.misses for r in piped] == [r.misses for r in whole]


LS = DATA / "ls.lackey.xz"


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    """Run vmsim with --json; the parsed output."""
    from vmsim.cli.main import main

    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_cli_streams_a_long_trace_with_the_same_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """simulate and mrc past the in-memory threshold print what they print below it."""
    sim = ["simulate", str(LS), "-p", "lru,opt,fifo,nru", "-f", "8,64"]
    exact = ["mrc", str(LS), "--method", "exact", "--sizes", "1,8,64,4096"]
    many = ["mrc", str(LS), "-p", "lru,clock", "--method", "simulate", "--sizes", "4,16"]
    in_memory = [_cli_json(capsys, *a) for a in (sim, exact, many)]
    monkeypatch.setattr(stream, "STREAM_REFS", 1000)
    streamed = [_cli_json(capsys, *a) for a in (sim, exact, many)]
    assert streamed == in_memory


def test_a_streamed_curve_of_another_policy_needs_sizes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vmsim.cli.main import main

    monkeypatch.setattr(stream, "STREAM_REFS", 1000)
    assert main(["mrc", str(LS), "-p", "fifo"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sizes" in err[0] and "Traceback" not in err[0]


def test_the_api_streams_a_long_trace_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import vmsim

    whole = vmsim.simulate(LS, ["lru", "opt", "lfu"], [16, 256])
    curve = vmsim.miss_ratio_curve(LS, method="exact")
    monkeypatch.setattr(stream, "STREAM_REFS", 1000)
    assert vmsim.simulate(LS, ["lru", "opt", "lfu"], [16, 256]) == whole
    assert vmsim.simulate(LS, "opt", 16) == whole[2]
    streamed = vmsim.miss_ratio_curve(LS, method="exact")
    assert streamed.misses.tolist() == curve.misses.tolist()


def test_threads_change_nothing() -> None:
    """Each chunk's states in parallel threads or one after another: the same misses."""
    pages, kinds = _locality_trace(30_000, 4)
    jobs = [(p, f, {}) for p in ("lru", "fifo", "clock", "nru", "arc") for f in (16, 400)]
    runs = []
    for threads in (1, 2):
        s = Stream(jobs, curve=True, threads=threads)
        for lo in range(0, len(pages), 5000):
            s.feed(pages[lo : lo + 5000], kinds[lo : lo + 5000])
        runs.append(([r.misses for r in s.finish()], s.curve().misses.tolist()))
    assert runs[0] == runs[1]
