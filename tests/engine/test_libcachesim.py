"""vmsim's kernels against libCacheSim (an independent simulator), miss for miss.

On the real traces of tests/data (all references and data only) at 16, 64 and 256
frames, for every policy libCacheSim has in vmsim's definition: lru, fifo, clock (the
reference bit clear on load: libCacheSim's Clock with init_freq 0), opt (its Belady),
lfu, arc and sieve. libcachesim is in the `dev` extra, so `make test` runs this; where
it is missing the test is skipped, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import vmsim
from toolcheck import require
from vmsim.engine.source import PageOptions, prepare

DATA = Path(__file__).resolve().parents[1] / "data"


def _make_golden() -> ModuleType:
    """tests/data/make_golden.py, the one place that drives libCacheSim."""
    spec = importlib.util.spec_from_file_location("make_golden", DATA / "make_golden.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def golden_tools() -> ModuleType:
    try:
        import libcachesim  # noqa: F401
    except ImportError:
        require(False, "libcachesim (pip install -e '.[dev]')")
    return _make_golden()


@pytest.mark.slow
@pytest.mark.parametrize("trace", ["ls.lackey.xz", "walk.lackey.xz"])
@pytest.mark.parametrize("data_only", [False, True])
def test_kernels_equal_libcachesim(
    golden_tools: ModuleType, trace: str, data_only: bool, tmp_path: Path
) -> None:
    prep = prepare(vmsim.open_trace(DATA / trace), PageOptions(12, data_only=data_only))
    path = str(tmp_path / "t.oracleGeneral")
    golden_tools.write_oracle_general(prep.ids.astype("int64"), path)
    for policy in golden_tools.LCS_CLASSES:
        opts = {"load_sets_refbit": False} if policy == "clock" else {}
        for frames in (16, 64, 256):
            ours = vmsim.simulate(prep, policy, frames, **opts).misses
            theirs = golden_tools.lcs_misses(path, len(prep), policy, frames)
            assert ours == theirs, (policy, frames)
