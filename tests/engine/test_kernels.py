"""Differential tests: every Numba kernel against the plain-Python reference, miss for miss."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vmsim.config import MachineConfig
from vmsim.engine.kernels import fifo, kernel_names, kernel_spec, lru, run_kernel
from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError
from vmsim.policies import make_policy, policy_class, policy_names
from vmsim.policies.reference import replay

traces = st.lists(st.integers(0, 14), min_size=1, max_size=150)


def _reference(
    pages: list[int],
    name: str,
    frames: int,
    writes: list[bool] | None = None,
    **options: object,
) -> np.ndarray:
    """Miss flags of the reference replay (policy constructed with frames where it takes them).

    A policy that acts on ticks gets one every tick_interval references, the machine's
    default (MachineConfig.tick_interval) unless given.
    """
    lsr = bool(options.pop("load_sets_refbit", True))
    tick = int(str(options.pop("tick_interval", MachineConfig().tick_interval)))
    if not policy_class(name).uses_tick:
        tick = 0
    if "frames" in inspect.signature(policy_class(name)).parameters:
        options["frames"] = frames
    policy = make_policy(name, **options)
    return replay(pages, policy, frames, writes, load_sets_refbit=lsr, tick_every=tick).miss_trace


ISSUE_POLICIES = {
    "aging",
    "nru",
    "wsclock",
    "ostep-clock",
    "unopt",
    "fifo",
    "lru",
    "clock",
    "opt",
    "random",
    "mru",
    "lfu",
    "arc",
    "2q",
    "lirs",
    "sieve",
}


def test_the_issues_policies_have_kernels_and_references() -> None:
    assert set(kernel_names()) == ISSUE_POLICIES
    assert set(policy_names()) >= ISSUE_POLICIES


def test_every_policy_has_a_kernel() -> None:
    """Issue 10: every policy of the machine runs in the engine too."""
    assert set(kernel_names()) == set(policy_names())


# The machine's policies that read the dirty bit or take parameters, with their options
# spelled as the policy classes (and MachineConfig.tick_interval) spell them.
MACHINE_OPTIONS = st.sampled_from(
    [
        ("aging", {}),
        ("aging", {"bits": 1, "tick_interval": 3}),
        ("aging", {"bits": 3, "tick_interval": 7}),
        ("aging", {"bits": 12, "tick_interval": 5}),
        ("aging", {"bits": 13, "tick_interval": 5}),
        ("aging", {"bits": 64, "tick_interval": 11}),
        ("nru", {}),
        ("wsclock", {}),
        ("wsclock", {"tau": 1}),
        ("wsclock", {"tau": 9}),
        ("wsclock", {"tau": 40}),
        ("ostep-clock", {}),
        ("ostep-clock", {"seed": 5, "clockbits": 0}),
        ("ostep-clock", {"seed": 2**40, "clockbits": 1}),
        ("ostep-clock", {"seed": 9, "clockbits": 5}),
        ("unopt", {}),
    ]
)


@settings(max_examples=400)
@given(
    case=MACHINE_OPTIONS,
    refs=st.lists(st.tuples(st.integers(0, 14), st.integers(0, 3)), min_size=1, max_size=200),
    frames=st.integers(1, 9),
)
def test_machine_policies_with_kinds_and_options(
    case: tuple[str, dict[str, int]], refs: list[tuple[int, int]], frames: int
) -> None:
    """Kinds matter (nru, wsclock read the dirty bit: S and M write); options pass through."""
    name, options = case
    pages = np.array([p for p, _ in refs])
    kinds = np.array([k for _, k in refs], np.uint8)
    prep = Prepared.from_pages(pages, kinds)
    _, flags = run_kernel(name, prep, frames, record=True, **options)
    writes = [k >= 2 for _, k in refs]
    assert flags is not None
    assert flags.tolist() == _reference(pages.tolist(), name, frames, writes, **options).tolist()


@pytest.mark.parametrize("name", ["nru", "wsclock"])
def test_dirty_bits_change_the_victims(name: str) -> None:
    """The same pages with and without writes miss differently: the kinds reach the kernel."""
    rng = np.random.default_rng(3)
    pages = rng.integers(0, 30, 4000)
    kinds = rng.integers(1, 3, 4000).astype(np.uint8)
    opts = {"tau": 5} if name == "wsclock" else {}
    reads, _ = run_kernel(name, Prepared.from_pages(pages), 10, **opts)
    mixed, _ = run_kernel(name, Prepared.from_pages(pages, kinds), 10, **opts)
    assert reads != mixed
    ref = _reference(pages.tolist(), name, 10, (kinds >= 2).tolist(), **opts)
    assert mixed == int(ref.sum())


def test_aging_hand_case() -> None:
    """2-bit aging, a tick every 2 references, 2 frames, pages a b a c b:

    t0 a miss (a=10); t1 b miss (b=10); tick: a=11 (accessed), b=11; t2 a hit;
    t3 c miss: counters equal, a (loaded first) goes; tick before t4: b=01, c=11
    (loaded, so accessed); t4 b hit. Misses at t0, t1, t3.
    """
    prep = Prepared.from_pages(np.array([1, 2, 1, 3, 2]))
    _, flags = run_kernel("aging", prep, 2, record=True, bits=2, tick_interval=2)
    assert flags is not None and flags.tolist() == [True, True, False, True, False]


def test_unopt_hand_case() -> None:
    """Anti-Belady, 2 frames, pages 1 2 1 3 1 2: t2 hits; at t3 page 1 (next use t4, before
    2's t5) goes; at t4 page 2 (next use t5; 3 is never used again) goes; t5 misses."""
    prep = Prepared.from_pages(np.array([1, 2, 1, 3, 1, 2]))
    _, flags = run_kernel("unopt", prep, 2, record=True)
    assert flags is not None and flags.tolist() == [True, True, False, True, True, True]


@pytest.mark.parametrize("name", sorted(ISSUE_POLICIES - {"random", "clock", "2q", "lirs"}))
@settings(max_examples=150)
@given(pages=traces, frames=st.integers(1, 9), scale=st.sampled_from([1, 4096, 2**40 + 7]))
def test_kernel_matches_reference(name: str, pages: list[int], frames: int, scale: int) -> None:
    p = [x * scale for x in pages]
    misses, flags = run_kernel(name, Prepared.from_pages(np.array(p)), frames, record=True)
    ref = _reference(p, name, frames)
    assert flags is not None and flags.tolist() == ref.tolist()
    assert misses == int(ref.sum())


@settings(max_examples=150)
@given(pages=traces, frames=st.integers(1, 9), seed=st.integers(0, 2**40))
def test_random_draws_like_python(pages: list[int], frames: int, seed: int) -> None:
    _, flags = run_kernel(
        "random", Prepared.from_pages(np.array(pages)), frames, record=True, seed=seed
    )
    assert flags is not None
    assert flags.tolist() == _reference(pages, "random", frames, seed=seed).tolist()


@settings(max_examples=150)
@given(pages=traces, frames=st.integers(1, 9), load_set=st.booleans())
def test_clock_both_reference_bit_rules(pages: list[int], frames: int, load_set: bool) -> None:
    prep = Prepared.from_pages(np.array(pages))
    _, flags = run_kernel("clock", prep, frames, record=True, load_sets_refbit=load_set)
    assert flags is not None
    assert flags.tolist() == _reference(pages, "clock", frames, load_sets_refbit=load_set).tolist()


@settings(max_examples=150)
@given(pages=traces, frames=st.integers(1, 12), kin=st.floats(0.05, 0.9), kout=st.floats(0.05, 2))
def test_2q_with_its_options(pages: list[int], frames: int, kin: float, kout: float) -> None:
    prep = Prepared.from_pages(np.array(pages))
    _, flags = run_kernel("2q", prep, frames, record=True, kin=kin, kout=kout)
    assert flags is not None
    assert flags.tolist() == _reference(pages, "2q", frames, kin=kin, kout=kout).tolist()


@settings(max_examples=150)
@given(pages=traces, frames=st.integers(1, 12), hir=st.floats(0.0, 0.6))
def test_lirs_with_its_options(pages: list[int], frames: int, hir: float) -> None:
    prep = Prepared.from_pages(np.array(pages))
    _, flags = run_kernel("lirs", prep, frames, record=True, hir=hir)
    assert flags is not None
    assert flags.tolist() == _reference(pages, "lirs", frames, hir=hir).tolist()


@pytest.mark.parametrize("name", sorted(kernel_names()))
def test_longer_random_traces(name: str) -> None:
    """Longer traces with locality (a moving hot set) reach deeper states."""
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    for _ in range(3):
        base = np.cumsum(rng.integers(0, 2, 3000))
        pages = (base + rng.integers(0, 40, 3000)).tolist()
        frames = int(rng.integers(2, 48))
        opts = {"seed": 11} if name == "random" else {}
        _, flags = run_kernel(
            name, Prepared.from_pages(np.array(pages)), frames, record=True, **opts
        )
        assert flags is not None
        assert flags.tolist() == _reference(pages, name, frames, **opts).tolist()


CHAINED = given(
    pages=st.lists(st.integers(0, 14), min_size=1, max_size=200),
    frames=st.integers(1, 9),
    cuts=st.lists(st.integers(0, 200), max_size=8),
    loops=st.lists(st.booleans(), min_size=9, max_size=9),
)
"""A trace, frames, block boundaries and which loop each block takes (FIFO's and LRU's)."""


def _blocks(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    """Blocks [lo, hi) of n references cut at cuts (empty blocks included)."""
    return list(itertools.pairwise([0, *sorted(min(c, n) for c in cuts), n]))


@settings(max_examples=300)
@CHAINED
def test_fifo_loops_chain_like_the_reference(
    pages: list[int], frames: int, cuts: list[int], loops: list[bool]
) -> None:
    """FIFO's two loops (with a branch, without), in any order over any blocks, hand the
    ring on so that every reference misses or hits as the reference FIFO's does."""
    ids = Prepared.from_pages(np.array(pages)).ids
    res = np.zeros(int(ids.max()) + 1, np.uint8)
    ring = np.zeros(frames, np.int32)
    flags = np.zeros(len(ids), np.uint8)
    hand = count = misses = 0
    for (lo, hi), select in zip(_blocks(len(ids), cuts), loops, strict=False):
        loop = fifo._fifo_select if select else fifo._fifo_branch
        hand, count, m = loop(ids[lo:hi], res, ring, hand, count, frames, flags[lo:hi])
        misses += m
    ref = _reference(pages, "fifo", frames)
    assert flags.astype(bool).tolist() == ref.tolist()
    assert misses == int(ref.sum())


@settings(max_examples=300)
@CHAINED
def test_lru_loops_chain_like_the_reference(
    pages: list[int], frames: int, cuts: list[int], loops: list[bool]
) -> None:
    """LRU's fill loop, then its two loops over full frames in any order over any blocks of
    the queue, hand front on so that every reference misses or hits as the reference LRU's
    does; the blocks after the first cut run as a stream's later chunk does (flags
    indexed from its start)."""
    q = Prepared.from_pages(np.array(pages)).ids
    last = np.full(int(q.max()) + 1, -1, np.int32)
    stale = np.zeros(len(q) + 1, np.uint8)
    flags = np.zeros(len(q), np.uint8)
    t, count, misses = lru._lru_fill(q, 0, 0, last, 0, 0, frames, flags)
    if count == frames:
        lru.mark_stale(q, 0, t, last, stale)
    front = 0
    blocks = _blocks(len(q), cuts)
    chunk = blocks[0][1]
    for (lo, hi), select in zip(blocks, loops, strict=False):
        if hi <= t:
            continue
        lo = max(lo, t)
        start = 0 if lo < chunk else chunk
        loop = lru._lru_select if select else lru._lru_branch
        front, m = loop(q, lo, hi, start, last, stale, front, flags[start:])
        misses += m
    ref = _reference(pages, "lru", frames)
    assert flags.astype(bool).tolist() == ref.tolist()
    assert misses == int(ref.sum())


@pytest.mark.parametrize("name", ["fifo", "lru"])
def test_switching_loops_on_a_long_trace(name: str) -> None:
    """A trace built to make FIFO and LRU switch loops (blocks that miss about half the
    time, for the branch-free loop, then blocks of all misses, for the branchy one, then
    back): misses as the reference's."""
    kernel = fifo if name == "fifo" else lru
    block = kernel.BLOCK
    rng = np.random.default_rng(7)
    half = rng.integers(0, 200, 3 * block)  # 100 frames of 200 pages: about half miss
    cold = np.arange(1000, 1000 + 2 * block)  # every reference a new page
    pages = np.concatenate([half, cold, half]).tolist()
    ref = _reference(pages, name, 100)
    block_misses = ref.reshape(-1, block).mean(axis=1)
    assert kernel.SELECT_MIN < block_misses[0] < kernel.SELECT_MAX < block_misses[3]
    prep = Prepared.from_pages(np.array(pages))
    misses, flags = run_kernel(name, prep, 100, record=True)
    assert flags is not None and flags.tolist() == ref.tolist()
    assert misses == int(ref.sum())
    assert run_kernel(name, prep, 100)[0] == misses  # without flags to write, the same count


def test_bad_arguments() -> None:
    prep = Prepared.from_pages(np.array([1, 2, 3]))
    with pytest.raises(ConfigError):
        run_kernel("nope", prep, 4)
    with pytest.raises(ConfigError):
        run_kernel("lru", prep, 0)
    with pytest.raises(ConfigError, match="accepts"):
        run_kernel("lru", prep, 4, seed=3)
    assert kernel_spec("random").options == {"seed": 0}


@settings(max_examples=300)
@given(
    pages=st.lists(st.integers(0, 30), min_size=1, max_size=300),
    frames=st.integers(1, 12),
    parts=st.integers(2, 6),
)
@example(pages=[1, 1, 2, 3, 4, 1, 2, 2, 2, 2, 2, 2], frames=3, parts=4)  # 2 pages before a part
def test_lru_split_into_parts_misses_as_one_run(pages: list[int], frames: int, parts: int) -> None:
    """LRU split over threads: each part starts from the last `frames` distinct pages before
    it (fewer where the trace so far has fewer), reference for reference as the reference
    LRU's, flags included."""
    prep = Prepared.from_pages(np.array(pages))
    flags = np.zeros(len(pages), np.uint8)
    misses = lru.Lru.run_parts(prep, frames, flags, parts)
    ref = _reference(pages, "lru", frames)
    assert misses == int(ref.sum())
    assert flags.astype(bool).tolist() == ref.tolist()


def test_a_long_lru_run_splits_over_the_threads_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At SPLIT_MIN_REFS references a part, run_kernel and a one-run simulate_many split
    LRU's run (a part per thread), with the misses of the run in one piece."""
    from vmsim.engine.kernels import SPLIT_MIN_REFS
    from vmsim.engine.simulate import simulate_many

    rng = np.random.default_rng(5)
    prep = Prepared.from_pages(rng.zipf(1.3, 2 * SPLIT_MIN_REFS) % 50_000)
    whole, _ = run_kernel("lru", prep, 2000)
    parts: list[tuple[int, int]] = []
    original = lru._lru_part

    def spy(prep: Prepared, frames: int, flags: np.ndarray, lo: int, hi: int) -> int:
        parts.append((lo, hi))
        return original(prep, frames, flags, lo, hi)

    monkeypatch.setattr(lru, "_lru_part", spy)
    assert run_kernel("lru", prep, 2000, threads=2)[0] == whole
    assert sorted(parts) == [(0, SPLIT_MIN_REFS), (SPLIT_MIN_REFS, 2 * SPLIT_MIN_REFS)]
    parts.clear()
    assert run_kernel("lru", prep, 2000, threads=3)[0] == whole  # parts would be too short
    assert parts == []
    (r,) = simulate_many(prep, ["lru"], [2000], workers=2)
    assert r.misses == whole and len(parts) == 2
