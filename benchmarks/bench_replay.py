"""The real gzip trace replayed through the whole machine, for every policy.

2,343,739 references (../shared/refs/traces/gzip_16k.lackey.xz) through MMU, TLB,
page faults, reclaim and swap, with a 64-page memory limit. Prints references per
second (of CPU time: time.process_time, the machine is shared) and the
faults of each policy. --policies a,b runs only those.
"""

from __future__ import annotations

import json
import lzma
import sys
import time
from pathlib import Path

import numpy as np

import vmsim
from refsdir import refs_dir
from vmsim.policies import policy_class, policy_names

TRACE = refs_dir() / "traces" / "gzip_16k.lackey.xz"


KINDS = {"I": 0, "L": 1, "S": 2, "M": 3}


def load_trace(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, kinds) of a lackey trace (plain Python, independent of trace/)."""
    addrs, kinds = [], []
    with lzma.open(path, "rt") as f:
        for line in f:
            if not line.startswith("=="):
                addrs.append(int(line[3:].split(",", 1)[0], 16))
                kinds.append(KINDS[line[:2].strip()])
    return np.array(addrs, dtype=np.int64), np.array(kinds, dtype=np.uint8)


def replay(
    policy: str, addrs: np.ndarray, kinds: np.ndarray, frames: int = 64
) -> tuple[float, int]:
    """References per second and faults for one policy."""
    with vmsim.Machine(memory="2MiB", swap="4MiB", policy=policy) as m:
        p = m.spawn(memory_limit=frames * 4096)
        t0 = time.process_time()
        stats = p.replay(addrs, kinds)
        return len(addrs) / (time.process_time() - t0), stats.faults


def _chosen_policies() -> set[str]:
    """The policies named by --policies a,b,c (empty: all of them)."""
    if "--policies" not in sys.argv:
        return set()
    return set(sys.argv[sys.argv.index("--policies") + 1].split(","))


def main() -> int:
    """Every registered policy (or those of --policies a,b); a table, and JSON with --json."""
    if not TRACE.exists():
        print(f"trace not found: {TRACE}", file=sys.stderr)
        return 1
    addrs, kinds = load_trace(TRACE)
    results = {}
    chosen = _chosen_policies()
    for policy in policy_names():
        if chosen and policy not in chosen:
            continue
        if policy_class(policy).remembers_evicted:
            continue  # ARC, 2Q, LIRS run in the engine only (their ghosts name pages)
        rate, faults = replay(policy, addrs, kinds)
        results[policy] = {"refs_per_s": round(rate), "faults": faults}
        print(f"{policy:10s} {rate:12,.0f} refs/s {faults:8,d} faults", flush=True)
    if "--json" in sys.argv:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
