"""Differential tests: every Numba kernel against the plain-Python reference, miss for miss."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsim.engine.kernels import kernel_names, kernel_spec, run_kernel
from vmsim.engine.prepared import Prepared
from vmsim.errors import ConfigError
from vmsim.policies import make_policy, policy_class, policy_names
from vmsim.policies.reference import replay

traces = st.lists(st.integers(0, 14), min_size=1, max_size=150)


def _reference(pages: list[int], name: str, frames: int, **options: object) -> np.ndarray:
    """Miss flags of the reference replay (policy constructed with frames where it takes them)."""
    lsr = bool(options.pop("load_sets_refbit", True))
    if "frames" in inspect.signature(policy_class(name)).parameters:
        options["frames"] = frames
    return replay(pages, make_policy(name, **options), frames, load_sets_refbit=lsr).miss_trace


ISSUE_POLICIES = {
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


def test_bad_arguments() -> None:
    prep = Prepared.from_pages(np.array([1, 2, 3]))
    with pytest.raises(ConfigError):
        run_kernel("nope", prep, 4)
    with pytest.raises(ConfigError):
        run_kernel("lru", prep, 0)
    with pytest.raises(ConfigError, match="accepts"):
        run_kernel("lru", prep, 4, seed=3)
    assert kernel_spec("random").options == {"seed": 0}
