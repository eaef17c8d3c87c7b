"""The whole command: `vmsim simulate` against libCacheSim's replay, start-up included.

One trace, 10 million references Zipf(0.9) over 1 million pages (seeded, as
bench_engine.py), written once as libCacheSim's oracleGeneral binary file; both read
that same file. vmsim: `vmsim simulate TRACE -p lru -f 1000,10000 --json` in a fresh
interpreter. libCacheSim 0.3.5 ships no command-line replay (its Python package has
no entry point), so its whole command is a fresh `python -c` that imports the package
and replays the trace through `LRU(frames)` at each size (`process_trace`). The two
commands run interleaved (the load of a shared machine hits both alike), after one
unmeasured run of each (Numba's cache and Python's bytecode cache warm, as on an
installed copy, even where PYTHONDONTWRITEBYTECODE is set; the file in the page
cache); figures are the best of --repeat wall times, with each child's CPU time
(user + sys) beside.
The miss counts of both must agree (the script fails otherwise).

    python benchmarks/bench_start.py [--repeat 7] [--refs 10000000] [--frames 1000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from childenv import installed_env

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

LCS = """
import sys, libcachesim as lcs
for f in map(int, sys.argv[2].split(",")):
    r = lcs.TraceReader(sys.argv[1], lcs.TraceType.ORACLE_GENERAL_TRACE)
    ratio, _ = lcs.LRU(f, hashpower=16).process_trace(r)
    print(f, round(ratio * int(sys.argv[3])))
"""


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(wall, CPU, stdout) of cmd, CPU from the child's rusage (bytecode cached, as installed)."""
    env = installed_env()
    before = os.times()
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t
    after = os.times()
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed: {r.stderr.strip()}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, r.stdout


def make_trace(path: Path, refs: int) -> None:
    """The Zipf(0.9) trace of bench_engine.py as an oracleGeneral file."""
    sys.path.insert(0, str(HERE))
    from bench_engine import oracle_general
    from vmsim.trace.synth import zipf_pages

    oracle_general(zipf_pages(refs, 1_000_000, 0.9, seed=2024), path)


def main(argv: list[str]) -> int:
    """Time both commands interleaved; print a markdown table; exit 1 on a miss mismatch."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--refs", type=int, default=10_000_000)
    ap.add_argument("--frames", default="1000,10000")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    trace = OUT / f"start-zipf-{args.refs}.oracleGeneral.bin"
    if not trace.exists():
        make_trace(trace, args.refs)
    py = sys.executable
    cmds = {
        "vmsim simulate": [py, "-m", "vmsim.cli.main", "simulate", str(trace), "-p", "lru",
                           "-f", args.frames, "--json"],
        "libCacheSim (python -c)": [py, "-c", LCS, str(trace), args.frames, str(args.refs)],
    }  # fmt: skip
    best = {k: (float("inf"), float("inf")) for k in cmds}
    outs = {k: run(c)[2] for k, c in cmds.items()}  # warm-up: Numba's cache, the page cache
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        for k, c in cmds.items():
            wall, cpu, _ = run(c)
            best[k] = (min(best[k][0], wall), min(best[k][1], cpu))
        loads.append(os.getloadavg()[0])
    vm = {r["frames"]: r["misses"] for r in json.loads(outs["vmsim simulate"])}
    lcs = dict(
        tuple(map(int, line.split())) for line in outs["libCacheSim (python -c)"].splitlines()
    )
    peer = best["libCacheSim (python -c)"]
    print(f"{args.refs:,} references, LRU at {args.frames} frames; best of {args.repeat}, "
          f"load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    print("| command | wall s | CPU s | wall ratio | CPU ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for k, (wall, cpu) in best.items():
        print(f"| {k} | {wall:.3f} | {cpu:.3f} | {peer[0] / wall:.2f}x | {peer[1] / cpu:.2f}x |")
    print(f"misses: vmsim {vm}, libCacheSim {lcs}")
    if vm != lcs:
        print("MISMATCH: vmsim and libCacheSim disagree on a miss count", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
