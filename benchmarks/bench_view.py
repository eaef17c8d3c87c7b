"""The page of a 1,000,000-event recording: file size, time to open, time to seek.

A trace with locality (a random walk over 160 pages, so TLB hits, misses, faults,
evictions and swap I/O all happen) is replayed on a small machine recording exactly
EVENTS events; the page is opened in headless Chromium (Playwright driving Debian's
chromium) and seeks to SEEKS random steps, each timed with the layout of what it drew.
Targets (issue 13): opens in under 3 s, seeks in under 100 ms, under 20 MB per million
events. Recording and saving are CPU seconds (process_time), beside the same replay
unrecorded; the load average is printed with the figures.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vmsim

EVENTS = int(os.environ.get("VMSIM_BENCH_VIEW_EVENTS", 1_000_000))
SEEKS = 200
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def trace(n: int, pages: int = 160, seed: int = 1) -> np.ndarray:
    """n addresses: a random walk over `pages` pages, several references per page."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(-3, 4, n // 4 + 1)
    page = np.mod(np.cumsum(steps), pages)
    addrs = np.repeat(page, 4)[:n] * 4096 + 0x10000000 + rng.integers(0, 4096, n) // 8 * 8
    return addrs.astype(np.int64)


def record(path: Path) -> dict[str, float]:
    """Record EVENTS events of a replay and save the page: CPU seconds of each, events."""
    addrs = trace(EVENTS)
    with vmsim.Machine(memory="512KiB", swap="1MiB", tlb_entries=16, tlb_ways=4,
                       record_events=True, overcommit="always") as m:  # fmt: skip
        p = m.spawn("walk", replay=True, memory_limit=64 * 4096)
        t0 = time.process_time()
        p.replay(addrs)
        plain = time.process_time() - t0
    with vmsim.Machine(memory="512KiB", swap="1MiB", tlb_entries=16, tlb_ways=4,
                       record_events=True, overcommit="always") as m:  # fmt: skip
        rec = m.record(count=EVENTS)
        p = m.spawn("walk", replay=True, memory_limit=64 * 4096)
        t0 = time.process_time()
        p.replay(addrs)
        recorded = time.process_time() - t0
        t0 = time.process_time()
        m.save_html(path, "bench_view")
        saved = time.process_time() - t0
    return {"events": rec.steps, "run_cpu_s": plain, "record_cpu_s": recorded,
            "save_cpu_s": saved}  # fmt: skip


def measure(path: Path) -> dict[str, float]:
    """Open the page (until it is ready) and seek to random steps, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True
        )
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=120_000)
        opened = time.perf_counter() - t0
        n = page.evaluate("vmsim.steps()")
        rng = random.Random(7)
        times = page.evaluate(
            """steps => steps.map(i => {
                const t = performance.now();
                vmsim.seek(i);
                document.body.offsetHeight;  // the layout of what seek drew
                return performance.now() - t; })""",
            [rng.randrange(n + 1) for _ in range(SEEKS)],
        )
        ctx.close()
    return {"open_s": opened, "seek_ms_median": statistics.median(times),
            "seek_ms_p95": statistics.quantiles(times, n=20)[-1],
            "seek_ms_max": max(times)}  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.html"
        rec = record(path)
        size = path.stat().st_size
        events = int(rec.pop("events"))
        figures = {
            "events": events,
            **{k: round(v, 1) for k, v in rec.items()},
            "mb": round(size / 1e6, 2),
            "mb_per_million_events": round(size / 1e6 * 1e6 / max(1, events), 2),
            **{k: round(v, 3) for k, v in measure(path).items()},
            "load": os.getloadavg()[0],
        }
    if "--json" in sys.argv:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:24} {v}")
    ok = figures["open_s"] < 3 and figures["seek_ms_max"] < 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
