"""Compute tests/data/golden.json: miss counts of real traces by independent implementations.

Not a test: run it by hand after recording a trace (see README.md in this folder):

    python tests/data/make_golden.py            # figures and sources
    python tests/data/make_golden.py --sources  # rewrite only the sources of each figure

Each trace is parsed here line by line in plain Python (not with vmsim's readers),
pages are address >> 12, and every (policy, frames) pair comes from two hands that
must agree:
- lru, fifo, clock (reference bit clear on load: libCacheSim's Clock with init_freq 0),
  opt (its Belady), lfu, arc, sieve: libCacheSim (PyPI libcachesim, in the dev extra),
  checked against vmsim's plain-Python reference replay (vmsim.policies.reference).
- mru, random, 2q, lirs (libCacheSim has no MRU; its Random has its own generator; its
  TwoQ keeps Am as a separate LRU cache of fixed size and its LIRS bounds the stack
  differently): the plain implementations written from the papers in
  tests/engine/test_golden_independent.py, checked against the reference replay.
The engine's Numba kernels are not used. golden.json records, per trace, the source
of each policy's figures (tool, version, call) under "sources".
"""

from __future__ import annotations

import importlib.util
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


LCS_CLASSES = {
    "lru": "LRU",
    "fifo": "FIFO",
    "clock": "Clock",
    "opt": "Belady",
    "lfu": "LFU",
    "arc": "ARC",
    "sieve": "Sieve",
}
"""The policies libCacheSim has in vmsim's definition (clock: reference bit clear on load)."""


def write_oracle_general(pages: np.ndarray, path: str) -> None:
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


def lcs_misses(path: str, n: int, policy: str, frames: int) -> int:
    """Misses of libCacheSim's `policy` with `frames` objects on an oracleGeneral file."""
    import libcachesim as lcs

    reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
    ratio, _ = getattr(lcs, LCS_CLASSES[policy])(frames, hashpower=16).process_trace(reader)
    return round(ratio * n)


def libcachesim(pages: np.ndarray, policy: str, frames: int) -> int | None:
    """Misses by libCacheSim, or None if it has no such policy (it must be installed)."""
    if policy not in LCS_CLASSES:
        return None
    with tempfile.NamedTemporaryFile(suffix=".oracleGeneral") as tmp:
        write_oracle_general(pages, tmp.name)
        return lcs_misses(tmp.name, len(pages), policy, frames)


INDEPENDENT = HERE.parent / "engine" / "test_golden_independent.py"


def independent(pages: np.ndarray, policy: str, frames: int) -> int | None:
    """Misses by the plain reference from the paper in test_golden_independent.py, if any."""
    spec = importlib.util.spec_from_file_location("test_golden_independent", INDEPENDENT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ref = mod.REFERENCES.get(policy)
    return None if ref is None else int(ref(pages.tolist(), frames))


def sources() -> dict[str, str]:
    """Where each policy's golden figures come from: tool, version and call."""
    from importlib.metadata import version

    lcs = f"libCacheSim {version('libcachesim')} (PyPI libcachesim)"
    out: dict[str, str] = {}
    for policy in POLICIES:
        if policy in LCS_CLASSES:
            cls = LCS_CLASSES[policy]
            out[policy] = (
                f"{lcs}: libcachesim.{cls}(frames, hashpower=16).process_trace() on the pages"
                " as an oracleGeneral trace, object size 1; equal to vmsim's plain-Python"
                " reference replay; `python tests/data/make_golden.py`"
            )
        else:
            out[policy] = (
                f"the plain {policy} written from its paper in"
                " tests/engine/test_golden_independent.py (REFERENCES), Python"
                f" {sys.version.split()[0]}; equal to vmsim's plain-Python reference replay;"
                " `python tests/data/make_golden.py`"
            )
    out["trace"] = (
        "recorded on this project's Debian 12 VM with valgrind 3.19.0:"
        " `valgrind --tool=lackey --trace-mem=yes` (see README.md), pages = address >> 12"
    )
    return out


def main(argv: list[str]) -> int:
    """Write golden.json (with --sources: only rewrite the sources of the figures)."""
    if "--sources" in argv:
        golden = json.loads((HERE / "golden.json").read_text())
        for entry in golden.values():
            entry["sources"] = sources()
        (HERE / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
        return 0
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
                    if other is None:
                        other = independent(pp, policy, frames)
                    if other != ref:
                        raise SystemExit(
                            f"{name} {label} {policy} {frames}: reference replay {ref}"
                            f" != independent source {other}"
                        )
                    figures[policy][str(frames)] = other
                    print(
                        name,
                        label,
                        policy,
                        frames,
                        ref,
                        "libCacheSim" if policy in LCS_CLASSES else "plain reference",
                        flush=True,
                    )
            entry[label] = figures
        entry["sources"] = sources()
        out[name] = entry
    (HERE / "golden.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
