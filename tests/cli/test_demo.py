"""`vmsim demo`: the story of `new`, the first steps of the other parts, the final counters.

Run as a user types it (`vmsim demo`, at a given terminal width through COLUMNS): the
tests read the printed lines, never the objects behind them, except where they check
a figure against an independent one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vmsim import events as ev
from vmsim.cli.main import main
from vmsim.report.demo import run_demo
from vmsim.report.narrative import Quiet, describe, first_steps, fold_quiet, narrate, wrap

SRC = Path(__file__).resolve().parents[2] / "src"
HEX = r"0x[0-9a-f]+"
WALK = re.compile(rf"page walk: (L\d PTE@{HEX}={HEX}, )*L\d PTE@{HEX}={HEX} -> [a-z-]+")


def _demo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
          *args: str, width: int = 100) -> str:  # fmt: skip
    """The output of `vmsim demo ARGS` on a terminal `width` columns wide."""
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["demo", *args]) == 0
    return capsys.readouterr().out


def _unwrap(out: str) -> list[str]:
    """The output's lines with each wrapped line joined back: a continuation is indented
    an odd number of columns (3 more than its line), every line of the account an even."""
    lines: list[str] = []
    for line in out.splitlines():
        lead = len(line) - len(line.lstrip(" "))
        if lines and lead % 2 == 1 and line.strip():
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def _section(out: str, title: str) -> list[str]:
    """The lines of the part whose rule carries `title`, up to the next rule (unwrapped)."""
    lines = _unwrap(out)
    start = next(i for i, line in enumerate(lines) if title in line and "─" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("──"))
    return lines[start + 1 : end]


def _find(lines: list[str], pattern: str, after: int = -1) -> tuple[int, re.Match[str]]:
    """The first line after index `after` that matches pattern, and the match."""
    for i in range(after + 1, len(lines)):
        m = re.search(pattern, lines[i])
        if m:
            return i, m
    raise AssertionError(f"no line matches {pattern!r} after line {after}")


# --- the story of `new`, in causal order ----------------------------------------------------


def _check_new_story(section: list[str]) -> None:
    """operator new -> malloc -> brk grows the heap -> the first store faults -> a zeroed
    frame is allocated and mapped -> the constructor -> delete -> free, in this order."""
    i_new, _ = _find(section, r"pid 3 calls operator new\(48\)$")
    i_malloc, _ = _find(section, r"pid 3 calls malloc\(48\)$", i_new)
    i_sbrk, sbrk = _find(section, rf"sbrk\(0\) = ({HEX})$", i_malloc)
    i_brk, brk = _find(section, rf"brk\(({HEX})\) = ({HEX}) \(the heap grows by 132KiB\)$", i_sbrk)
    heap_start, heap_end = int(sbrk[1], 16), int(brk[2], 16)
    assert heap_end - heap_start == 132 << 10  # glibc: request + 128 KiB top_pad, page-rounded
    i_fault, fault = _find(section, rf"page fault: write at ({HEX}) \(not-present\)", i_brk)
    assert heap_start <= int(fault[1], 16) < heap_end  # the first store to the new heap
    i_alloc, alloc = _find(section, r"kalloc: frame (\d+) \(zeroed\) for anon$", i_fault)
    i_map, mapped = _find(section, rf"map ({HEX}) -> frame (\d+) \[rw-\] \(anon\)$", i_alloc)
    assert mapped[2] == alloc[1] and int(mapped[1], 16) == int(fault[1], 16) & ~0xFFF
    i_mret, mret = _find(section, rf"^  malloc returns ({HEX})$", i_map)
    i_nret, nret = _find(section, rf"^operator new returns ({HEX})$", i_mret)
    i_ctor, ctor = _find(section, rf"^constructor runs on the 48-byte object at ({HEX})$", i_nret)
    obj = ctor[1]
    assert mret[1] == nret[1] == obj
    i_delete, _ = _find(section, rf"^pid 3 calls operator delete\({obj}\)$", i_ctor)
    i_free, _ = _find(section, rf"^  pid 3 calls free\({obj}\)$", i_delete)
    _find(section, r"^  free returns$", i_free)
    # the fault happened inside malloc, which happened inside operator new
    assert section[i_fault].startswith("        page fault")
    assert section[i_brk].startswith("    pid 3 brk(")


def test_the_story_of_new_as_a_user_types_it(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "demo"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "120"},
    )  # fmt: skip
    section = _section(r.stdout, "What happens when you `new` an object")
    assert section[0] == "The story, from the event log:"
    _check_new_story(section)


@pytest.mark.parametrize("width", [60, 200])
def test_the_story_holds_at_any_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    section = _section(_demo(capsys, monkeypatch, width=width), "`new` an object")
    _check_new_story(section)


def test_the_summary_of_new_tells_the_same_story(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = " ".join(_section(_demo(capsys, monkeypatch, width=200), "`new` an object"))
    assert "operator new(48) -> malloc(48) -> brk grows the heap by 132KiB" in text
    assert "new made 1 page fault" in text and "keeps its 132KiB" in text


# --- page walks and widths --------------------------------------------------------------------


def _walks(out: str) -> list[str]:
    """Every page walk in the output, its continuation lines joined back."""
    return [line.strip() for line in _unwrap(out) if line.strip().startswith("page walk:")]


@pytest.mark.parametrize("width", [60, 80, 200])
def test_page_walk_lines_never_wrap_inside_a_word(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    out = _demo(capsys, monkeypatch, "--steps", "40", width=width)
    wide = _demo(capsys, monkeypatch, "--steps", "40", width=400)
    for line in out.splitlines():
        assert len(line) <= width, line
        for word in line.split():
            if "PTE" in word or "=0x" in word:
                assert re.fullmatch(rf"PTE@{HEX}={HEX},?", word), line
    walks = _walks(out)
    assert len(walks) > 20 and all(WALK.fullmatch(w) for w in walks)
    assert walks == _walks(wide)  # the same walks, only broken into lines differently
    if width < 100:
        assert any(line.lstrip().startswith("L3 PTE@") for line in out.splitlines())


def test_wrap_breaks_between_words_and_keeps_a_level_with_its_pte() -> None:
    line = "    page walk: L0 PTE@0x17f8=0x3007, L1 PTE@0x3ff8=0x4007 -> ok"
    assert wrap(line, 80) == [line]
    assert wrap(line, 40) == [
        "    page walk: L0 PTE@0x17f8=0x3007,",
        "       L1 PTE@0x3ff8=0x4007 -> ok",
    ]
    assert wrap("a " + "b" * 30, 10, hang=2) == ["a", "  " + "b" * 30]  # too wide: kept whole


# --- the counters: units, and the fork part against its table --------------------------------


def _table_rows(out: str, title: str) -> list[list[str]]:
    """The cells of each row of the rich table titled `title`."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    rows = []
    for line in lines[start + 4 :]:
        if not line.startswith("│"):
            break
        rows.append([c.strip() for c in line.strip("│").split("│")])
    return rows


