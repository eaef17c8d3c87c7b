"""Never lose or fake data: trace outputs are whole or absent, inputs never overwritten,
cut files are errors, pipes and standard input are read, --level is checked.

Every test runs vmsim as a user types it: in this process through `main` (with the
standard input of click's CliRunner where a pipe is needed), or as a subprocess where
a real pipe, a real signal or a real valgrind is the point.
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zstandard
from click.testing import CliRunner

from toolcheck import needs_tool
from vmsim.cli.main import main
from vmsim.trace import Trace, TraceChunk
from vmsim.trace.lackey import write_lackey

DATA = Path(__file__).resolve().parents[1] / "data"
LS = DATA / "ls.lackey.xz"
VALGRIND = shutil.which("valgrind")


def vm(*args: object, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run vmsim in this process: (exit status, stdout, stderr); stdin fed if given."""
    with CliRunner().isolation(input=stdin) as streams:
        code = main([str(a) for a in args])
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return code, out.decode(), err.decode()


def vm_process(*args: object, **kw: object) -> subprocess.Popen[bytes]:
    """Start vmsim as a subprocess (stdin, stdout and stderr pipes unless given)."""
    opts: dict[str, object] = {
        "stdin": subprocess.PIPE,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
    }
    opts.update(kw)
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "vmsim.cli.main", *map(str, args)], **opts
    )


