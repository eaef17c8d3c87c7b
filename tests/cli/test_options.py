"""Options as a user types them: every number checked against its range, frames are counts,
--memory, policy names in any case, lists, replay's paging options, the user's option names."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from vmsim.cli.common import Fraction, Number
from vmsim.cli.main import cli, main

DATA = Path(__file__).resolve().parents[1] / "data"
LS = DATA / "ls.lackey.xz"
BIG = "99999999999999999999"  # above 2**64


def vm(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the vmsim command in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A text trace of pages 1 2 3 1 2 4 (4 KiB pages): 4 distinct pages, 6 references."""
    path = tmp_path / "small.txt"
    path.write_text("".join(f"{p << 12:#x}\n" for p in [1, 2, 3, 1, 2, 4]))
    return path


# ---------------------------------------------------------------- never an internal error


def test_a_frame_count_beyond_any_integer_is_a_usage_error_naming_frames(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    code, _, err = vm(capsys, "simulate", small, "-f", BIG)
    assert code == 2 and "internal error" not in err
    assert f"'--frames' / '-f': {BIG} is above the largest allowed" in err


@pytest.mark.parametrize("policy", ["fifo", "clock", "opt", "lru", "random"])
def test_ten_billion_frames_need_no_memory(
    capsys: pytest.CaptureFixture[str], small: Path, policy: str
) -> None:
    code, out, err = vm(capsys, "simulate", small, "-p", policy, "-f", "10000000000", "--json")
    assert code == 0, err
    # 4 distinct pages: with frames to spare, only the 4 first references miss
    assert json.loads(out) == [
        {"policy": policy, "frames": 10_000_000_000, "references": 6, "misses": 4,
         "miss_ratio": 4 / 6}
    ]  # fmt: skip


def test_replay_with_ten_billion_frames(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, out, err = vm(capsys, "replay", small, "-f", "10000000000", "--json")
    assert code == 0, err
    (run,) = json.loads(out)
    assert (run["frames"], run["faults"], run["major_faults"]) == (10_000_000_000, 4, 0)


def test_tlb_of_ten_billion_entries_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    code, _, err = vm(capsys, "tlb", small, "--entries", "10000000000", "--ways", "0")
    assert code == 2 and "internal error" not in err
    assert "'--entries': 10000000000 is above the largest allowed, 16,777,216" in err


def test_working_set_tau_beyond_any_integer(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    code, _, err = vm(capsys, "working-set", small, "--tau", BIG)
    assert code == 2 and f"'--tau': {BIG} is above the largest allowed" in err
    # the largest tau allowed is a window over the whole trace: W peaks at the 4 pages
    code, out, err = vm(capsys, "working-set", small, "--tau", str(1 << 62), "--json")
    assert code == 0, err
    assert (json.loads(out)["peak"], json.loads(out)["distinct_pages"]) == (4, 4)


def _numeric_options() -> list[tuple[list[str], click.Option]]:
    """(command path, option) of every numeric option of every command but those below."""
    elsewhere = {"record", "convert", "demo", "ostep"}  # other owners; demo's --steps is unbounded
    found = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                if name not in elsewhere:
                    walk(sub, [*path, name])
            return
        for p in cmd.params:
            if isinstance(p, click.Option) and isinstance(
                p.type, Number | Fraction | click.types.IntParamType | click.types.FloatParamType
            ):
                found.append((path, p))

    walk(cli, [])
    return found


NUMERIC = _numeric_options()


def test_every_numeric_option_uses_the_shared_range_checked_types() -> None:
    assert len(NUMERIC) >= 25
    loose = [
        f"{' '.join(c)} {o.opts[0]}"
        for c, o in NUMERIC
        if not isinstance(o.type, Number | Fraction)
    ]
    assert loose == []


@pytest.mark.parametrize("value", ["-1", BIG, "abc", "nan", "1e999"])
@pytest.mark.parametrize(
    ("command", "option"), NUMERIC, ids=[f"{' '.join(c)}{o.opts[0]}" for c, o in NUMERIC]
)
def test_every_numeric_option_rejects_what_it_cannot_take_by_name(
    capsys: pytest.CaptureFixture[str],
    small: Path,
    command: list[str],
    option: click.Option,
    value: str,
) -> None:
    code, _, err = vm(capsys, *command, small, option.opts[0], value)
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert f"'{option.opts[0]}'" in err.replace(" / '-f'", "").replace(" / '-m'", "").replace(
        " / '-p'", ""
    )


# ---------------------------------------------------------------- frames are counts, --memory


def test_frames_with_a_unit_points_to_memory(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    for command in ("simulate", "replay"):
        code, _, err = vm(capsys, command, small, "--frames", "1MiB")
        assert code == 2
        assert (
            "'1MiB' is a size; this option takes a count (for a memory size use --memory 1MiB)"
            in err
        )


def test_memory_is_frames_times_the_page_size(capsys: pytest.CaptureFixture[str]) -> None:
    by_frames = vm(capsys, "simulate", LS, "-p", "lru", "-f", "16,64", "--json")[1]
    by_memory = vm(capsys, "simulate", LS, "-p", "lru", "--memory", "64KiB,256KiB", "--json")[1]
    assert json.loads(by_memory) == json.loads(by_frames)
    assert [r["misses"] for r in json.loads(by_frames)] == [22_592, 1_672]  # tests/data/golden.json
    big_pages = vm(capsys, "simulate", LS, "--page-size", "8KiB", "--memory", "64KiB", "--json")
    assert json.loads(big_pages[1])[0]["frames"] == 8


def test_memory_errors(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, _, err = vm(capsys, "simulate", small, "--memory", "6KiB")
    assert code == 2 and "'--memory': 6KiB is not a whole number of 4KiB pages" in err
    code, _, err = vm(capsys, "replay", small, "--memory", "64KiB", "--frames", "16")
    assert code == 2 and "give --frames or --memory, not both" in err


def test_mrc_memory_is_sizes_times_the_page_size(capsys: pytest.CaptureFixture[str]) -> None:
    for policy in ("lru", "fifo"):
        by_sizes = vm(capsys, "mrc", LS, "-p", policy, "--sizes", "16,64", "--json")[1]
        by_memory = vm(capsys, "mrc", LS, "-p", policy, "--memory", "64KiB,256KiB", "--json")[1]
        assert json.loads(by_memory) == json.loads(by_sizes)
    (lru,) = json.loads(vm(capsys, "mrc", LS, "--sizes", "16,64", "--json")[1])
    assert [p["misses"] for p in lru["points"]] == [22_592, 1_672]  # tests/data/golden.json
    code, out, err = vm(capsys, "mrc", LS, "--page-size", "8KiB", "--memory", "64KiB", "--csv")
    assert code == 0, err
    assert out.splitlines()[1].split(",")[2:4] == ["8", "64KiB"]  # frames, memory


def test_mrc_memory_errors_are_simulates(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, _, err = vm(capsys, "mrc", small, "--memory", "6KiB")
    assert code == 2 and "'--memory': 6KiB is not a whole number of 4KiB pages" in err
    code, _, err = vm(capsys, "mrc", small, "--memory", "64KiB", "--sizes", "16")
    assert code == 2 and "give --sizes or --memory, not both" in err
    code, _, err = vm(capsys, "mrc", small, "--sizes", "1MiB")
    assert code == 2 and "'1MiB' is a size; this option takes a count" in err
    assert "(for a memory size use --memory 1MiB)" in err
    code, _, err = vm(capsys, "mrc", small, "--memory", BIG)
    assert code == 2 and "internal error" not in err and "is above the largest allowed" in err
    sim = next(p for p in cli.commands["simulate"].params if p.name == "memory")
    mine = next(p for p in cli.commands["mrc"].params if p.name == "memory")
    assert mine.type is sim.type and mine.opts == sim.opts  # one option type, one spelling


def test_replay_memory(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, out, err = vm(capsys, "replay", small, "-p", "fifo", "--memory", "8KiB", "--json")
    assert code == 0, err
    # FIFO with 2 frames on 1 2 3 1 2 4: every reference misses
    assert [(r["frames"], r["faults"]) for r in json.loads(out)] == [(2, 6)]


# ---------------------------------------------------------------- policy names


def test_policy_names_are_case_insensitive(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    lower = json.loads(vm(capsys, "simulate", small, "-p", "lru,fifo", "-f", "2", "--json")[1])
    mixed = json.loads(vm(capsys, "simulate", small, "-p", "LRU,Fifo", "-f", "2", "--json")[1])
    assert mixed == lower and [r["policy"] for r in mixed] == ["lru", "fifo"]
    code, out, _ = vm(capsys, "replay", small, "-p", "CLOCK", "-f", "2", "--json")
    assert code == 0 and json.loads(out)[0]["policy"] == "clock"
    code, out, _ = vm(capsys, "mrc", small, "-p", "FIFO", "--sizes", "2", "--json")
    assert code == 0 and json.loads(out)[0]["points"][0]["misses"] == 6


def test_policies_says_which_commands_take_each(capsys: pytest.CaptureFixture[str]) -> None:
    from vmsim.engine.kernels import kernel_names
    from vmsim.policies import policy_class, policy_names

    code, out, _ = vm(capsys, "policies", "--json")
    assert code == 0
    table = {r["name"]: r["commands"].split(", ") for r in json.loads(out)}
    assert set(table) == set(kernel_names()) | set(policy_names())
    for name, commands in table.items():
        assert ("simulate" in commands) == ("mrc" in commands) == (name in kernel_names())
        replayable = name in policy_names() and not policy_class(name).remembers_evicted
        assert ("replay" in commands) == replayable
    for ghosts in ("arc", "2q", "lirs"):  # keep a history of evicted pages: not on frames
        assert table[ghosts] == ["simulate", "mrc"]
    for both in ("lru", "fifo", "clock", "opt"):
        assert table[both] == ["simulate", "mrc", "replay"]


def test_every_policy_that_policies_lists_for_a_command_runs_there(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    rows = json.loads(vm(capsys, "policies", "--json")[1])
    for r in rows:
        for command in r["commands"].split(", "):
            args = ["--sizes", "2"] if command == "mrc" else ["-f", "2"]
            code, _, err = vm(capsys, command, small, "-p", r["name"].upper(), *args, "--json")
            assert code == 0, (r["name"], command, err)


# ---------------------------------------------------------------- lists


def test_mrc_of_several_policies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "mrc.png"
    code, out, err = vm(
        capsys,
        "mrc",
        LS,
        "-p",
        "lru,fifo,clock",
        "--sizes",
        "16,64,256",
        "--clock-load-clear",
        "--json",
        "--plot",
        png,
    )
    assert code == 0, err
    curves = json.loads(out)
    golden = json.loads((DATA / "golden.json").read_text())["ls.lackey.xz"]["all"]
    assert [(c["policy"], c["method"]) for c in curves] == [
        ("lru", "exact"), ("fifo", "simulated"), ("clock", "simulated")
    ]  # fmt: skip
    for c in curves:
        assert {str(p["frames"]): p["misses"] for p in c["points"]} == golden[c["policy"]]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # golden clock clears the accessed bit on load (libCacheSim's); the option reaches only clock


def test_mrc_method_exact_is_for_lru_alone(capsys: pytest.CaptureFixture[str], small: Path) -> None:
    code, _, err = vm(capsys, "mrc", small, "-p", "lru,fifo", "--method", "exact")
    assert code == 1
    want = "--method='exact': only for lru alone; use --method simulate for fifo"
    assert err == f"vmsim: error: {want}\n"


def test_tlb_entries_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cyc = tmp_path / "cycle.txt"  # pages 1 2 3 cycled 4 times: 12 references
    cyc.write_text("".join(f"{p << 12:#x}\n" for p in [1, 2, 3] * 4))
    code, out, err = vm(capsys, "tlb", cyc, "--entries", "2,3,1024", "--ways", "0", "--json")
    assert code == 0, err
    runs = json.loads(out)
    # a 2-entry LRU TLB misses every reference of a 3-page cycle; 3 or more entries: cold only
    assert [(r["l1"]["entries"], r["l1"]["misses"], r["walks"]) for r in runs] == [
        (2, 12, 12), (3, 3, 3), (1024, 3, 3)
    ]  # fmt: skip
    one = json.loads(vm(capsys, "tlb", cyc, "--entries", "3", "--ways", "0", "--json")[1])
    assert one == [runs[1]]  # the same shape with one size


# ---------------------------------------------------------------- replay's options


def test_replay_on_a_textbook_machine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "belady.trace"  # 1 KiB pages in a 16 KiB address space, a bad line
    lines = [f"{p << 10:#x}" for p in [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]]
    trace.write_text("\n".join([*lines[:3], "zzz", *lines[3:]]) + "\n")
    args = ["replay", trace, "--format", "text", "--paging", "linear", "--page-size", "1KiB",
            "--address-space", "16KiB", "-p", "fifo", "-f", "3,4", "--json"]  # fmt: skip
    code, _, err = vm(capsys, *args)
    assert code == 1 and f"{trace}:4" in err  # the bad line, by number
    code, out, err = vm(capsys, *args, "--skip-bad")
    assert code == 0, err
    assert "skipped 1 malformed" in err
    assert [(r["frames"], r["faults"]) for r in json.loads(out)] == [(3, 9), (4, 10)]  # Belady


def test_replay_names_an_address_the_paging_cannot_map(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "far.txt"
    trace.write_text("0x100\n0x2000\n0x4000\n0x123456\n")
    code, _, err = vm(capsys, "replay", trace, "--paging", "linear", "--page-size", "1KiB",
                      "--address-space", "16KiB")  # fmt: skip
    assert code == 1 and err.count("\n") == 1
    assert "reference 3 at address 0x4000 does not fit" in err
    assert "from 0 to 0x3fff (16KiB)" in err and "2 references are beyond" in err
    assert "--address-space" in err


def test_replay_linear_needs_an_address_space(
    capsys: pytest.CaptureFixture[str], small: Path
) -> None:
    code, _, err = vm(capsys, "replay", small, "--paging", "linear")
    assert code == 1
    assert err == "vmsim: error: --address-space=None: a power of two (linear paging)\n"


# ---------------------------------------------------------------- the user's option names


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (
            ["tlb", "--l2-entries", "1536", "--l2-ways", "5"],
            "--l2-ways=5: 0 (fully associative) or a divisor of 1536",
            1,
        ),
        (
            ["tlb", "--entries", "64", "--ways", "5"],
            "--ways=5: 0 (fully associative) or a divisor of 64",
            1,
        ),
        (
            ["replay", "--tlb-entries", "64", "--tlb-ways", "5"],
            "--tlb-ways=5: a divisor of --tlb-entries (64)",
            1,
        ),
        (["replay", "--page-size", "8KiB"], "--page-size=8192: x86_64 uses 4096-byte pages", 1),
        (["replay", "-p", "arc"], "--policy='arc': a policy that works on frames", 1),
        (["simulate", "--page-size", "3000"], "'--page-size': 3000 is not a power of two", 2),
        (
            ["simulate", "-p", "lru", "--clock-load-clear"],
            "'--clock-load-clear': only for clock",
            2,
        ),
        (["mrc", "-p", "fifo", "--seed", "3"], "'--seed': only for ostep-clock, random", 2),
        (["simulate", "-p", "lru,nope"], "--policy='nope': the engine runs ", 1),
    ],
)
def test_errors_name_the_users_option(
    capsys: pytest.CaptureFixture[str], small: Path, args: list[str], message: str, code: int
) -> None:
    got, _, err = vm(capsys, args[0], small, *args[1:])
    assert got == code and message in err, err  # 2: click's usage errors; 1: vmsim's checks
    assert "tlb_" not in err and "load_sets_refbit" not in err and "page_size" not in err


def test_replay_help_says_what_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = vm(capsys, "replay", "--help")
    assert code == 0
    text = " ".join(out.split())
    for what in ("page faults", "major faults", "TLB misses", "swap outs", "per second", "JSON"):
        assert what in text


@pytest.mark.parametrize(
    ("one", "several"),
    [
        (["simulate", "-f", "2"], ["simulate", "-p", "lru,fifo", "-f", "2,3"]),
        (["replay", "-f", "2"], ["replay", "-p", "lru,fifo", "-f", "2,3"]),
        (["mrc"], ["mrc", "-p", "lru,fifo"]),
        (["tlb"], ["tlb", "--entries", "4,8", "--l2-entries", "24"]),
    ],
)
def test_json_of_one_command_has_one_shape(
    capsys: pytest.CaptureFixture[str], small: Path, one: list[str], several: list[str]
) -> None:
    a = json.loads(vm(capsys, one[0], small, *one[1:], "--json")[1])
    b = json.loads(vm(capsys, several[0], small, *several[1:], "--json")[1])
    assert isinstance(a, list) and isinstance(b, list) and len(a) == 1 and len(b) > 1
    base = set(a[0])
    assert all(set(x) >= base for x in b)  # an L2 adds its own object, nothing else changes
