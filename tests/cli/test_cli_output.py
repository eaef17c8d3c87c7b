"""Output people can use: tables that never cut a number, --csv beside --json, plots that say
what they show, progress with a total and an ETA on a terminal (and silence elsewhere)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click
import pytest

from vmsim.cli.main import cli, main

DATA = Path(__file__).resolve().parents[1] / "data"
LS = DATA / "ls.lackey.xz"

COMMANDS = [  # every command that prints results, with arguments that make several rows
    ["simulate", "{t}", "-p", "lru,fifo,opt", "-f", "1,16,100000"],
    ["mrc", "{t}", "-p", "lru,fifo", "--sizes", "1,64,100000"],
    ["tlb", "{t}", "--entries", "16,1024", "--l2-entries", "1536"],
    ["working-set", "{t}", "--tau", "100000"],
    ["replay", "{t}", "-p", "lru,clock", "-f", "1,64"],
    ["policies"],
]

REFS = 30_000


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30,000 references to 400 pages (a hot set of 40 and a cold rest), as a text trace."""
    import numpy as np

    rng = np.random.default_rng(7)
    pages = np.where(rng.random(REFS) < 0.8, rng.integers(0, 40, REFS), rng.integers(0, 400, REFS))
    path = tmp_path_factory.mktemp("trace") / "synthetic.txt"
    path.write_text("".join(f"{(0x400000 + int(p)) << 12:#x}\n" for p in pages))
    return path


def vm(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the vmsim command in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _args(command: list[str], trace: Path) -> list[str]:
    """The command line with the trace path filled in."""
    return [str(trace) if a == "{t}" else a for a in command]


def _numbers(rows: list[dict[str, str]]) -> list[str]:
    """Every integer of a CSV as a table shows it (with thousands separators), but speeds,
    and every other one-word value (policy names)."""
    out = []
    for r in rows:
        for k, v in r.items():
            if k == "refs_per_s":  # differs from run to run
                continue
            if v.isdigit():
                out.append(f"{int(v):,}")
            elif v and " " not in v and "," not in v and "." not in v:
                out.append(v)
    return out


@pytest.mark.parametrize("columns", ["40", "250"])
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_tables_never_cut_a_number(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    synthetic: Path,
    command: list[str],
    columns: str,
) -> None:
    command = _args(command, synthetic)
    code, out, err = vm(capsys, *command, "--csv")
    assert code == 0, err
    numbers = _numbers(list(csv.DictReader(io.StringIO(out))))
    assert len(numbers) >= 4
    monkeypatch.setenv("COLUMNS", columns)
    code, table, _ = vm(capsys, *command)
    assert code == 0 and "…" not in table
    assert max(len(line) for line in table.splitlines()) <= max(int(columns), 250)
    cells = table.replace("│", " ").replace("┃", " ").split()
    for n in numbers:
        assert n in cells, (n, table)


def test_a_piped_table_in_a_fresh_process_keeps_every_digit(synthetic: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    r = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "replay", str(synthetic), "-f", "1"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # not a terminal: no progress bar, nothing else
    assert "…" not in r.stdout
    cells = r.stdout.replace("│", " ").split()
    # with one frame every reference to another page than the one before faults; the
    # machine counts exactly the engine's misses, which simulate prints too
    sim = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "simulate", str(synthetic), "-f", "1", "--csv"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    (row,) = csv.DictReader(io.StringIO(sim.stdout))
    assert f"{int(row['misses']):,}" in cells and "30,000" in cells


def _commands_with_json(cmd: click.Command, path: list[str]) -> list[tuple[str, click.Command]]:
    """Every command (subcommands too) that has a --json option."""
    if isinstance(cmd, click.Group):
        return [x for n, c in cmd.commands.items() for x in _commands_with_json(c, [*path, n])]
    opts = {o for p in cmd.params for o in p.opts}
    return [(" ".join(path), cmd)] if "--json" in opts else []


def test_csv_beside_every_json() -> None:
    found = _commands_with_json(cli, [])
    assert {"simulate", "mrc", "tlb", "working-set", "replay", "policies", "trace info",
            "demo"} <= {n for n, _ in found}  # fmt: skip
    missing = [n for n, c in found if "--csv" not in {o for p in c.params for o in p.opts}]
    assert missing == []


def test_trace_info_csv_holds_the_json_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = vm(capsys, "trace", "info", LS, "--csv")
    assert code == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out)))
    data = json.loads(vm(capsys, "trace", "info", LS, "--json")[1])
    assert row["format"] == data["format"] == "lackey"
    for key in ("references", "distinct_pages", "code_pages", "data_pages", "footprint_bytes"):
        assert int(row[key]) == data[key]
    assert {k: int(row[f"by_kind_{k}"]) for k in "ILSM"} == data["by_kind"]
    assert int(row["lowest_address"]) == data["lowest_address"]


