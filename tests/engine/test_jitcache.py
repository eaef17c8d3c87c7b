"""Numba's cache loaded lightly: a warm start runs cached kernels without the registries."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

CODE = """
import sys
import numpy as np
import vmsim
trace = sys.argv[1] if len(sys.argv) > 1 else np.array([1, 2, 3, 1, 4, 1, 2])
r = vmsim.simulate(trace, "lru", 3)
heavy = sorted(m for m in sys.modules if m in ("numba.typed.typeddict", "numba.np.linalg"))
print("RESULT", r.misses, heavy)
"""


def _trace(kind: str, tmp_path: Path) -> list[str]:
    """CODE's argument: none (a page array), or a file of the same pages."""
    pages = [1, 2, 3, 1, 4, 1, 2]
    if kind == "array":
        return []
    if kind == "oracle":
        path = tmp_path / "t.oracleGeneral"
        path.write_bytes(b"".join(struct.pack("<IQIq", 0, p, 1, -1) for p in pages))
    else:
        path = tmp_path / "t.lackey"
        path.write_text("".join(f" L {p << 12:08x},4\n" for p in pages))
    return [str(path)]


@pytest.mark.parametrize("kind", ["array", "oracle", "lackey"])
def test_a_warm_start_loads_the_cache_without_the_registries(kind: str, tmp_path: Path) -> None:
    """A page array, and two files whose readers have Numba functions of their own."""
    args = _trace(kind, tmp_path)
    runs = [
        subprocess.run(
            [sys.executable, "-c", CODE, *args], capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert "RESULT 5 " in runs[0].stdout  # the first run may compile (then it loads everything)
    assert "RESULT 5 []" in runs[1].stdout
