"""Warm a process's Numba kernels: load them from the cache (or compile) once, up front.

Below engine/sweep.py and its Dask worker plugin (engine/sweep_worker.py), which both
call it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def warm_kernels(policies: Sequence[str]) -> None:
    """Load (from Numba's cache) or compile each policy's kernel once, on a tiny trace."""
    from vmsim.engine.mrc import lru_curve
    from vmsim.engine.prepared import Prepared
    from vmsim.engine.simulate import run_one

    prep = Prepared(np.array([0, 1, 0, 2, 1, 3], np.int32), 4)
    for p in policies:
        if p == "lru":
            lru_curve(prep, [1, 2])
        else:
            run_one(prep, p, 2)
