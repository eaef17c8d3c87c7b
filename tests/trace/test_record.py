"""vmsim record --trace-children: every process image traced, each in a file of its own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from toolcheck import needs_tool

VALGRIND = shutil.which("valgrind")
pytestmark = needs_tool("valgrind", "valgrind (apt-get install valgrind)")


def vmsim(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """vmsim in a fresh process, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def info(path: Path) -> dict[str, object]:
    """trace info --json of a file."""
    r = vmsim("trace", "info", path, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_without_the_flag_only_the_shell_is_recorded(tmp_path: Path) -> None:
    r = vmsim("record", "-o", tmp_path / "sh.vmt", "--", "sh", "-c", "ls / > /dev/null; true")
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["sh.vmt"]
    assert "/ls" not in r.stderr


def test_trace_children_keeps_each_process_apart(tmp_path: Path) -> None:
    out = tmp_path / "sh.vmt"
    r = vmsim("record", "--trace-children", "-o", out, "--", "sh", "-c", "ls / > /dev/null; true")
    assert r.returncode == 0, r.stderr
    lines = re.findall(r"vmsim: (\S+): ([\d,]+) references \(pid (\d+): (.*)\)", r.stderr)
    assert len(lines) == 2, r.stderr
    (root, _, root_pid, root_cmd), (child, _, child_pid, child_cmd) = lines
    # valgrind writes the command line with its spaces and shell characters escaped
    assert root == str(out) and root_cmd.replace("\\", "") == "sh -c ls / > /dev/null; true"
    assert child == str(tmp_path / f"sh.{child_pid}.vmt") and child_cmd == f"{shutil.which('ls')} /"
    assert child_pid != root_pid  # the shell forked ls
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["sh.vmt", f"sh.{child_pid}.vmt"])
    for path, (_, refs, _, _) in zip((out, Path(child)), lines, strict=True):
        got = info(path)
        assert got["references"] == int(refs.replace(",", "")) > 10_000


def test_an_exec_in_place_is_a_second_image_of_the_same_pid(tmp_path: Path) -> None:
    out = tmp_path / "sh.vmt"
    r = vmsim("record", "--trace-children", "-o", out, "--", "sh", "-c", "exec ls / > /dev/null")
    assert r.returncode == 0, r.stderr
    pids = re.findall(r"\(pid (\d+): ", r.stderr)
    assert len(pids) == 2 and pids[0] == pids[1], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["sh.vmt", f"sh.{pids[0]}.vmt"])


def test_trace_children_of_a_missing_program_leaves_nothing(tmp_path: Path) -> None:
    r = vmsim("record", "--trace-children", "-o", tmp_path / "x.vmt", "--", "/nonexistent/prog")
    assert r.returncode == 1 and "no such file" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_documents_the_files() -> None:
    r = vmsim("record", "--help")
    assert "--trace-children" in r.stdout and ".PID.vmt" in r.stdout
