"""`vmsim ostep paging-policy ... --html FILE`: the homework's run as a curves page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from view_scenarios import SHOTS

from vmsim.cli.main import main
from vmsim.report.view.ostep import split_html

ARGS = ["ostep", "paging-policy", "-s", "4", "-n", "40", "-m", "12", "-p", "FIFO", "-C", "4"]


def test_the_page_shows_the_simulators_answer(
    open_page: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pp.html"
    assert main([*ARGS, "-c"]) == 0
    plain = capfd.readouterr().out
    assert main([*ARGS, "-c", "--html", str(out)]) == 0
    cap = capfd.readouterr()
    assert cap.out == plain  # the simulator's output is untouched, byte for byte
    assert f"wrote {out}" in cap.err
    assert main([*ARGS, "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    page = open_page(out.read_text())
    (line,) = page.evaluate("vmsimCurves.timelines()")
    assert (line["name"], line["frames"]) == ("FIFO", 4)
    assert line["refs"][-1] == doc["references"] == 40
    assert line["misses"][-1] == doc["misses"]
    hits = [s["hit"] for s in doc["steps"]]
    for r, m in zip(line["refs"], line["misses"], strict=True):  # faults so far, step by step
        assert m == r - sum(hits[:r])
    (curve,) = page.evaluate("vmsimCurves.series()")
    assert curve["misses"][curve["frames"].index(4)] == doc["misses"]
    assert curve["frames"][0] == 1 and curve["misses"][0] <= doc["references"]
    assert "pages" in page.locator("#chart").inner_text()  # homework pages have no size
    page.screenshot(path=str(SHOTS / "vmsim-view-ostep.png"), full_page=True)


def test_html_option_forms() -> None:
    assert split_html(["-C", "3", "--html", "a.html", "-c"]) == (["-C", "3", "-c"], "a.html")
    assert split_html(["--html=b.html", "-c"]) == (["-c"], "b.html")
    assert split_html(["-c", "--", "--html", "x"]) == (["-c", "--", "--html", "x"], None)


def test_html_without_a_file_is_a_clear_error(capfd: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "-c", "--html"]) != 0
    err = capfd.readouterr().err
    assert "--html needs a FILE" in err and "Traceback" not in err
