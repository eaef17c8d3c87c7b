"""The page of a real program (`vmsim run --html`): a C program compiled here, in Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from view_scenarios import SHOTS

from vmsim import Machine
from vmsim.cli.main import main
from vmsim.report.view.page import page_html, payload

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* malloc three pages, fork; the child writes one (a COW copy); the parent waits. */
int main(void) {
  char *p = malloc(3 * 4096);
  memset(p, 'a', 3 * 4096);
  pid_t c = fork();
  if (c == 0) {
    p[0] = 'b';
    _exit(p[0] == 'b' ? 0 : 1);
  }
  int st;
  waitpid(c, &st, 0);
  printf("parent %c child %d\n", p[0], WEXITSTATUS(st));
  free(p);
  return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program above, compiled static with gcc -O0 (.ci/run installs gcc)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("a C compiler is needed (.ci/run installs gcc)")
    d = tmp_path_factory.mktemp("runpage")
    (d / "fork.c").write_text(SOURCE)
    subprocess.run([cc, "-O0", "-static", "-o", str(d / "fork"), str(d / "fork.c")], check=True)
    return d / "fork"


def test_a_real_programs_page_rebuilds_the_machines_states(
    program: Path, open_page: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    m = Machine(memory="12MiB", record=256)  # 3,072 frames: the recorder diffs 1,024 at a time
    truth: dict[int, Any] = {}
    m.recording.on_step = lambda i: truth.update({i: m.snapshot()}) if i % 97 == 0 else None
    p = m.spawn(program=str(program), argv=["fork"])
    m.run()
    assert capfd.readouterr().out == "parent a child 0\n"
    assert p.exit_status == 0
    rec = m.recording
    rec.finish()
    truth[rec.steps] = m.snapshot()
    kinds = {type(e).__name__ for e in rec.events}
    assert {"Syscall", "PageFault", "CowCopy", "ProcessExit"} <= kinds
    page = open_page(page_html(payload(m, "fork")))
    assert page.evaluate("vmsim.steps()") == rec.steps
    for i, state in sorted(truth.items(), reverse=True):
        assert page.evaluate("i => { vmsim.seek(i); return vmsim.state(); }", i) == state, i
    cow = next(i for i, e in enumerate(rec.events) if type(e).__name__ == "CowCopy")
    page.evaluate("n => vmsim.seek(n)", cow + 1)
    assert page.locator(".frame.touched").count() == 2  # the frame copied and its copy
    page.screenshot(path=str(SHOTS / "vmsim-view-run.png"), full_page=True)


def test_vmsim_run_html_writes_a_page_that_opens(
    program: Path, open_page: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.html"
    status = main(["run", "--memory", "8MiB", "--html", str(out), "--window", "0:500", "-q",
                   str(program)])  # fmt: skip
    cap = capfd.readouterr()
    assert status == 0 and cap.out == "parent a child 0\n"
    assert f"wrote {out}: 500 events" in cap.err
    page = open_page(out.read_text())
    assert page.evaluate("vmsim.steps()") == 500
    page.evaluate("vmsim.seek(500)")
    assert page.locator("#now").inner_text().startswith("event 499")


def test_vmsim_run_html_refuses_to_cut_the_event_log(
    program: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A page's window drops the events outside it: --events and --narrate want them all."""
    for extra in (["--events", str(tmp_path / "e.jsonl")], ["--narrate", "5"]):
        status = main(["run", "--html", str(tmp_path / "r.html"), *extra, str(program)])
        err = capfd.readouterr().err
        assert status != 0
        assert "--html keeps only its window of the event log" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "e.jsonl").exists()
