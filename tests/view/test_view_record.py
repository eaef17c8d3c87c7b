"""Recording and snapshots on the Python side: deltas, the Python twin, hand-checked states."""

from __future__ import annotations

import html as htmlmod
import json
from pathlib import Path

import pytest
from view_scenarios import PAGE, SCENARIOS, fork_cow, record

from vmsim import Machine
from vmsim.errors import ConfigError
from vmsim.report.view.page import page_html, payload
from vmsim.report.view.record import apply_ops, diff


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_step_rebuilt_from_snapshots_and_deltas_is_the_true_state(name: str) -> None:
    fn, cfg = SCENARIOS[name]
    r = record(fn, every=16, **cfg)
    rec = r.machine.recording
    for i, truth in enumerate(r.truth):
        assert rec.state(i) == truth, f"step {i}"


def test_snapshots_are_plain_json() -> None:
    r = record(fork_cow, memory="256KiB")
    for s in r.truth[::7]:
        assert json.loads(json.dumps(s)) == s


def test_diff_and_apply_ops_on_small_trees() -> None:
    old = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": [{"f": 1}, None], "gone": 3}
    new = {"a": 2, "b": {"c": [1, 3], "d": "x"}, "e": [{"f": 2}, {"g": 1}], "new": [4]}
    ops = diff(old, new)
    assert sorted(map(json.dumps, ops)) == sorted(
        map(
            json.dumps,
            [[["a"], 2], [["b", "c", 1], 3], [["e", 0, "f"], 2], [["e", 1], {"g": 1}],
             [["new"], [4]], [["gone"]]],
        )
    )  # fmt: skip
    assert apply_ops(json.loads(json.dumps(old)), ops) == new
    assert diff(new, new) == []


def test_fork_and_cow_as_the_snapshot_shows_them() -> None:
    """Hand-checked: after fork two read-only COW PTEs map one frame; the child's write copies."""
    m = Machine(memory="256KiB")
    p = m.spawn("parent")
    va = p.mmap(2 * PAGE)
    p.store(va, b"parent")
    c = p.fork()
    s = m.snapshot()
    pp, cp = s["processes"][str(p.pid)], s["processes"][str(c.pid)]
    raw_p, raw_c = int(pp["ptes"][str(va)], 16), int(cp["ptes"][str(va)], 16)
    frame = (raw_p >> 12) & ((1 << 40) - 1)
    assert (raw_c >> 12) & ((1 << 40) - 1) == frame
    for raw in (raw_p, raw_c):  # x86-64: P bit 0, R/W bit 1, AVL bit 9 (COW)
        assert raw & 1 and not raw & 2 and raw & (1 << 9)
    f = s["frames"][frame]
    assert (f["purpose"], f["refcount"]) == ("anon", 2)
    assert f["mappers"] == sorted([[p.pid, va], [c.pid, va]])
    assert str(va + PAGE) not in pp["ptes"]  # never touched
    c.store(va, b"child")
    s = m.snapshot()
    raw_c = int(s["processes"][str(c.pid)]["ptes"][str(va)], 16)
    new = (raw_c >> 12) & ((1 << 40) - 1)
    assert new != frame and raw_c & 2 and raw_c & (1 << 6)  # writable and dirty
    assert s["frames"][new]["mappers"] == [[c.pid, va]]
    assert s["frames"][frame]["refcount"] == 1
    assert s["counters"]["cow_copy"] == 1
    tables = s["processes"][str(c.pid)]["tables"]
    assert sorted(t["level"] for t in tables.values()) == [0, 1, 2, 3]


def test_swap_slots_and_tlb_in_the_snapshot() -> None:
    m = Machine(memory="64KiB", swap="64KiB", overcommit="always", tlb_entries=4, tlb_ways=2)
    p = m.spawn("p")
    va = p.mmap(20 * PAGE)
    for i in range(20):
        p.store(va + i * PAGE, b"z")
    s = m.snapshot()
    swapped = {va2: int(pte, 16) for va2, pte in s["processes"]["1"]["ptes"].items()
               if not int(pte, 16) & 1}  # fmt: skip
    assert swapped
    for va2, pte in swapped.items():
        slot = pte >> 12
        assert [1, int(va2)] in s["swap"][str(slot)]["users"]
    assert len(s["tlb"]) == 2 and all(len(ways) <= 2 for ways in s["tlb"])
    last = (va + 19 * PAGE) >> 12
    assert any(e[0] == last for ways in s["tlb"] for e in ways)  # the last page is cached
    assert s["tlb"][last % 2][-1][0] == last  # ... as the most recent of its set


def test_a_window_records_only_its_events() -> None:
    m = Machine(memory="256KiB", record_events=True)
    rec = m.record(every=8, start=10, count=25)
    fork_cow(m)
    rec.finish()
    assert rec.skipped == 10 and rec.steps == 25
    plain = Machine(memory="256KiB", record_events=True)
    fork_cow(plain)
    assert rec.events == plain.events[11 : 11 + 25]  # the first event came at boot
    assert sum(len(rec.chunk_deltas(c)) for c in range(len(rec.snapshots))) == 25
    assert [base for base, _ in rec.snapshots] == [0, 8, 16, 24]
    assert m.events == []  # a window's end stops the log


def test_recording_needs_the_event_log() -> None:
    with pytest.raises(ConfigError):
        Machine(memory="256KiB").record()


def test_save_html_and_jupyter(tmp_path: Path) -> None:
    m = Machine(memory="256KiB", record=True)
    fork_cow(m)
    out = tmp_path / "run.html"
    m.save_html(out)
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="vmsim-data"' in text
    frame = m._repr_html_()
    assert frame.startswith("<iframe srcdoc=")
    assert htmlmod.unescape(frame.split('srcdoc="')[1].split('" style')[0]) == page_html(payload(m))


def test_a_machine_without_recording_shows_its_one_snapshot() -> None:
    m = Machine(memory="256KiB")
    m.spawn("p")
    data = payload(m)
    assert data["header"]["n"] == 0
    state = json.dumps(m.snapshot(), separators=(",", ":"))
    assert data["chunks"] == [f"[{state},[[],[],{{}}],[],null]"]
