"""The engine's commands: golden figures through the CLI, JSON, plots, clean errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolcheck import needs_tool
from vmsim.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def vm(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the vmsim command in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def gzip_trace(refs: Path) -> Path:
    return refs / "traces" / "gzip_16k.lackey.xz"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"lru": [20_850, 343, 201], "fifo": [29_471, 490, 201]}),
        (["--data-only"], {"lru": [17_417, 145, 120], "fifo": [23_022, 190, 120]}),
    ],
)
def test_simulate_gives_the_readme_figures(
    gzip_trace: Path, flags: list[str], expected: dict[str, list[int]]
) -> None:
    r = run(
        "simulate", gzip_trace, "--policy", "lru,fifo", "--frames", "16,64,256", *flags, "--json"
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(o["policy"], o["frames"]) for o in rows] == [
        (p, f) for p in ("lru", "fifo") for f in (16, 64, 256)
    ]
    assert {p: [o["misses"] for o in rows if o["policy"] == p] for p in ("lru", "fifo")} == expected
    n = 592_442 if flags else 2_343_739
    assert all(o["references"] == n and o["miss_ratio"] == o["misses"] / n for o in rows)
    assert set(rows[0]) == {"policy", "frames", "references", "misses", "miss_ratio"}


def test_simulate_table(gzip_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = vm(capsys, "simulate", gzip_trace, "--policy", "lru", "--frames", "64")
    assert code == 0 and "343" in out and "2,343,739" in out


def test_mrc_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "mrc.png"
    code, out, err = vm(
        capsys, "mrc", DATA / "ls.lackey.xz", "--json", "--plot", png, "--data-only"
    )
    assert code == 0, err
    (curve,) = json.loads(out)  # one policy: a list of one curve
    golden = json.loads((DATA / "golden.json").read_text())["ls.lackey.xz"]["data_only"]["lru"]
    pts = {p["frames"]: p["misses"] for p in curve["points"]}
    _, out2, _ = vm(
        capsys, "mrc", DATA / "ls.lackey.xz", "--json", "--data-only", "--sizes", "16,64,256"
    )
    pts.update({p["frames"]: p["misses"] for p in json.loads(out2)[0]["points"]})
    assert {int(f): pts[int(f)] for f in golden} == {int(f): m for f, m in golden.items()}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, out3, _ = vm(
        capsys, "mrc", DATA / "ls.lackey.xz", "--policy", "fifo", "--sizes", "16,64", "--json"
    )
    fifo = json.loads((DATA / "golden.json").read_text())["ls.lackey.xz"]["all"]["fifo"]
    assert [p["misses"] for p in json.loads(out3)[0]["points"]] == [fifo["16"], fifo["64"]]


def test_tlb_info_working_set(
    gzip_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("tlb", gzip_trace, "--entries", "64", "--ways", "4", "--l2-entries", "1536", "--json")
    code, out, err = vm(capsys, *args)
    assert code == 0, err
    (d,) = json.loads(out)  # one L1 size: a list of one result
    assert d["references"] == 2_343_739
    assert d["walks"] == 201  # the L2 holds every page: cold walks only
    assert d["l1"]["reach"] == 64 * 4096
    info = json.loads(vm(capsys, "trace", "info", gzip_trace, "--json")[1])
    assert info["by_kind"] == {"I": 1_751_297, "L": 374_788, "S": 211_394, "M": 6_260}
    assert (info["distinct_pages"], info["code_pages"], info["data_pages"]) == (201, 81, 120)
    png = tmp_path / "ws.png"
    args = ("working-set", DATA / "walk.lackey.xz", "--tau", "1000000000", "--json", "--plot", png)
    code, out, _ = vm(capsys, *args)
    walk = json.loads(vm(capsys, "trace", "info", DATA / "walk.lackey.xz", "--json")[1])
    assert code == 0 and json.loads(out)["peak"] == walk["distinct_pages"]
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("fmt", ["vmt", "lackey", "din", "text", "npy"])
def test_convert_round_trip(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    from vmsim.trace import Trace, TraceChunk
    from vmsim.trace.lackey import write_lackey

    head = next(Trace(DATA / "ls.lackey.xz").chunks())
    src = tmp_path / "head.lackey"
    with open(src, "wb") as f:  # the first 200k references of ls
        n = 200_000
        write_lackey([TraceChunk(head.addresses[:n], head.kinds[:n], head.sizes[:n])], f)
    dest = tmp_path / f"ls.{ {'text': 'txt'}.get(fmt, fmt) }.zst"
    lossy = ["--lossy"] if fmt in ("din", "text") else []  # they hold no sizes (din: no M)
    code, _, err = vm(capsys, "trace", "convert", src, dest, *lossy)
    assert code == 0, err
    a = json.loads(vm(capsys, "simulate", src, "-p", "lru,opt", "-f", "32", "--json")[1])
    b = json.loads(vm(capsys, "simulate", dest, "-p", "lru,opt", "-f", "32", "--json")[1])
    assert a == b and a[0]["references"] == 200_000


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "{missing}"], "no such file"),
        (["simulate", "{bad}"], ":3:"),
        (["simulate", "{trace}", "--policy", "lru,nope"], "policy"),
        (["simulate", "{trace}", "--format", "xml"], "format"),
        (["mrc", "{trace}", "--policy", "fifo", "--method", "exact"], "method"),
        (["mrc", "{trace}", "--plot", "/nonexistent/dir/x.png"], "--plot"),
        (["tlb", "{trace}", "--entries", "64", "--ways", "5"], "--ways=5"),
        (["trace", "convert", "{trace}", "{tmp}/out.unknown"], "output format"),
        (["trace", "convert", "{trace}", "{tmp}/no/such/dir/out.vmt"], "cannot write"),
    ],
)
def test_errors_are_one_clean_line(
    tmp_path: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.lackey"
    bad.write_text("I  10,1\n L 20,4\n L twenty,4\n")
    good = tmp_path / "good.lackey"
    good.write_text("I  10,1\n L 20,4\n")
    subs = {"{missing}": str(tmp_path / "missing"), "{bad}": str(bad), "{trace}": str(good)}
    argv = [subs.get(a, a).replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = vm(capsys, *argv)
    assert code == 1, err
    assert err.startswith("vmsim: error:") and err.count("\n") == 1
    assert needle in err


def test_a_bad_trace_in_a_fresh_process_shows_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lackey"
    bad.write_text("I  10,1\n L twenty,4\n")
    r = run("simulate", bad)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    why = "not a lackey line ('I  ADDR,SIZE' or ' L|S|M ADDR,SIZE')"
    assert r.stderr == f"vmsim: error: {bad}:2: {why}: ' L twenty,4'\n"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    good = tmp_path / "good.lackey"
    good.write_text("I  10,1\n")
    for argv in (
        ["simulate", str(good), "--frames", "0"],
        ["simulate", str(good), "--frames", "x"],
        ["record"],
    ):
        r = run(*argv)
        assert r.returncode == 2 and "Traceback" not in r.stderr


def test_skip_bad_reports_the_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.lackey"
    bad.write_text("I  10,1\n L twenty,4\n L 20,4\n")
    code, out, err = vm(capsys, "simulate", bad, "--skip-bad", "--json")
    assert code == 0
    assert json.loads(out)[0]["references"] == 2
    assert "skipped 1 malformed" in err and ":2:" in err


def test_formats_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("lackey", "din", "text", "npy", "vmt"):
        assert name in out


VALGRIND = shutil.which("valgrind")
CC = shutil.which("cc")


@needs_tool("valgrind", "valgrind (apt-get install valgrind)")
@needs_tool("cc", "a C compiler to build the program to record")
def test_record_a_real_program(tmp_path: Path) -> None:
    src = tmp_path / "prog.c"
    src.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n"
        "int main(void) { static char buf[1 << 16]; long s = 0;\n"
        "  for (int i = 0; i < (1 << 16); i += 64) buf[i] = (char)i;\n"
        "  for (int i = 0; i < (1 << 16); i += 64) s += buf[i];\n"
        '  printf("sum %ld\\n", s); fprintf(stderr, "to stderr\\n"); return 7; }\n'
    )
    subprocess.run([CC, "-O0", "-o", tmp_path / "prog", src], check=True)
    out = tmp_path / "prog.vmt"
    r = run("record", "-o", out, "--", tmp_path / "prog")
    assert r.returncode == 7  # the program's own exit status
    # its stdout, untouched: (char)i for i = 0, 64, ..., 65472 is 0, 64, -128, -64 repeated
    # 256 times, so the sum is 256 * -128 = -32768
    assert r.stdout == "sum -32768\n"
    assert "to stderr" in r.stderr and " L " not in r.stderr and "==" not in r.stdout
    info = json.loads(run("trace", "info", out, "--json").stdout)
    assert info["format"] == "vmt" and info["references"] > 10_000
    assert info["by_kind"]["S"] >= 1024  # the 1024 stores of the first loop at least
    # the 16 data pages of buf are among the pages written
    from vmsim import open_trace

    t = open_trace(out)
    stores = np.concatenate([c.addresses[c.kinds == 2] for c in t.chunks()])
    assert len(np.unique(stores >> np.uint64(12))) >= 16


def test_record_without_valgrind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vmsim.cli.main",
            "record",
            "-o",
            str(tmp_path / "x.vmt"),
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "valgrind is not installed" in r.stderr and "apt-get install valgrind" in r.stderr
