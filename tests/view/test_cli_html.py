"""--html on the commands: demo, replay (with --window), simulate and mrc pages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from view_scenarios import SHOTS

from vmsim.cli.main import main
from vmsim.report.demo import run_demo

DATA = Path(__file__).resolve().parents[1] / "data"
TRACE = DATA / "ls.lackey.xz"


def _untemp(v: Any) -> Any:
    """v with the paths of the demo's temporary directory made equal."""
    if isinstance(v, str):
        return re.sub(r"/[^ ]*vmsim-demo-[^/]*", "<tmp>", v)
    if isinstance(v, list):
        return [_untemp(x) for x in v]
    if isinstance(v, dict):
        return {k: _untemp(x) for k, x in v.items()}
    return v


def test_demo_html_is_the_whole_demo(open_page: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "demo.html"
    assert main(["demo", "--steps", "1", "--html", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    m, _ = run_demo(record=True)
    page = open_page(out.read_text())
    assert page.evaluate("vmsim.steps()") == m.recording.steps == len(m.events) - 1
    assert page.evaluate("vmsim.seek(vmsim.steps())") == m.recording.steps
    # the demo's files live in a fresh temporary directory each run
    assert _untemp(page.evaluate("vmsim.state()")) == _untemp(m.snapshot())
    page.evaluate("vmsim.seek(0)")
    page.keyboard.press("c")  # the first copy-on-write of the demo
    assert page.evaluate("vmsim.events(vmsim.step() - 1, 1)")[0]["kind"] == "CowCopy"
    page.screenshot(path=str(SHOTS / "vmsim-view-demo.png"), full_page=True)


def test_replay_html_records_the_window(open_page: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "replay.html"
    args = ["replay", str(TRACE), "-f", "16", "--html", str(out), "--window", "200:300"]
    assert main(args) == 0
    assert "300 events from event 200" in capsys.readouterr().err
    page = open_page(out.read_text())
    assert page.evaluate("vmsim.steps()") == 300
    first = page.evaluate("vmsim.events(0, 1)")[0]
    assert first["index"] == 0 and first["kind"] in {"TlbHit", "TlbMiss", "Walk", "TlbFill"}
    assert "events from 200" in page.locator("#machine").inner_text()


def test_replay_html_says_which_window_it_chose(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "r.html"
    assert main(["replay", str(TRACE), "-f", "16", "--html", str(out)]) == 0
    assert "the page records the first 20,000 events" in capsys.readouterr().err


@pytest.mark.parametrize("window", ["10", "x:5", "5:0", "-1:3"])
def test_a_bad_window_is_a_clear_error(tmp_path: Path, capsys: Any, window: str) -> None:
    out = tmp_path / "r.html"
    assert main(["replay", str(TRACE), "--html", str(out), "--window", window]) != 0
    err = capsys.readouterr().err
    assert "--window" in err and "START:COUNT" in err and "Traceback" not in err
    assert not out.exists()


def test_the_page_never_overwrites_the_trace(tmp_path: Path, capsys: Any) -> None:
    trace = tmp_path / "t.lackey"
    trace.write_text(" L 04000000,8\n S 04001000,8\n")
    assert main(["replay", str(trace), "--html", str(trace)]) != 0
    assert "refusing to overwrite" in capsys.readouterr().err
    assert trace.read_text().startswith(" L 04000000")


def test_simulate_html_curves_match_the_json(open_page: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "sim.html"
    args = ["simulate", str(TRACE), "-p", "lru,fifo", "-f", "8,32,128"]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert main([*args, "--html", str(out)]) == 0
    page = open_page(out.read_text())
    series = page.evaluate("vmsimCurves.series()")
    assert [s["name"] for s in series] == ["lru", "fifo"]
    for s in series:
        mine = [r for r in rows if r["policy"] == s["name"]]
        assert s["frames"] == [r["frames"] for r in mine]
        assert s["misses"] == [r["misses"] for r in mine]
    page.locator('.pt[data-s="1"][data-j="1"]').hover()
    fifo32 = next(r for r in rows if r["policy"] == "fifo" and r["frames"] == 32)
    text = page.locator("#hover").inner_text()
    assert text.startswith("fifo: 32 frames (128 KiB)") and f"{fifo32['misses']} misses" in text
    # faults over time at the middle frame count: they end at the row's misses
    lines = page.evaluate("vmsimCurves.timelines()")
    assert [t["name"] for t in lines] == ["lru", "fifo"]
    for t in lines:
        (row,) = [r for r in rows if r["policy"] == t["name"] and r["frames"] == 32]
        assert t["frames"] == 32
        assert t["refs"][0] == 0 and t["refs"][-1] == row["references"]
        assert t["misses"][0] == 0 and t["misses"][-1] == row["misses"]
        assert all(a <= b for a, b in zip(t["misses"], t["misses"][1:], strict=False))
    assert page.locator("#timeline polyline.tl").count() == 2
    page.screenshot(path=str(SHOTS / "vmsim-view-simulate.png"), full_page=True)


def test_mrc_html_has_the_whole_curve(open_page: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "mrc.html"
    assert main(["mrc", str(TRACE), "--sizes", "4,16,64", "--json"]) == 0
    (curve,) = json.loads(capsys.readouterr().out)  # one curve per policy
    assert main(["mrc", str(TRACE), "--sizes", "4,16,64", "--html", str(out)]) == 0
    page = open_page(out.read_text())
    (series,) = page.evaluate("vmsimCurves.series()")
    assert series["frames"] == [4, 16, 64]
    assert series["misses"] == [p["misses"] for p in curve["points"]]