def _kib(text: str) -> int:
    m = re.fullmatch(r"(\d+)(B|KiB|MiB)", text)
    assert m, f"{text!r} is not a size with a unit"
    return int(m[1]) << {"B": 0, "KiB": 10, "MiB": 20}[m[2]] >> 10


def test_fork_figures_agree_with_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _demo(capsys, monkeypatch, width=200)
    summary = " ".join(_section(out, "copy-on-write after fork"))
    server = re.search(r"server \(pid (\d+)\) wrote (\d+) heap pages \((\d+)KiB\)", summary)
    assert server and (server[2], server[3]) == ("16", "64")
    workers = re.findall(r"worker pid (\d+) has (\d+) copies and shares (\d+) pages", summary)
    total = re.search(r"(\d+) pages copied on write in all", summary)
    assert total
    procs = {row[0]: row for row in _table_rows(out, "processes")}
    counters = dict(_table_rows(out, "machine (/proc/vmstat names)"))
    # hand-worked: the workers write 2 and 3 of the 16 pages, each write copies one page
    assert [(int(c), int(s)) for _, c, s in workers] == [(2, 14), (3, 13)]
    assert int(total[1]) == 5 == int(counters["cow_copy"]) == int(counters["cow_fault"])
    assert procs[server[1]][3] == "16" and _kib(procs[server[1]][5]) == 64
    for pid, copies, shares in workers:
        row = procs[pid]
        assert row[2] == "alive"
        assert int(row[3]) == int(copies) and row[4] == "0"  # each copy was one minor fault
        assert _kib(row[5]) == 4 * (int(copies) + int(shares))  # rss: own copies + shared
        assert int(row[8]) == int(copies)  # accesses: one store per page written