def test_demo_csv_holds_every_json_counter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = vm(capsys, "demo", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["scope", "pid", "name", "counter", "value"]
    data = json.loads(vm(capsys, "demo", "--json")[1])
    machine = {r["counter"]: int(r["value"]) for r in rows if r["scope"] == "machine"}
    assert machine == data["machine"]
    procs: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["scope"] == "process":
            procs.setdefault(r["pid"], {"name": r["name"]})[r["counter"]] = int(r["value"])
    assert procs == data["processes"]


@pytest.mark.parametrize("command", [["demo"], ["trace", "info", str(LS)]])
def test_json_and_csv_together_is_refused_by_demo_and_trace_info(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, _, err = vm(capsys, *command, "--json", "--csv")
    assert code == 2 and "give --json or --csv, not both" in err


@pytest.mark.parametrize("command", COMMANDS[:5], ids=[c[0] for c in COMMANDS[:5]])
def test_csv_holds_the_json_figures(
    capsys: pytest.CaptureFixture[str], synthetic: Path, command: list[str]
) -> None:
    command = _args(command, synthetic)
    rows = list(csv.DictReader(io.StringIO(vm(capsys, *command, "--csv")[1])))
    data: Any = json.loads(vm(capsys, *command, "--json")[1])
    if command[0] == "simulate" or command[0] == "replay":
        assert [r["policy"] for r in rows] == [d["policy"] for d in data]
        key = "misses" if command[0] == "simulate" else "faults"
        assert [int(r[key]) for r in rows] == [d[key] for d in data]
    elif command[0] == "mrc":
        assert [int(r["misses"]) for r in rows] == [p["misses"] for c in data for p in c["points"]]
    elif command[0] == "tlb":
        assert [int(r["walks"]) for r in rows] == [d["walks"] for d in data]
    else:
        (row,) = rows
        assert (int(row["peak"]), int(row["distinct_pages"])) == (
            data["peak"], data["distinct_pages"]
        )  # fmt: skip


def test_json_and_csv_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vm(capsys, "policies", "--json", "--csv")
    assert code == 2 and "give --json or --csv, not both" in err


# ---------------------------------------------------------------- plots


def test_mrc_plot_says_what_it_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, figures: list[Any]
) -> None:
    png = tmp_path / "mrc.png"
    code, out, err = vm(capsys, "mrc", LS, "-p", "lru,fifo", "--plot", png, "--json")
    assert code == 0, err
    curves = json.loads(out)
    (fig,) = figures
    ax = fig.axes[0]
    assert "ls.lackey.xz" in ax.get_title() and "lru, fifo" in ax.get_title()
    assert "4KiB pages" in ax.get_title() and "exact" in ax.get_title()
    assert ax.get_xlabel() == "frames" and ax.get_xscale() == "log"  # 1 .. 284 frames
    (top,) = ax.child_axes  # the memory axis
    assert top.get_xlabel() == "memory (4KiB pages)"
    lru, fifo = ax.get_lines()
    assert lru.get_label() == "lru (exact)" and fifo.get_label() == "fifo (simulated)"
    # fifo: a marker at each computed size and no line between them
    fifo_sizes = [p["frames"] for p in curves[1]["points"]]
    assert list(fifo.get_xdata()) == fifo_sizes and fifo.get_linestyle() == "None"
    assert fifo.get_marker() == "o"
    # the exact curve is computed at every size from 1 to the distinct pages
    assert list(lru.get_xdata()) == list(range(1, curves[0]["distinct_pages"] + 1))
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_replay_plot_of_faults_and_rss_over_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, figures: list[Any], synthetic: Path
) -> None:
    png = tmp_path / "replay.png"
    args = ("replay", synthetic, "-p", "clock", "-f", "32", "--plot", png, "--json")
    code, out, err = vm(capsys, *args)
    assert code == 0, err
    (run,) = json.loads(out)
    (fig,) = figures
    faults_ax, rss_ax = fig.axes
    (faults,) = faults_ax.get_lines()
    (rss,) = rss_ax.get_lines()
    t = list(faults.get_xdata())
    # a sample at 0 and after every slice of 1,000 references
    assert t == list(range(0, REFS + 1, 1000)) and run["references"] == REFS
    assert faults.get_ydata()[-1] == run["faults"]
    assert max(rss.get_ydata()) == 32  # the memory limit is reached and never passed
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_plot_never_overwrites_the_trace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "t.txt"
    trace.write_text("0x1000\n0x2000\n")
    code, _, err = vm(capsys, "mrc", trace, "--plot", trace)
    assert code == 1 and "--plot" in err and "refusing to overwrite" in err
    assert trace.read_text() == "0x1000\n0x2000\n"


