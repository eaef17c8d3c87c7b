"""Traces larger than memory: 2 billion references over 1 million pages, streamed.

The trace is generated on the fly in chunks (nothing of it is kept): a pool of
POOL references (half uniform over the 1 M pages, half from a 10,000-page hot window
that slides across them) is drawn once from a fixed seed, and chunk k is the pool's
slice rotated by k * 7919 pages, so the pages keep moving and the trace never repeats
within 2 B references. Each chunk goes through vmsim.engine.stream.Stream: the page
numbers (sparse, 2**40 apart from 0) are mapped to dense ids by the growing PageIdMap,
then fed to the kernel states (lru, fifo, clock at --frames) or the exact LRU curve's
stack distances, exactly as `vmsim simulate` / `vmsim mrc` stream a trace file past
the in-memory threshold.

All of --what run in the same pass (one read of the trace, as `vmsim simulate` does
for several policies), each timed alone. Prints one JSON line: references, CPU seconds
of generation, id map and each kernel, the rates (references per second, whole run and
each kernel alone), the misses at --frames and the peak RSS (getrusage's ru_maxrss);
with --report-every N, a line with the peak RSS every N references. Run it under
`/usr/bin/time -v` for the whole command's peak. With --write-npy, the trace goes to
stdout as a .npy of addresses instead, for the whole command through a pipe:

    python benchmarks/bench_stream.py --refs 200000000 --write-npy \
        | /usr/bin/time -v vmsim simulate - -p lru,fifo,clock -f 100000 --json

    python benchmarks/bench_stream.py --refs 2000000000 --what lru,fifo,clock,curve
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator

import numpy as np

from vmsim.engine.stream import Stream

PAGES = 1_000_000
POOL = 1 << 22
CHUNK = 1 << 20
BASE = 1 << 40


def pool(seed: int = 14) -> np.ndarray:
    """The references every chunk is rotated from (page offsets 0..PAGES-1)."""
    rng = np.random.default_rng(seed)
    uniform = rng.integers(0, PAGES, POOL // 2)
    window = np.arange(POOL // 2) * PAGES // (POOL // 2) + rng.integers(0, 10_000, POOL // 2)
    mixed = np.empty(POOL, np.int64)
    mixed[0::2] = uniform
    mixed[1::2] = window % PAGES
    return mixed


def chunks(refs: int) -> Iterator[np.ndarray]:
    """The trace's chunks of page numbers, made as they are needed."""
    base = pool()
    out = np.empty(CHUNK, np.int64)
    done = 0
    k = 0
    while done < refs:
        n = min(CHUNK, refs - done)
        lo = (k * CHUNK) % POOL
        np.add(base[lo : lo + n], k * 7919, out=out[:n])
        np.remainder(out[:n], PAGES, out=out[:n])
        out[:n] += BASE
        yield out[:n]
        done += n
        k += 1


def main() -> None:
    """Stream the generated trace through policies and the LRU curve; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=int, default=100_000_000)
    ap.add_argument("--what", default="lru,fifo,clock,curve", help="policies and/or curve")
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--report-every", type=int, default=0, help="print RSS every N references")
    ap.add_argument(
        "--write-npy", action="store_true", help="write the trace to stdout as .npy addresses"
    )
    a = ap.parse_args()
    if a.write_npy:
        return write_npy(a.refs)
    what = a.what.split(",")
    policies = [w for w in what if w != "curve"]
    s = Stream([(p, a.frames, {}) for p in policies], curve="curve" in what)
    names = policies + (["curve"] if s.sd is not None else [])
    feeders = [st.feed for st in s.states] + ([s.sd.feed] if s.sd is not None else [])
    cpu = dict.fromkeys(["generate", "idmap", *names], 0.0)
    gen = chunks(a.refs)
    next_report = a.report_every
    refs = 0
    while True:
        t0 = time.process_time()
        pages = next(gen, None)
        t1 = time.process_time()
        cpu["generate"] += t1 - t0
        if pages is None:
            break
        ids = s.idmap.map(pages)
        cpu["idmap"] += time.process_time() - t1
        for name, feed in zip(names, feeders, strict=True):
            t = time.process_time()
            feed(ids, s.idmap.n_ids)
            cpu[name] += time.process_time() - t
        refs += len(ids)
        if a.report_every and refs >= next_report:
            print(json.dumps({"references": refs, "max_rss_mib": _rss_mib(),
                              "cpu_s": round(sum(cpu.values()), 1),
                              "load": os.getloadavg()[0]}), flush=True)  # fmt: skip
            next_report += a.report_every
    s.references = refs
    misses = {r.policy: r.misses for r in s.finish()}
    if s.sd is not None:
        misses["curve"] = int(s.curve([a.frames]).misses[0])
    total = sum(cpu.values())
    print(json.dumps({
        "frames": a.frames, "references": refs, "distinct": s.idmap.n_ids,
        "misses_at_frames": misses, "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        "refs_per_s_whole": round(refs / total),
        "refs_per_s_kernel": {n: round(refs / max(cpu[n], 1e-9)) for n in names},
        "max_rss_mib": _rss_mib(), "load": os.getloadavg()[0],
    }), flush=True)  # fmt: skip


def write_npy(refs: int) -> None:
    """The trace as a .npy of byte addresses (page << 12) on stdout, for `vmsim simulate -`."""
    out = sys.stdout.buffer
    np.lib.format.write_array_header_1_0(
        out, {"descr": "<i8", "fortran_order": False, "shape": (refs,)}
    )
    try:
        for pages in chunks(refs):
            out.write((pages << 12).tobytes())
    except BrokenPipeError:
        pass


def _rss_mib() -> int:
    """This process's peak resident set size so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    sys.exit(main())
