"""Golden figures of real traces: the README of the gzip trace, and traces recorded here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vmsim
from vmsim.engine.source import PageOptions, prepare
from vmsim.policies import make_policy
from vmsim.policies.reference import replay

DATA = Path(__file__).resolve().parents[1] / "data"

# ../shared/refs/traces/README.md
README = {
    False: {"lru": [20_850, 343, 201], "fifo": [29_471, 490, 201]},
    True: {"lru": [17_417, 145, 120], "fifo": [23_022, 190, 120]},
}


@pytest.fixture(scope="module")
def gzip_trace(refs: Path) -> Path:
    return refs / "traces" / "gzip_16k.lackey.xz"


@pytest.mark.parametrize("data_only", [False, True])
def test_gzip_readme_figures(gzip_trace: Path, data_only: bool) -> None:
    results = vmsim.simulate(gzip_trace, ["lru", "fifo"], [16, 64, 256], data_only=data_only)
    got = {p: [r.misses for r in results if r.policy == p] for p in ("lru", "fifo")}
    assert got == README[data_only]


def test_gzip_readme_counts(gzip_trace: Path) -> None:
    from vmsim.engine.info import trace_info

    info = trace_info(vmsim.open_trace(gzip_trace))
    assert info.references == 2_343_739
    assert (info.distinct_pages, info.code_pages, info.data_pages) == (201, 81, 120)


def test_gzip_reference_replay_agrees_independently(gzip_trace: Path) -> None:
    """The plain-Python replay on the data references gives the README's figures too."""
    pages = vmsim.open_trace(gzip_trace).pages(data_only=True)
    assert replay(pages, make_policy("lru"), 64).misses == 145
    assert replay(pages, make_policy("fifo"), 16).misses == 23_022


GOLDEN = json.loads((DATA / "golden.json").read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
@pytest.mark.parametrize("mode", ["all", "data_only"])
def test_recorded_traces(name: str, mode: str) -> None:
    figures = GOLDEN[name][mode]
    trace = vmsim.open_trace(DATA / name)
    prep = prepare(trace, PageOptions(12, data_only=mode == "data_only"))
    assert len(prep) == GOLDEN[name]["references" if mode == "all" else "data_references"]
    for policy, by_frames in figures.items():
        opts = {"load_sets_refbit": False} if policy == "clock" else {}
        for frames, misses in by_frames.items():
            got = vmsim.simulate(prep, policy, int(frames), **opts).misses
            assert got == misses, (policy, frames)


def test_lru_curve_matches_golden_lru() -> None:
    for name, entry in GOLDEN.items():
        curve = vmsim.miss_ratio_curve(DATA / name, data_only=True)
        for frames, misses in entry["data_only"]["lru"].items():
            assert curve.at(int(frames)) == misses


def test_array_input_equals_file_input() -> None:
    trace = vmsim.open_trace(DATA / "ls.lackey.xz")
    pages = trace.pages()
    assert (
        vmsim.simulate(np.asarray(pages), "opt", 64).misses
        == GOLDEN["ls.lackey.xz"]["all"]["opt"]["64"]
    )


def test_every_golden_figure_states_its_source() -> None:
    """Issue 10: which tool, which version, which command made each figure."""
    for name, entry in GOLDEN.items():
        sources = entry["sources"]
        assert "valgrind 3.19.0" in sources["trace"], name
        for mode in ("all", "data_only"):
            for policy in entry[mode]:
                src = sources[policy]
                assert "make_golden.py" in src, (name, policy)
                if policy in {"mru", "random", "2q", "lirs"}:
                    assert "test_golden_independent.py" in src, (name, policy)
                else:
                    assert "libCacheSim 0.3.5" in src, (name, policy)
