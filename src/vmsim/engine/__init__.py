"""vmsim.engine: the trace-driven engine (see ../shared/DESIGN.md).

- api.py: vmsim.open_trace, vmsim.simulate, vmsim.miss_ratio_curve
- kernels/: one Numba kernel per replacement policy, registered by policy name
- simulate.py: (policy, frames) runs, in parallel worker processes when worth it
- stackdist.py, mrc.py: the exact LRU curve in one pass, SHARDS, curves of any policy
- tlb.py, working_set.py, info.py: TLB misses and reach, W(t, tau), trace figures
- ids.py, prepared.py, source.py: from a trace to the dense page ids kernels run on
"""

import vmsim.jitcache  # noqa: F401  (Numba imported first, as vmsim.jitcache imports it)
