"""vmsim run against the same programs run natively: page faults and slowdown.

The programs (benchmarks/run_programs/) are compiled here with gcc/g++ -O1. Native
figures: CPU time and getrusage (minor + major faults) of the child, via os.wait4.
vmsim: the same binary on a `vmsim.Machine` (256 MiB, no swap, fault_around_bytes
64 KiB as `vmsim run` has it) in this process,
CPU time from spawn to exit (Python start-up excluded; CPU time, not wall time, because
the machine is shared), stdout checked identical to native's; faults are the process tree's
min_flt + maj_flt. vmsim's page cache starts cold (the first read of a file page is a
major fault, with read-around) while the native runs find the binaries and the data
file in the host's page cache.

    python benchmarks/bench_run.py [--quick] [--markdown out.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import vmsim
from vmsim.output import atomic_text_output

HERE = Path(__file__).resolve().parent
SRC = HERE / "run_programs"


def build(d: Path) -> dict[str, Path]:
    """Compile the benchmark programs into d."""
    out = {"static": d / "bench_static", "dynamic": d / "bench_dyn", "cxx": d / "newdel"}
    subprocess.run(["gcc", "-O1", "-static", "-o", out["static"], SRC / "bench.c"], check=True)
    subprocess.run(["gcc", "-O1", "-o", out["dynamic"], SRC / "bench.c"], check=True)
    subprocess.run(["g++", "-O1", "-o", out["cxx"], SRC / "newdel.cpp"], check=True)
    return out


def native(argv: list[str]) -> tuple[float, int, bytes]:
    """(CPU seconds, minor + major faults, stdout) of a native run."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime, usage.ru_minflt + usage.ru_majflt, out


def on_vmsim(argv: list[str]) -> tuple[float, int, int, int, bytes]:
    """(CPU seconds, minor + major faults, major faults, TLB fills, stdout) on vmsim."""
    m = vmsim.Machine(memory="256MiB", fault_around_bytes="64KiB")
    with tempfile.TemporaryFile() as out:
        saved = os.dup(1)
        os.dup2(out.fileno(), 1)
        try:
            t = time.process_time()
            m.spawn(program=argv[0], argv=argv)
            m.run()
            secs = time.process_time() - t
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        stdout = out.read()
    procs = m.processes
    minor = sum(p.stats.min_flt for p in procs)
    major = sum(p.stats.maj_flt for p in procs)
    fills = m.runtime.fills
    m.close()
    return secs, minor + major, major, fills, stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    ap.add_argument("--markdown", type=Path, help="also write the tables here")
    args = ap.parse_args()
    q = args.quick
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        b = build(d)
        data = d / "data.bin"
        data.write_bytes(os.urandom((4 if q else 16) << 20))
        s, dyn, cxx = str(b["static"]), str(b["dynamic"]), str(b["cxx"])
        anon = "16" if q else "64"
        cases = [
            ("hello (static)", [s, "hello"]),
            ("hello (dynamic)", [dyn, "hello"]),
            (f"anon {anon} MiB", [s, "anon", anon]),
            ("file mmap", [s, "file", "0", str(data)]),
            ("file read()", [dyn, "read", "0", str(data)]),
            ("C++ new/delete (dynamic)", [cxx, "50" if q else "200"]),
            ("fork + COW 8 MiB", [s, "fork", "8"]),
            ("compute, fits TLB", [s, "compute", "2" if q else "10"]),
            ("stride 8 MiB, > TLB", [s, "stride", "1"]),
        ]
        rows = []
        for name, argv in cases:
            nsecs, nfaults, nout = native(argv)
            vsecs, vfaults, vmajor, fills, vout = on_vmsim(argv)
            if vout != nout:
                raise SystemExit(f"{name}: output differs: {vout!r} != {nout!r}")
            rows.append((name, nfaults, vfaults, vmajor, nsecs, vsecs, fills))
            print(f"{name}: native {nfaults} faults {nsecs:.3f}s; vmsim {vfaults} ({vmajor} major)"
                  f" {vsecs:.2f}s", file=sys.stderr)  # fmt: skip
    lines = [
        "| program | native faults | vmsim faults (major) | vmsim/native | native s | vmsim s"
        " | slowdown | vmsim faults/s | TLB fills |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, nf, vf, vmaj, ns, vs, fills in rows:
        lines.append(
            f"| {name} | {nf} | {vf} ({vmaj}) | {vf / max(nf, 1):.2f} | {ns:.3f} | {vs:.2f}"
            f" | {vs / max(ns, 1e-3):.0f}x | {vf / vs:,.0f} | {fills} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with atomic_text_output(args.markdown) as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
