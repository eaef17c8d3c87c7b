"""Numba's cache loaded lightly: a warm start runs cached kernels without the registries."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import numpy as np
import vmsim
r = vmsim.simulate(np.array([1, 2, 3, 1, 4, 1, 2]), "lru", 3)
heavy = sorted(m for m in sys.modules if m in ("numba.typed.typeddict", "numba.np.linalg"))
print("RESULT", r.misses, heavy)
"""


def test_a_warm_start_loads_the_cache_without_the_registries() -> None:
    runs = [
        subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert "RESULT 5 " in runs[0].stdout  # the first run may compile (then it loads everything)
    assert "RESULT 5 []" in runs[1].stdout
