"""Shared fixtures: paths to the reference data in ../shared/refs."""

from __future__ import annotations

import lzma
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/toolcheck.py, for every directory


def refs_dir() -> Path:
    """$VMSIM_REFS, else ../shared/refs beside the repository, else the copy in tests/refs."""
    env = os.environ.get("VMSIM_REFS")
    if env:
        return Path(env)
    shared = REPO.parent / "shared" / "refs"
    return shared if shared.is_dir() else REPO / "tests" / "refs"


REFS = refs_dir()

settings.register_profile("default", deadline=None, max_examples=60)
settings.load_profile("default")


@pytest.fixture(scope="session")
def refs() -> Path:
    """The directory of reference data (textbook outputs, real traces)."""
    if not REFS.is_dir():
        pytest.fail(f"reference data not found at {REFS} (set VMSIM_REFS)")
    return REFS


GZIP_TRACE = "traces/gzip_16k.lackey.xz"


@pytest.fixture(scope="session")
def gzip_trace(refs: Path) -> tuple[np.ndarray, np.ndarray]:
    """The real gzip trace as (addresses, kinds), parsed here in plain Python.

    Deliberately independent of vmsim's own trace readers, so tests of the machine do
    not depend on them. Kinds: 0 I, 1 L, 2 S, 3 M (vmsim.kinds.AccessKind).
    """
    kinds = {"I": 0, "L": 1, "S": 2, "M": 3}
    addrs: list[int] = []
    ks: list[int] = []
    with lzma.open(refs / GZIP_TRACE, "rt") as f:
        for line in f:
            if line.startswith("=="):
                continue
            addrs.append(int(line[3:].split(",", 1)[0], 16))
            ks.append(kinds[line[:2].strip()])
    return np.array(addrs, dtype=np.int64), np.array(ks, dtype=np.uint8)


FIGURE_ROW = (
    r"\|\s*(data references only.*?: )?(LRU|FIFO)( misses)? at 16 / 64 / 256[^|]*"
    r"\|([^|]+)\|"
)


@pytest.fixture(scope="session")
def gzip_figures(refs: Path) -> dict[tuple[str, bool, int], int]:
    """Misses from the trace README's table: (policy, data_only, frames) -> misses."""
    text = (refs / "traces/README.md").read_text()
    out: dict[tuple[str, bool, int], int] = {}
    for line in text.splitlines():
        m = re.match(FIGURE_ROW, line)
        if m:
            values = [int(v.replace(",", "")) for v in m.group(4).split("/")]
            for frames, v in zip((16, 64, 256), values, strict=True):
                out[(m.group(2).lower(), m.group(1) is not None, frames)] = v
    assert len(out) == 12, f"could not read the figures of traces/README.md: {out}"
    return out


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The matplotlib figures the command saves (they are still written)."""
    from matplotlib.figure import Figure

    saved: list[Any] = []
    original = Figure.savefig

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return saved
