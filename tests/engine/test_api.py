"""The public API: vmsim.open_trace, vmsim.simulate, vmsim.miss_ratio_curve; dense ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vmsim
from vmsim.engine import simulate as sim
from vmsim.engine.ids import PageIdMap, dense_ids
from vmsim.engine.info import trace_info
from vmsim.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200), st.integers(1, 50))
def test_dense_ids_are_a_bijection(pages: list[int], chunk: int) -> None:
    arr = np.array(pages, np.int64)
    ids, n = dense_ids(arr)
    assert len(ids) == len(arr)
    pairs = set(zip(arr.tolist(), ids.tolist(), strict=True))
    assert len({p for p, _ in pairs}) == len({i for _, i in pairs}) == len(pairs)
    assert (ids >= 0).all() and (ids < max(n, 1)).all()
    m = PageIdMap(capacity=2)
    streamed = np.concatenate(
        [m.map(arr[i : i + chunk]) for i in range(0, len(arr), chunk)] or [np.empty(0)]
    )
    assert m.n_ids == len(set(pages))
    assert streamed.tolist() == [sorted(set(pages), key=pages.index).index(p) for p in pages]
    assert m.pages_by_id().tolist() == sorted(set(pages), key=pages.index)


def test_simulate_scalar_list_and_flags() -> None:
    pages = np.array([1, 2, 3, 1, 4, 1, 2])
    r = vmsim.simulate(pages, "lru", 3, record=True)
    assert (r.references, r.misses, r.hits) == (7, 5, 2)
    assert r.miss_flags is not None and r.miss_flags.tolist() == [1, 1, 1, 0, 1, 0, 1]
    rs = vmsim.simulate(pages, ["fifo", "opt"], [2, 3])
    assert [(x.policy, x.frames) for x in rs] == [("fifo", 2), ("fifo", 3), ("opt", 2), ("opt", 3)]
    assert rs[3].to_dict() == {
        "policy": "opt",
        "frames": 3,
        "references": 7,
        "misses": 4,
        "miss_ratio": 4 / 7,
    }


def test_policy_options_pass_through_and_unknown_ones_fail() -> None:
    pages = np.arange(100) % 13
    a = vmsim.simulate(pages, "random", 5, seed=1).misses
    assert a == vmsim.simulate(pages, "random", 5, seed=1).misses
    assert vmsim.simulate(pages, ["random", "lru"], [5], seed=1)[0].misses == a
    with pytest.raises(ConfigError):
        vmsim.simulate(pages, ["lru", "fifo"], [5], seed=1)
    with pytest.raises(ConfigError):
        vmsim.simulate(pages, "lru", [0, 4])
    with pytest.raises(ConfigError):
        vmsim.simulate(np.zeros((2, 2), np.int64), "lru", 4)


def test_parallel_runs_equal_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = vmsim.open_trace(DATA / "ls.lackey.xz").pages()
    serial = vmsim.simulate(pages, ["lru", "opt", "random"], [8, 32], workers=1)
    monkeypatch.setattr(sim, "PARALLEL_MIN_WORK", 0)
    done: list[str] = []
    prep = vmsim.engine.source.prepare(pages)
    parallel = sim.simulate_many(
        prep, ["lru", "opt", "random"], [8, 32], workers=2, on_done=lambda r: done.append(r.policy)
    )
    assert [r.misses for r in parallel] == [r.misses for r in serial]
    assert sorted(done) == sorted(r.policy for r in serial)


def test_open_trace_and_page_options(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("0x0 X\n0xfff R\n0x1000 W\n0x1ffe W\n")
    t = vmsim.open_trace(path)
    assert t.format == "text"
    assert vmsim.simulate(t, "lru", 1).misses == 2
    assert vmsim.simulate(t, "lru", 1, data_only=True).misses == 2
    assert vmsim.simulate(t, "lru", 1, page_shift=0).misses == 4
    assert vmsim.simulate(str(path), "lru", 4, page_shift=13).misses == 1


def test_trace_info_on_recorded_trace() -> None:
    info = trace_info(vmsim.open_trace(DATA / "walk.lackey.xz"))
    assert info.references == sum(info.by_kind.values())
    assert info.distinct_pages <= info.code_pages + info.data_pages
    assert info.footprint == info.distinct_pages * 4096
    assert info.to_dict()["footprint_bytes"] == info.footprint


def test_a_hand_made_prepared_trace_is_checked() -> None:
    from vmsim.engine.prepared import Prepared

    with pytest.raises(ConfigError):
        vmsim.simulate(Prepared(np.array([0, 5], np.int32), 3), "lru", 2)
    with pytest.raises(ConfigError):
        vmsim.simulate(Prepared(np.array([-1], np.int64), 3), "lru", 2)
    assert vmsim.simulate(Prepared(np.array([0, 2, 0], np.int32), 3), "lru", 1).misses == 3
