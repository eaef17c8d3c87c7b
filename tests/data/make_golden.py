"""Compute tests/data/golden.json: miss counts of real traces by independent implementations.

Not a test: run it by hand after recording a trace (see README.md in this folder).
Each trace is parsed here line by line in plain Python (not with vmsim's readers),
pages are address >> 12, and every (policy, frames) pair is replayed with the
plain-Python reference (vmsim.policies.reference.replay). Where libCacheSim (the
bench extra) has the same policy, it runs too and must agree: lru, fifo, clock
(reference bit clear on load, libCacheSim's Clock with init_freq 0), opt (its
Belady), lfu, arc and sieve. Its TwoQ and LIRS are variants of their own (its Am
is a separate LRU cache of fixed size; its LIRS bounds the stack differently), so
2q and lirs are checked by the reference replay alone. The engine's Numba kernels
are not used.
"""

from __future__ import annotations

import inspect
import json
import lzma
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from vmsim.policies import make_policy, policy_class
from vmsim.policies.reference import replay

HERE = Path(__file__).resolve().parent
TRACES = ["walk.lackey.xz", "ls.lackey.xz"]
POLICIES = ["lru", "fifo", "clock", "mru", "opt", "random", "lfu", "arc", "2q", "lirs", "sieve"]
FRAMES = [16, 64, 256]
LINE = re.compile(r"^(I | L| S| M) ([0-9a-f]+),(\d+)$")


def parse(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pages, is_data) of a lackey trace, parsed line by line."""
    pages: list[int] = []
    data: list[bool] = []
    with lzma.open(path, "rt") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("=="):
                continue
            m = LINE.match(line)
            if m is None:
                raise ValueError(f"{path}: bad line {line!r}")
            pages.append(int(m.group(2), 16) >> 12)
            data.append(m.group(1) != "I ")
    return np.array(pages, np.int64), np.array(data, bool)


def reference(pages: np.ndarray, policy: str, frames: int) -> int:
    """Misses by the plain-Python reference replay."""
    opts: dict[str, object] = {}
    if "frames" in inspect.signature(policy_class(policy)).parameters:
        opts["frames"] = frames
    lsr = policy != "clock"  # golden clock: accessed bit clear on load (as libCacheSim)
    return replay(pages, make_policy(policy, **opts), frames, load_sets_refbit=lsr).misses


def libcachesim(pages: np.ndarray, policy: str, frames: int) -> int | None:
    """Misses by libCacheSim, or None if it is not installed or has no such policy."""
    try:
        import libcachesim as lcs
    except ImportError:
        return None
    cls = {
        "lru": lcs.LRU,
        "fifo": lcs.FIFO,
        "clock": lcs.Clock,
        "opt": lcs.Belady,
        "lfu": lcs.LFU,
        "arc": lcs.ARC,
        "sieve": lcs.Sieve,
    }.get(policy)
    if cls is None:
        return None
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
    with tempfile.NamedTemporaryFile(suffix=".oracleGeneral") as tmp:
        rec.tofile(tmp.name)
        reader = lcs.TraceReader(tmp.name, lcs.TraceType.ORACLE_GENERAL_TRACE)
        ratio, _ = cls(frames, hashpower=16).process_trace(reader)
    return round(ratio * n)


def main() -> int:
    """Write golden.json."""
    out: dict[str, object] = {}
    for name in TRACES:
        pages, is_data = parse(HERE / name)
        entry: dict[str, object] = {"references": len(pages), "data_references": int(is_data.sum())}
        for label, pp in (("all", pages), ("data_only", pages[is_data])):
            figures: dict[str, dict[str, int]] = {}
            for policy in POLICIES:
                figures[policy] = {}
                for frames in FRAMES:
                    ref = reference(pp, policy, frames)
                    other = libcachesim(pp, policy, frames)
                    if other is not None and other != ref:
                        raise SystemExit(
                            f"{name} {label} {policy} {frames}: reference {ref}"
                            f" != libCacheSim {other}"
                        )
                    figures[policy][str(frames)] = ref
                    print(
                        name,
                        label,
                        policy,
                        frames,
                        ref,
                        "libCacheSim agrees" if other is not None else "",
                        flush=True,
                    )
            entry[label] = figures
        out[name] = entry
    (HERE / "golden.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
