"""vmsim's engine against libCacheSim, side by side in one run, and the readers' speed.

Traces: 10 million references, Zipf(0.9) and uniform over 1 million pages, generated
here from fixed seeds (vmsim.trace.synth). libCacheSim (in the `dev` extra) reads them
from its own binary oracleGeneral format (with next-access times, which its Belady
needs), caches built with hashpower=16, object size 1 and cache size = frames;
vmsim runs `vmsim.simulate(pages, policy, frames)` on the page array, end to end
(dense ids and, for OPT, next uses included). Every miss count must be identical
(the script fails otherwise). Times are the best of --repeat runs, the two
simulators interleaved, so that the load of a shared machine hits both alike.

Also measured: the exact LRU curve (all sizes) against libCacheSim's LRU at one
size; SHARDS; lackey text parsed from a zstd file; .vmt read back; the other
policies (informational: their miss counts are compared, not required to match).

    python benchmarks/bench_engine.py [--repeat 3] [--refs 10000000] [--markdown out.md]
"""

from __future__ import annotations

import argparse
import lzma
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from refsdir import refs_dir

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
REFS = refs_dir() / "traces" / "gzip_16k.lackey.xz"
FRAMES = (1_000, 10_000, 100_000)
CORE = ("lru", "fifo", "clock", "opt")
SPLITS = ("lru",)
"""Core policies whose run splits over threads (State.run_parts): timed on 2 threads too."""
TARGET = {"lru": 3.0, "fifo": 3.0, "clock": 3.0, "opt": 3.0}


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(best wall time, last result) over `repeat` runs."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def oracle_general(pages: np.ndarray, path: Path) -> None:
    """Write pages as libCacheSim's oracleGeneral binary trace (with next-access times)."""
    n = len(pages)
    order = np.argsort(pages, kind="stable")
    nxt = np.full(n, -1, np.int64)
    same = pages[order[1:]] == pages[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    rec = np.zeros(n, np.dtype([("t", "<u4"), ("id", "<u8"), ("sz", "<u4"), ("nx", "<i8")]))
    rec["t"] = np.arange(n)
    rec["id"] = pages
    rec["sz"] = 1
    rec["nx"] = nxt
    rec.tofile(path)


LCS_CLASSES = {
    "lru": "LRU",
    "fifo": "FIFO",
    "clock": "Clock",
    "opt": "Belady",
    "lfu": "LFU",
    "arc": "ARC",
    "2q": "TwoQ",
    "lirs": "LIRS",
    "sieve": "Sieve",
}


def lcs_run(path: Path, policy: str, frames: int, n: int) -> int:
    """Misses of libCacheSim's policy on the oracleGeneral trace."""
    import libcachesim as lcs

    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = getattr(lcs, LCS_CLASSES[policy])(frames, hashpower=16)
    ratio, _ = cache.process_trace(reader)
    return round(ratio * n)


def vm_options(policy: str) -> dict[str, Any]:
    """vmsim options matching libCacheSim's variant (Clock: reference bit clear on load)."""
    return {"load_sets_refbit": False} if policy == "clock" else {}


def compare(
    name: str,
    pages: np.ndarray,
    repeat: int,
    rows: list[dict[str, Any]],
) -> bool:
    """Core policies at every size, both simulators (for SPLITS, the kernel on 2 threads
    too: a row's split_mps); append rows; False on a mismatch."""
    import vmsim
    from vmsim.engine.kernels import run_kernel
    from vmsim.engine.prepared import Prepared

    path = OUT / f"{name}.oracleGeneral.bin"
    oracle_general(pages, path)
    n = len(pages)
    prep = Prepared.from_pages(pages)
    _ = prep.next_use
    ok = True
    for policy in CORE:
        for frames in FRAMES:
            vmsim.simulate(pages[:1000], policy, 10, **vm_options(policy))  # compiled before timing
            t_lcs = t_vm = t_kernel = t_split = float("inf")
            m_lcs = m_vm = -1
            for _ in range(repeat):
                t0 = time.perf_counter()
                m_lcs = lcs_run(path, policy, frames, n)
                t1 = time.perf_counter()
                m_vm = vmsim.simulate(pages, policy, frames, **vm_options(policy)).misses
                t2 = time.perf_counter()
                run_kernel(policy, prep, frames, **vm_options(policy))
                t3 = time.perf_counter()
                if policy in SPLITS:  # the kernel split over 2 threads, miss for miss
                    m_split, _ = run_kernel(policy, prep, frames, threads=2)
                    assert m_split == m_vm, (policy, frames, m_split, m_vm)
                    t_split = min(t_split, time.perf_counter() - t3)
                t_lcs, t_vm, t_kernel = (
                    min(t_lcs, t1 - t0),
                    min(t_vm, t2 - t1),
                    min(t_kernel, t3 - t2),
                )
            same = m_lcs == m_vm
            ok &= same
            rows.append(
                {
                    "trace": name,
                    "policy": policy,
                    "frames": frames,
                    "misses": m_vm,
                    "libcachesim_misses": m_lcs,
                    "same": same,
                    "lcs_mps": n / t_lcs / 1e6,
                    "vm_mps": n / t_vm / 1e6,
                    "kernel_mps": n / t_kernel / 1e6,
                    "ratio": t_lcs / t_vm,
                    "kernel_ratio": t_lcs / t_kernel,
                    "lcs_s": t_lcs,
                    **({"split_mps": n / t_split / 1e6} if policy in SPLITS else {}),
                }
            )
            r = rows[-1]
            print(
                f"{name:8} {policy:6} {frames:>7} misses {m_vm:>9}"
                f" {'==' if same else '!='} {m_lcs:>9}"
                f"  libCacheSim {r['lcs_mps']:6.1f} M/s  vmsim {r['vm_mps']:6.1f} M/s"
                f" (kernel {r['kernel_mps']:6.1f})  x{r['ratio']:.1f}",
                flush=True,
            )
    return ok


def curves(
    name: str, pages: np.ndarray, repeat: int, rows: list[dict[str, Any]], out: list[dict[str, Any]]
) -> None:
    """Exact LRU curve time vs libCacheSim's LRU at each size; SHARDS time and error."""
    import vmsim
    from vmsim.engine.mrc import default_sizes

    vmsim.miss_ratio_curve(pages[:1000])
    path = OUT / f"{name}.oracleGeneral.bin"
    t_exact = t_lcs = float("inf")
    for _ in range(repeat):  # interleaved with libCacheSim's LRU at 1,000 frames
        t0 = time.perf_counter()
        lcs_run(path, "lru", 1000, len(pages))
        t1 = time.perf_counter()
        curve = vmsim.miss_ratio_curve(pages)
        t2 = time.perf_counter()
        t_lcs, t_exact = min(t_lcs, t1 - t0), min(t_exact, t2 - t1)
    lru = {r["frames"]: r for r in rows if r["trace"] == name and r["policy"] == "lru"}
    for f, r in lru.items():
        assert curve.at(f) == r["misses"], (name, f)
    lcs_times = {f: r["lcs_s"] for f, r in lru.items()}
    lcs_times[1000] = min(lcs_times[1000], t_lcs)
    sizes = default_sizes(int(curve.sizes[-1]), 40)
    entry: dict[str, Any] = {
        "trace": name,
        "exact_s": t_exact,
        "sizes": len(curve.sizes),
        "lcs_lru_s": lcs_times,
    }
    for rate in (0.01, 0.001):
        t_sh, sh = best_of(
            repeat,
            lambda rate=rate: vmsim.miss_ratio_curve(
                pages, method="shards", rate=rate, sizes=sizes
            ),
        )
        keep = sh.sizes >= 10 / rate  # SHARDS leaves out the sizes below 1 / rate
        err = np.abs(sh.miss_ratios - curve.miss_ratios[sh.sizes - 1])[keep]
        entry[f"shards_{rate}"] = {"s": t_sh, "mae": float(err.mean()), "max": float(err.max())}
    out.append(entry)
    print(
        f"{name:8} exact LRU curve, {len(curve.sizes):,} sizes: {t_exact:.3f} s;"
        f" libCacheSim LRU at one size: "
        + ", ".join(f"{f}: {s:.3f} s" for f, s in entry["lcs_lru_s"].items())
        + "; SHARDS 1%: "
        + f"{entry['shards_0.01']['s']:.3f} s (MAE {entry['shards_0.01']['mae']:.4f})",
        flush=True,
    )


def others(name: str, pages: np.ndarray, repeat: int, rows: list[dict[str, Any]]) -> None:
    """Other policies at 10,000 frames: both simulators interleaved, best of `repeat`, the
    kernel alone too, and whether the misses agree."""
    import vmsim
    from vmsim.engine.kernels import run_kernel
    from vmsim.engine.prepared import Prepared

    path = OUT / f"{name}.oracleGeneral.bin"
    n = len(pages)
    prep = Prepared.from_pages(pages)
    for policy in ("lfu", "arc", "2q", "lirs", "sieve", "random", "mru"):
        vmsim.simulate(pages[:1000], policy, 10)
        t_vm = t_kernel = t_lcs = float("inf")
        m_vm = m_lcs = -1
        for _ in range(repeat):
            if policy in LCS_CLASSES:
                t0 = time.perf_counter()
                m_lcs = lcs_run(path, policy, 10_000, n)
                t_lcs = min(t_lcs, time.perf_counter() - t0)
            t0 = time.perf_counter()
            m_vm = vmsim.simulate(pages, policy, 10_000).misses
            t1 = time.perf_counter()
            run_kernel(policy, prep, 10_000)
            t2 = time.perf_counter()
            t_vm, t_kernel = min(t_vm, t1 - t0), min(t_kernel, t2 - t1)
        row: dict[str, Any] = {
            "trace": name,
            "policy": policy,
            "misses": m_vm,
            "vm_mps": n / t_vm / 1e6,
            "kernel_mps": n / t_kernel / 1e6,
        }
        if policy in LCS_CLASSES:
            row["libcachesim_misses"] = m_lcs
            row["lcs_mps"] = n / t_lcs / 1e6
        rows.append(row)
        print(
            f"{name:8} {policy:6} 10000: vmsim {m_vm} ({row['vm_mps']:.1f} M/s, kernel"
            f" {row['kernel_mps']:.1f}) libCacheSim {row.get('libcachesim_misses', '-')}"
            f" ({row.get('lcs_mps', 0):.1f} M/s)",
            flush=True,
        )


def readers(repeat: int) -> dict[str, float]:
    """Lackey text from a zstd file (lines/s), and .vmt read back (references/s)."""
    import zstandard

    from vmsim.trace import Trace
    from vmsim.trace.vmt import VmtWriter

    text = OUT / "lackey8.lackey.zst"
    if not text.exists():
        with lzma.open(REFS) as f:
            one = f.read()
        with open(text, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as w:
            for _ in range(8):
                w.write(one)
    lines = 8 * 2_343_764
    t_lackey, n = best_of(repeat, lambda: sum(len(c) for c in Trace(text).chunks()))
    vmt = OUT / "lackey8.vmt"
    with VmtWriter(vmt) as w:
        for c in Trace(text).chunks():
            w.write(c)
    t_vmt, n2 = best_of(repeat, lambda: sum(len(c) for c in Trace(vmt).chunks()))
    assert n == n2 == 8 * 2_343_739
    text_bytes = 8 * 33_060_219
    res = {
        "lackey_lines_per_s": lines / t_lackey,
        "vmt_refs_per_s": n2 / t_vmt,
        "vmt_bytes": vmt.stat().st_size,
        "text_bytes": text_bytes,
        "zst_bytes": text.stat().st_size,
    }
    print(
        f"lackey from zstd: {res['lackey_lines_per_s'] / 1e6:.1f} M lines/s;"
        f" .vmt: {res['vmt_refs_per_s'] / 1e6:.1f} M refs/s,"
        f" {text_bytes / res['vmt_bytes']:.0f}x smaller than the text",
        flush=True,
    )
    return res


def _core_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the core policies."""
    out = [
        "| trace | policy | frames | misses (both) | libCacheSim M/s | vmsim M/s (kernel)"
        " | ratio (kernel) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "frames" in r:
            out.append(
                f"| {r['trace']} | {r['policy']} | {r['frames']:,} | {r['misses']:,} |"
                f" {r['lcs_mps']:.1f} | {r['vm_mps']:.1f} ({r['kernel_mps']:.1f}) |"
                f" {r['ratio']:.1f}x ({r['kernel_ratio']:.1f}x) |"
            )
    return out


def _split_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the kernels split over 2 threads (the rows with a split_mps)."""
    out = [
        "| trace | policy | frames | libCacheSim M/s | kernel, 1 thread M/s (ratio)"
        " | kernel, 2 threads M/s (ratio) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in (r for r in rows if "split_mps" in r):
        lcs = r["lcs_mps"]
        out.append(
            f"| {r['trace']} | {r['policy']} | {r['frames']:,} | {lcs:.1f} |"
            f" {r['kernel_mps']:.1f} ({r['kernel_mps'] / lcs:.1f}x) |"
            f" {r['split_mps']:.1f} ({r['split_mps'] / lcs:.1f}x) |"
        )
    return out


def _curve_table(curve_rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the curves."""
    out = [
        "| trace | exact LRU curve, all sizes | libCacheSim LRU at 1,000 / 10,000 / 100,000"
        " | SHARDS 1% (MAE) | SHARDS 0.1% (MAE) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in curve_rows:
        lcs = c["lcs_lru_s"]
        s1, s2 = c["shards_0.01"], c["shards_0.001"]
        out.append(
            f"| {c['trace']} | {c['exact_s']:.3f} s ({c['sizes']:,} sizes) |"
            f" {lcs[1000]:.3f} / {lcs[10000]:.3f} / {lcs[100000]:.3f} s |"
            f" {s1['s']:.3f} s ({s1['mae']:.4f}) | {s2['s']:.3f} s ({s2['mae']:.4f}) |"
        )
    return out


def _other_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the other policies."""
    out = [
        "| trace | policy, 10,000 frames | vmsim misses | libCacheSim misses | vmsim M/s (kernel)"
        " | libCacheSim M/s | ratio (kernel) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "frames" in r:
            continue
        vm = f"{r['vm_mps']:.1f} ({r['kernel_mps']:.1f})"
        if r.get("libcachesim_misses") is None:
            out.append(f"| {r['trace']} | {r['policy']} | {r['misses']:,} | - | {vm} | - | - |")
            continue
        ratio = f"{r['vm_mps'] / r['lcs_mps']:.1f}x ({r['kernel_mps'] / r['lcs_mps']:.1f}x)"
        out.append(
            f"| {r['trace']} | {r['policy']} | {r['misses']:,} | {r['libcachesim_misses']:,} |"
            f" {vm} | {r['lcs_mps']:.1f} | {ratio} |"
        )
    return out


def markdown(
    rows: list[dict[str, Any]],
    curve_rows: list[dict[str, Any]],
    rd: dict[str, float],
    n: int,
) -> str:
    """The Engine section of BENCHMARKS.md."""
    text_mb = rd["text_bytes"] / 1e6
    lines = [
        f"Traces: {n / 1e6:.0f} M references over 1 M pages, Zipf(0.9) and uniform (seeded).",
        "Million references per second, best of the interleaved runs; vmsim end to end",
        "(`vmsim.simulate` on the page array: dense ids and OPT's next uses included),",
        "the kernel alone in brackets, on one thread (`vmsim.simulate` splits an LRU run",
        "over the cores its other runs leave idle: both of them here). The miss counts of",
        "both are identical in every row.",
        "",
        *_core_table(rows),
        "",
        "LRU's kernel alone split over 2 threads (State.run_parts), miss for miss as one run:",
        "",
        *_split_table(rows),
        "",
        *_curve_table(curve_rows),
        "",
        *_other_table(rows),
        "",
        f"Readers: lackey text from a zstd file (the gzip trace 8 times, {8 * 2_343_764:,}"
        f" lines): {rd['lackey_lines_per_s'] / 1e6:.1f} M lines/s. The same trace as .vmt:"
        f" {rd['vmt_bytes'] / 1e6:.1f} MB, {rd['text_bytes'] / rd['vmt_bytes']:.0f}x smaller"
        f" than the lackey text ({text_mb:.0f} MB; {rd['zst_bytes'] / 1e6:.1f} MB as zstd -3"
        f" text), read back at {rd['vmt_refs_per_s'] / 1e6:.0f} M references/s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Run everything; exit 1 if a miss count differs."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--refs", type=int, default=10_000_000)
    ap.add_argument("--markdown", type=Path, default=OUT / "engine.md")
    args = ap.parse_args(argv)
    try:
        import libcachesim  # noqa: F401
    except ImportError:
        print("libcachesim is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    from vmsim.trace.synth import uniform_pages, zipf_pages

    OUT.mkdir(exist_ok=True)
    traces = {
        "zipf0.9": zipf_pages(args.refs, 1_000_000, 0.9, seed=2024),
        "uniform": uniform_pages(args.refs, 1_000_000, seed=2024),
    }
    rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    ok = True
    for name, pages in traces.items():
        ok &= compare(name, pages, args.repeat, rows)
        curves(name, pages, args.repeat, rows, curve_rows)
        others(name, pages, args.repeat, rows)
    rd = readers(args.repeat)
    md = markdown(rows, curve_rows, rd, args.refs)
    args.markdown.write_text(md)
    print(md)
    if not ok:
        print("MISMATCH: vmsim and libCacheSim disagree on a miss count", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