@pytest.fixture(scope="module")
def ls_text() -> bytes:
    """The lackey text of `ls` (893,651 references, 24 MB)."""
    return lzma.decompress(LS.read_bytes())


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A 1,000-reference lackey file."""
    head = next(Trace(LS).chunks())
    path = tmp_path / "small.lackey"
    with open(path, "wb") as f:
        write_lackey([TraceChunk(head.addresses[:1000], head.kinds[:1000], head.sizes[:1000])], f)
    return path


def one_error_line(err: str, *needles: str) -> None:
    """stderr is exactly one vmsim error line containing every needle."""
    assert err.startswith("vmsim: error: ") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)


# ------------------------------------------------------------------ inputs are never overwritten


def test_convert_onto_its_own_input_is_refused(tmp_path: Path, small: Path) -> None:
    vmt = tmp_path / "s.vmt"
    assert vm("trace", "convert", small, vmt)[0] == 0
    before = vmt.read_bytes()
    for dest in (vmt, tmp_path / "." / "s.vmt"):
        code, _, err = vm("trace", "convert", vmt, dest)
        assert code == 1
        one_error_line(err, "refusing to overwrite", "s.vmt")
    link = tmp_path / "link.vmt"
    link.symlink_to(vmt)
    code, _, err = vm("trace", "convert", vmt, link)
    assert code == 1 and "refusing" in err
    assert vmt.read_bytes() == before
    assert json.loads(vm("trace", "info", vmt, "--json")[1])["references"] == 1000


# ------------------------------------------------------------- interrupted writes leave nothing


def _wait_for_part(directory: Path, proc: subprocess.Popen[bytes], min_size: int = 0) -> None:
    """Wait until a temporary .part file of at least min_size bytes exists in directory."""
    for _ in range(3000):  # a generous bound (5 min), not a timed assertion
        parts = [p for p in directory.iterdir() if p.name.endswith(".part")]
        if parts and parts[0].stat().st_size >= min_size:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("vmsim never started writing")


def test_ctrl_c_during_convert_leaves_nothing(tmp_path: Path, ls_text: bytes) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dest = out_dir / "ls.vmt"
    proc = vm_process("trace", "convert", "-", dest)
    assert proc.stdin is not None
    proc.stdin.write(ls_text * 2)  # 1.8M references: a first 1M-reference block gets written
    proc.stdin.flush()  # and vmsim waits for the rest
    _wait_for_part(out_dir, proc, min_size=1000)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    assert b"aborted" in err and b"Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_ctrl_c_keeps_an_older_output_untouched(tmp_path: Path, ls_text: bytes) -> None:
    dest = tmp_path / "ls.lackey.gz"
    dest.write_bytes(b"older")
    proc = vm_process("trace", "convert", "-", dest)
    assert proc.stdin is not None
    proc.stdin.write(ls_text[: len(ls_text) // 3])
    proc.stdin.flush()
    _wait_for_part(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate()
    assert proc.returncode == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ls.lackey.gz"]
    assert dest.read_bytes() == b"older"


@pytest.mark.parametrize("dest", ["t.vmt", "t.lackey", "t.din", "t.txt.zst", "t.npy.gz"])
def test_a_writer_interrupted_mid_stream_leaves_nothing(tmp_path: Path, dest: str) -> None:
    from vmsim.trace.writers import write_trace

    def interrupted() -> object:
        yield TraceChunk(np.arange(10, dtype=np.uint64), np.ones(10, np.uint8))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_trace(interrupted(), tmp_path / dest, count=20, lossy=True)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@needs_tool("valgrind", "valgrind (apt-get install valgrind)")
def test_ctrl_c_during_record_leaves_nothing(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # a busy loop (a first 1M-reference block gets written), then a long sleep
    prog = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 600"
    proc = vm_process("record", "-o", out_dir / "sh.vmt", "--", "sh", "-c", prog,
                      start_new_session=True)  # fmt: skip
    _wait_for_part(out_dir, proc, min_size=100)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    assert list(out_dir.iterdir()) == []


# ------------------------------------------------------------------ cut files are errors


def test_every_cut_of_a_vmt_is_an_error_naming_the_file(tmp_path: Path, small: Path) -> None:
    vmt = tmp_path / "whole.vmt"
    assert vm("trace", "convert", small, vmt)[0] == 0
    data = vmt.read_bytes()
    cut = tmp_path / "cut.vmt"
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        code, _, err = vm("trace", "info", cut)
        assert code == 1, n
        one_error_line(err, str(cut))
    assert "truncated" in vm("trace", "info", cut)[2]
    cut.write_bytes(data + b"\0")
    code, _, err = vm("trace", "info", cut)
    assert code == 1 and "after the end block" in err


@pytest.mark.parametrize("name", ["t.lackey.zst", "t.vmt.zst", "t.din.zst"])
def test_a_truncated_zst_is_an_error_naming_the_file(
    tmp_path: Path, small: Path, name: str
) -> None:
    whole = tmp_path / name
    assert vm("trace", "convert", small, whole, "--lossy")[0] == 0
    data = whole.read_bytes()
    half = tmp_path / f"half-{name}"
    half.write_bytes(data[: len(data) // 2])
    code, _, err = vm("trace", "info", half)
    assert code == 1
    one_error_line(err, str(half), "zstd")
    code, _, err = vm("simulate", half)
    assert code == 1 and str(half) in err


def test_a_zst_of_several_frames_is_read_whole(tmp_path: Path, small: Path) -> None:
    text = small.read_bytes()
    cctx = zstandard.ZstdCompressor()
    two = tmp_path / "two.zst"
    mid = text.index(b"\n", len(text) // 2) + 1
    two.write_bytes(cctx.compress(text[:mid]) + cctx.compress(text[mid:]))
    assert json.loads(vm("trace", "info", two, "--json")[1])["references"] == 1000


def test_record_of_a_missing_program_is_an_error_and_no_file(tmp_path: Path) -> None:
    out = tmp_path / "x.vmt"
    for prog, why in (("/nonexistent/prog", "no such file"), ("no-such-prog-xyz", "PATH")):
        code, _, err = vm("record", "-o", out, "--", prog)
        if VALGRIND is None:
            assert "valgrind is not installed" in err
            continue
        assert code == 1
        one_error_line(err, prog, why)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ --level


@pytest.mark.parametrize(
    ("dest", "level", "needle"),
    [
        ("o.vmt", "99", "zstd levels are 1 to 22"),
        ("o.vmt", "0", "zstd levels are 1 to 22"),
        ("o.lackey.gz", "10", "gzip levels are 0 to 9"),
        ("o.txt.xz", "-1", "xz levels are 0 to 9"),
        ("o.din.zst", "23", "zstd levels are 1 to 22"),
        ("o.lackey", "3", "not compressed"),
        ("o.npy", "3", "not compressed"),
    ],
)
def test_convert_level_is_checked_per_codec(
    tmp_path: Path, small: Path, dest: str, level: str, needle: str
) -> None:
    before = set(tmp_path.iterdir())
    code, _, err = vm("trace", "convert", small, tmp_path / dest, "--level", level)
    assert code == 1
    one_error_line(err, "--level", needle)
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("dest", "level"), [("o.lackey.gz", "0"), ("o.vmt", "22"), ("o.din.xz", "9")]
)
def test_convert_levels_in_range_work(tmp_path: Path, small: Path, dest: str, level: str) -> None:
    assert vm("trace", "convert", small, tmp_path / dest, "--level", level, "--lossy")[0] == 0
    assert json.loads(vm("trace", "info", tmp_path / dest, "--json")[1])["references"] == 1000


def test_record_level_is_checked_before_anything_runs(tmp_path: Path) -> None:
    code, _, err = vm("record", "-o", tmp_path / "x.vmt", "--level", "99", "--", "true")
    assert code == 1
    one_error_line(err, "--level", "1 to 22")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ pipes and standard input


ONE_PASS = [
    ["trace", "info", "--json"],
    ["simulate", "-p", "lru", "-f", "16,64", "--json"],
    ["simulate", "-p", "lru,fifo,opt", "-f", "16", "--json"],
    ["mrc", "--sizes", "8,16,32", "--json"],
    ["tlb", "--json"],
    ["working-set", "--tau", "5000", "--json"],
]


def _figures(out: str) -> object:
    """The JSON output without the fields that name the file or time the run."""
    obj = json.loads(out)
    for o in obj if isinstance(obj, list) else [obj]:
        for k in ("path", "seconds", "refs_per_s"):
            o.pop(k, None)
    return obj


@pytest.mark.parametrize("cmd", ONE_PASS, ids=lambda c: " ".join(c[:3]))
def test_commands_read_standard_input(cmd: list[str], ls_text: bytes) -> None:
    at = 2 if cmd[0] == "trace" else 1
    code, direct, err = vm(*cmd[:at], LS, *cmd[at:])
    assert code == 0, err
    args = [*cmd[:at], "-", *cmd[at:]]
    for data in (ls_text, LS.read_bytes()):  # text, and xz detected from its magic on a pipe
        code, piped, err = vm(*args, stdin=data)
        assert code == 0, err
        assert _figures(piped) == _figures(direct)


def test_dev_stdin_and_process_substitution_are_pipes(tmp_path: Path) -> None:
    direct = _figures(vm("simulate", LS, "-p", "lru,opt", "-f", "32", "--json")[1])
    proc = vm_process("simulate", "/dev/stdin", "-p", "lru,opt", "-f", "32", "--json")
    out, err = proc.communicate(LS.read_bytes())
    assert proc.returncode == 0, err
    assert _figures(out.decode()) == direct
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    shell = f"{sys.executable} -m vmsim.cli.main trace info <(xz -dc {LS}) --json"
    r = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["references"] == 893_651


def test_a_fifo_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    proc = vm_process("tlb", fifo, "--json", stdin=subprocess.DEVNULL)
    with open(fifo, "wb") as f:
        f.write(LS.read_bytes())
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert _figures(out.decode()) == _figures(vm("tlb", LS, "--json")[1])


def test_replay_of_several_runs_spools_a_pipe(ls_text: bytes) -> None:
    args = ["-p", "lru,fifo", "-f", "16,32", "--json"]
    direct = _figures(vm("replay", LS, *args)[1])
    code, piped, err = vm("replay", "-", *args, stdin=ls_text)
    assert code == 0, err
    assert _figures(piped) == direct and len(direct) == 4  # type: ignore[arg-type]


def test_convert_of_a_pipe_to_npy_spools_it(tmp_path: Path, ls_text: bytes) -> None:
    dest = tmp_path / "ls.npy"
    code, _, err = vm("trace", "convert", "-", dest, stdin=ls_text)
    assert code == 0, err
    assert json.loads(vm("trace", "info", dest, "--json")[1])["references"] == 893_651


def test_a_second_pass_over_an_unspooled_pipe_says_so(ls_text: bytes) -> None:
    from vmsim import TraceFormatError

    with CliRunner().isolation(input=ls_text):
        t = Trace("-")
        assert sum(len(c) for c in t.chunks()) == 893_651
        with pytest.raises(TraceFormatError, match="save it to a file"):
            list(t.chunks())
    with CliRunner().isolation(input=ls_text):
        t = Trace("-", spool=True)
        assert [sum(len(c) for c in t.chunks()) for _ in range(2)] == [893_651, 893_651]


def test_empty_standard_input_is_a_clean_error() -> None:
    code, _, err = vm("simulate", "-", stdin=b"")
    assert code == 1
    one_error_line(err, "<stdin>", "empty")


# ------------------------------------------------------------------ lossy conversions


def test_convert_to_din_refuses_to_lose_sizes_and_modify(tmp_path: Path, small: Path) -> None:
    dest = tmp_path / "s.din"
    code, _, err = vm("trace", "convert", small, dest)
    assert code == 1
    one_error_line(err, "din cannot hold the access sizes", "M (modify)", "--lossy")
    assert not dest.exists()
    m = json.loads(vm("trace", "info", small, "--json")[1])["by_kind"]["M"]
    assert m > 0  # the first 1,000 references of ls have modifies
    code, _, err = vm("trace", "convert", small, dest, "--lossy")
    assert code == 0, err
    assert f"lost the access sizes; {m:,} M (modify: load and store) references" in err
    got = json.loads(vm("trace", "info", dest, "--json")[1])["by_kind"]
    assert (
        got["M"] == 0
        and got["S"] == json.loads(vm("trace", "info", small, "--json")[1])["by_kind"]["S"] + m
    )


def test_convert_to_text_refuses_to_lose_sizes(tmp_path: Path, small: Path) -> None:
    code, _, err = vm("trace", "convert", small, tmp_path / "s.txt")
    assert code == 1
    one_error_line(err, "text cannot hold the access sizes", "--lossy")
    assert "M (modify)" not in err  # text keeps M
    assert list(tmp_path.iterdir()) == [small]


def test_an_m_found_mid_stream_discards_the_partial_din(tmp_path: Path) -> None:
    src = tmp_path / "t.txt"
    src.write_text("0x1000 R\n" * 5000 + "0x2000 M\n")  # no sizes: only the M is lost
    dest = tmp_path / "t.din"
    code, _, err = vm("trace", "convert", src, dest)
    assert code == 1
    one_error_line(err, "din cannot hold", "M (modify", "--lossy")
    assert not dest.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
    code, _, err = vm("trace", "convert", src, dest, "--lossy")
    assert code == 0 and "lost 1 M (modify" in err


@pytest.mark.parametrize("dest", ["t.din", "t.txt", "t.vmt", "t.lackey"])
def test_a_conversion_that_loses_nothing_needs_no_flag(tmp_path: Path, dest: str) -> None:
    src = tmp_path / "src.txt"
    src.write_text("0x1000 R\n0x2000 W\n0x3000 X\n")
    code, _, err = vm("trace", "convert", src, tmp_path / dest)
    assert code == 0 and "lost" not in err, err
    info = json.loads(vm("trace", "info", tmp_path / dest, "--json")[1])
    assert info["by_kind"] == {"I": 1, "L": 1, "S": 1, "M": 0}
