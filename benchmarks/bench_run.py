"""vmsim run against the same programs run natively: page faults and slowdown.

The programs (benchmarks/run_programs/) are compiled here with gcc/g++ -O1. Native
figures: CPU time and getrusage (minor + major faults) of the child, via os.wait4.
vmsim: the same binary on a `vmsim.Machine` (256 MiB, no swap, fault_around_bytes
64 KiB and the collector's settings as `vmsim run` has them) in this process, CPU time
from spawn to exit (the kernel and CPU alone: Python start-up excluded; CPU time, not
wall time, because the machine is shared), best of --repeat runs, stdout checked
identical to native's; faults are the process tree's min_flt + maj_flt (as getrusage
counts reaped children). The whole command: `vmsim run -q PROGRAM` as a child process
with Python's bytecode cache on (as installed), its CPU time by os.wait4. vmsim's page
cache starts cold (the first read of a file page is a major fault, with read-around)
while the native runs find the binaries and the data file in the host's page cache.

    python benchmarks/bench_run.py [--quick] [--markdown out.md]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import vmsim
from childenv import installed_env
from vmsim.cli.run import collecting_less
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
        gc.collect()  # the runs before leave nothing for this one's collections to walk
        try:
            t = time.process_time()
            with collecting_less():  # as `vmsim run` runs a program
                p = m.spawn(program=argv[0], argv=argv)
                m.run()
            secs = time.process_time() - t
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        stdout = out.read()
    child_minor, child_major = p.children_faults
    minor = p.stats.min_flt + child_minor
    major = p.stats.maj_flt + child_major
    fills = m.runtime.fills
    m.close()
    return secs, minor + major, major, fills, stdout


def whole_command(argv: list[str]) -> tuple[float, bytes]:
    """(CPU seconds, stdout) of `vmsim run -q ARGV` as a child process."""
    cmd = [sys.executable, "-m", "vmsim.cli.main", "run", "-q", "--", *argv]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=installed_env())
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs")
    ap.add_argument("--markdown", type=Path, help="also write the tables here")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (CPU time)")
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
            ("compute, fits TLB", [s, "compute", "2" if q else "50"]),
            ("stride 8 MiB, > TLB", [s, "stride", "1" if q else "20"]),
        ]
        rows = []
        for name, argv in cases:
            runs = [native(argv) for _ in range(args.repeat)]
            nsecs, nfaults, nout = min(r[0] for r in runs), runs[0][1], runs[0][2]
            vruns = [on_vmsim(argv) for _ in range(args.repeat)]
            vsecs = min(r[0] for r in vruns)
            _, vfaults, vmajor, fills, vout = vruns[0]
            wsecs, wout = min(whole_command(argv) for _ in range(args.repeat))
            if vout != nout or wout != nout:
                raise SystemExit(f"{name}: output differs: {vout!r}, {wout!r} != {nout!r}")
            rows.append((name, nfaults, vfaults, vmajor, nsecs, vsecs, wsecs, fills))
            print(f"{name}: native {nfaults} faults {nsecs:.3f}s; vmsim {vfaults} ({vmajor} major)"
                  f" {vsecs:.2f}s, whole command {wsecs:.2f}s", file=sys.stderr)  # fmt: skip
    lines = [
        "| program | native faults | vmsim faults (major) | vmsim/native | native s | vmsim s"
        " (kernel) | slowdown | vmsim s (command) | slowdown | vmsim faults/s | TLB fills |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, nf, vf, vmaj, ns, vs, ws, fills in rows:
        lines.append(
            f"| {name} | {nf} | {vf} ({vmaj}) | {vf / max(nf, 1):.2f} | {ns:.3f} | {vs:.2f}"
            f" | {vs / max(ns, 1e-3):.0f}x | {ws:.2f} | {ws / max(ns, 1e-3):.0f}x"
            f" | {vf / vs:,.0f} | {fills} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with atomic_text_output(args.markdown) as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