def test_sizes_carry_units(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _demo(capsys, monkeypatch, width=200)
    for row in _table_rows(out, "processes"):
        for cell in row[5:8]:  # rss, swap, page tables
            _kib(cell)
    assert "mapped 4 pages (16KiB)" in out and "grew its heap by 8KiB" in out


def test_a_narrow_table_becomes_lines_and_cuts_no_number(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _demo(capsys, monkeypatch, "--steps", "0", width=50)
    assert "…" not in out  # nor is a title
    assert all(len(line) <= 50 for line in out.splitlines())
    text = " ".join(out.split())
    assert "pid=7, name=server, state=alive, min_flt=2, maj_flt=0, rss=64KiB" in text


# --- --steps -----------------------------------------------------------------------------------


def test_steps_0_shows_no_steps(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _demo(capsys, monkeypatch, "--steps", "0")
    assert "from the event log" not in out
    for word in ("kalloc", "TLB", "page walk", "page fault:", "bytes at", " calls ", "mmap("):
        assert word not in out
    assert out.count("\n* ") == 10 and "cow_copy" in out  # the summaries and counters stay


def test_steps_n_shows_n_steps_per_part(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _demo(capsys, monkeypatch, "--steps", "3", width=200)
    section = _section(out, "Two processes")
    assert section[0] == "The first 3 of 14 steps, from the event log:"
    body = section[1 : section.index("")]
    assert [line for line in body if not line.startswith(" ")] == [
        "pid 1 mmap(NULL, 16384, rw-, MAP_PRIVATE, -) = 0x7ffff7efb000",
        "context switch: pid 0 -> pid 1",
        "pid 1 writes 12 bytes at 0x7ffff7efb000",
    ]
    new = _section(out, "`new` an object")
    assert new[0] == "The first 3 of 19 steps, from the event log:"
    assert [line.strip() for line in new[1:4]] == [
        "pid 3 calls operator new(48)", "pid 3 calls malloc(48)",
        "pid 3 makes 18 more accesses (18 reads) to pages already mapped (all TLB hits): "
        "no page fault",
    ]  # fmt: skip


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    m, _ = run_demo()
    assert data["machine"] == m.stats.as_dict()
    assert {int(pid) for pid in data["processes"]} == {p.pid for p in m.processes}


# --- the narrative's parts, by hand --------------------------------------------------------------


def test_demo_scenario_is_isolated_and_counted() -> None:
    m, parts = run_demo()
    editor, compiler = m.processes[:2]
    assert (editor.stats.min_flt, compiler.stats.min_flt) == (3, 2)
    assert m.stats.pgfault == sum(
        p.stats.min_flt + p.stats.maj_flt + sum(p.children_faults) for p in m.processes
    )  # the faults of reaped children went to their parent
    assert any("isolated" in line for part in parts for line in part.summary)
    assert m.stats.pgpgout == 1  # msync wrote the file page back


def test_narrative_indents_consequences_and_calls() -> None:
    _, parts = run_demo()
    lines = narrate(parts[0].events)
    first_access = next(i for i, line in enumerate(lines) if " writes " in line)
    assert not lines[first_access].startswith(" ")
    assert lines[first_access + 1].startswith("    ") and "TLB miss" in lines[first_access + 1]
    assert all(describe(e) for e in parts[0].events)
    call = [ev.LibcCall(1, "malloc", "8", 0x10), ev.Syscall(1, "sbrk", "4096", 0x400000),
            ev.LibcReturn(1, "malloc", 0x400010), ev.LibcCall(1, "free", "0x400010", 0),
            ev.LibcReturn(1, "free", 0)]  # fmt: skip
    assert narrate(call) == [
        "pid 1 calls malloc(8)",
        "  pid 1 sbrk(4096) = 0x400000 (the heap grows by 4KiB)",
        "malloc returns 0x400010",
        "pid 1 calls free(0x400010)",
        "free returns",
    ]


def _access(pid: int, va: int, access: str = "read", *, fault: bool = False) -> list[ev.Event]:
    """An access and what the hardware did: a TLB hit, or a fault on a missing page."""
    if fault:
        return [ev.Access(pid, va, 8, access), ev.TlbMiss(pid, va),
                ev.Walk(pid, va, ((0, 0x1000, 0),), "not-present"),
                ev.PageFault(pid, va, access, "not-present")]  # fmt: skip
    return [ev.Access(pid, va, 8, access), ev.TlbHit(pid, va, 5)]


def test_fold_quiet_folds_runs_of_three_or_more_of_one_process() -> None:
    log = (_access(1, 0x1000) + _access(1, 0x1008, "write") + _access(1, 0x1010)
           + _access(1, 0x2000, "write", fault=True)
           + _access(1, 0x1000) + _access(1, 0x1008)
           + _access(2, 0x1000) + _access(2, 0x1000) + _access(2, 0x1000, "exec"))  # fmt: skip
    items = fold_quiet(log)
    assert items[0] == Quiet(pid=1, reads=2, writes=1, fetches=0, tlb_hits=3, tlb_misses=0)
    assert items[1:5] == log[6:10]  # the faulting access is kept whole
    assert items[5:9] == log[10:14]  # a run of two stays as it was
    assert items[9] == Quiet(pid=2, reads=2, writes=0, fetches=1, tlb_hits=3, tlb_misses=0)
    assert len(items) == 10
    assert first_steps(items, 0) == [] and first_steps(items, 2) == items[:5]