def test_an_interrupted_plot_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    def interrupted(self: Any, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    png = tmp_path / "ws.png"
    code, _, _ = vm(capsys, "working-set", LS, "--plot", png)
    assert code == 130
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- progress


def test_progress_shows_a_total_and_an_eta_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, synthetic: Path
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = vm(capsys, "simulate", LS, "-p", "lru,fifo,clock", "-f", "16,64", "--json")
    assert code == 0
    assert "simulating" in err and "6/6" in err and "ETA" in err
    code, _, err = vm(capsys, "replay", synthetic, "-p", "lru,fifo", "-f", "64", "--json")
    assert code == 0
    assert "60000/60000" in err and "ETA" in err  # references replayed, of two runs


def test_no_progress_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = vm(capsys, "simulate", LS, "-p", "lru,fifo", "-f", "16,64", "--json")
    assert code == 0 and err == ""


@pytest.fixture(scope="module")
def vmt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data/ls.lackey.xz as a .vmt (893,651 references, counted in its end block)."""
    path = tmp_path_factory.mktemp("vmt") / "ls.vmt"
    assert main(["trace", "convert", str(LS), str(path)]) == 0
    return path


STREAMED = [  # the commands that stream their trace, and mrc's streamed LRU curve
    ["tlb", "{t}", "--json"],
    ["working-set", "{t}", "--json"],
    ["mrc", "{t}", "--json"],
    ["mrc", "{t}", "--method", "shards", "--json"],
    ["trace", "info", "{t}", "--json"],
    ["replay", "{t}", "-f", "64", "--json"],
]
ETA = re.compile(r"ETA\s+(\d+:\d\d:\d\d|-:--:--)")
"""The time remaining, after the terminal's colour codes are taken out."""


def _plain(err: str) -> str:
    """stderr without the terminal's control sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)


@pytest.mark.parametrize("command", STREAMED, ids=[" ".join(c[:-1]) for c in STREAMED])
def test_a_vmt_shows_references_read_of_its_count_and_an_eta(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    vmt: Path,
    command: list[str],
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")  # room for the long temporary path
    code, _, err = vm(capsys, *_args(command, vmt))
    err = _plain(err)
    assert code == 0, err
    assert f"reading {vmt}" in err and "893651/893651" in err and ETA.search(err), err


def test_the_exact_lru_curve_shows_its_references_done_and_an_eta(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, vmt: Path
) -> None:
    """After reading, the stack-distance pass has a bar of its own over the references."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")
    code, _, err = vm(capsys, "mrc", str(vmt), "--method", "exact", "--json")
    err = _plain(err)
    assert code == 0, err
    after = err[err.index("the exact LRU curve") :]
    assert "893651/893651" in after and ETA.search(after), err


@pytest.mark.parametrize("command", STREAMED, ids=[" ".join(c[:-1]) for c in STREAMED])
def test_another_file_shows_the_share_of_its_bytes_read_and_an_eta(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")
    code, _, err = vm(capsys, *_args(command, LS))
    err = _plain(err)
    assert code == 0, err
    size = LS.stat().st_size  # 203,816 bytes of xz: 199.0KiB
    assert f"of {size / 1024:.1f}KiB" in err and "100%" in err and ETA.search(err), err


def test_a_pipe_shows_a_spinner_without_a_total(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(LS.read_bytes()))
    writer.start()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = vm(capsys, "tlb", fifo, "--json")
    writer.join()
    err = _plain(err)
    assert code == 0, err
    assert json.loads(out)[0]["references"] == 893_651
    assert "references so far" in err and "ETA" not in err and "%" not in err, err


@pytest.mark.parametrize("command", STREAMED, ids=[" ".join(c[:-1]) for c in STREAMED])
def test_streamed_commands_are_quiet_when_not_on_a_terminal(
    capsys: pytest.CaptureFixture[str], vmt: Path, command: list[str]
) -> None:
    for trace in (vmt, LS):
        code, _, err = vm(capsys, *_args(command, trace))
        others = [line for line in err.splitlines() if not line.startswith("note: ")]
        assert code == 0 and others == [], err  # SHARDS's notes on its sample are results
