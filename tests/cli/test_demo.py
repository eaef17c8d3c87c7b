"""`vmsim demo`: the narrative of the first accesses and the final counters."""

from __future__ import annotations

import json

import pytest

from vmsim.cli.main import main
from vmsim.report.demo import run_demo
from vmsim.report.narrative import describe, narrate


def test_demo_scenario_is_isolated_and_counted() -> None:
    m, parts = run_demo()
    editor, compiler = m.processes[:2]
    assert editor.stats.min_flt >= 3 and compiler.stats.min_flt >= 2
    assert m.stats.pgfault == sum(
        p.stats.min_flt + p.stats.maj_flt + sum(p.children_faults) for p in m.processes
    )  # the reaped workers' faults went to their parent
    assert any("isolated" in line for part in parts for line in part.summary)
    assert [part.title.split(":")[0] for part in parts] == [
        "Two processes, demand paging, isolation",
        "What happens when you `new` an object",
        "Many processes",
    ]


def test_demo_multiprogramming_counters() -> None:
    m, parts = run_demo()
    sharing = parts[2]
    assert m.stats.cow_copy == 5  # the two workers wrote 2 and 3 pages
    assert "the same frame" in sharing.summary[0] and "v2" in sharing.summary[1]
    assert "27 child pages still share" in sharing.summary[3]  # 2 x 16 - 5
    assert m.stats.pgpgout == 1  # msync wrote the file page back


def test_demo_prints_narrative_and_counters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "page fault: write at" in out and "TLB miss" in out and "kalloc: frame" in out
    assert "pgfault" in out and "context_switches" in out


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    m, _ = run_demo()
    assert data["machine"] == m.stats.as_dict()
    assert {int(pid) for pid in data["processes"]} == {p.pid for p in m.processes}


def test_narrative_indents_consequences() -> None:
    _, parts = run_demo()
    lines = narrate(parts[0].events)
    first_access = next(i for i, line in enumerate(lines) if " writes " in line)
    assert not lines[first_access].startswith(" ")
    assert lines[first_access + 1].startswith("    ") and "TLB miss" in lines[first_access + 1]
    assert all(describe(e) for e in parts[0].events)
