"""Where the originals crash or hang: the same stdout up to that point, a clear error, status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vmsim.cli.main import main

PP_ARGS = (
    "ARG addresses {a}\nARG addressfile {f}\nARG numaddrs 10\nARG policy {p}\nARG clockbits 2\n"
    "ARG cachesize {c}\nARG maxpage 10\nARG seed 0\nARG notrace False\n\n"
)

# (simulator, args, what stdout ends with: everything the original printed before dying)
CRASHES = [
    # the originals loop forever: no base can be found
    ("relocation", ["-l", "20000", "-c"], "ARG phys mem size 16k\n\n"),
    ("segmentation", ["-l", "20000", "-c"], "ARG phys mem size 16k\n\n"),
    ("segmentation", ["-p", "2049", "-b", "0", "-l", "512", "-L", "2000", "-c"],
     "ARG phys mem size 2049\n\n"),
    # ValueError in int() of a listed address / size
    ("segmentation", ["-A", "1,x,3", "-c"], "Virtual Address Trace\n"
     "  VA  0: 0x00000001 (decimal:    1) --> VALID in SEG0: 0x00001aeb (decimal: 6891)\n"),
    ("relocation", ["-a", "4kb"], "ARG address space size 4kb\nARG phys mem size 16k\n\n"),
    ("relocation", ["-p", ""], "ARG phys mem size \n\n"),
    # AssertionError: an unknown policy / order / alignment, before anything is printed
    ("malloc", ["-p", "NEXT"], ""),
    ("malloc", ["-l", "addrsort"], ""),
    ("malloc", ["-a", "0"], ""),
    # AssertionError after the arguments: no allocations at all
    ("malloc", ["-P", "0"], "allocList \ncompute False\n\n"),
    # AssertionError: a zero-size chunk makes the next allocation return a live address
    ("malloc", ["-A", "+0,+5", "-c"], "ptr[0] = Alloc(0) returned 1000 (searched 1 elements)\n"
     "Free List [ Size 1 ]: [ addr:1000 sz:100 ]\n\n"),
    # NameError (abort() is not defined) on a bad op; KeyError freeing a failed allocation
    ("malloc", ["-A", "+10,x5", "-c"], "Free List [ Size 1 ]: [ addr:1010 sz:90 ]\n\n"),
    ("malloc", ["-A", "+10,+200,+10,-1", "-c"], "Free List [ Size 1 ]: [ addr:1020 sz:80 ]\n\n"
     "Free(ptr[1])\n"),
    # ZeroDivisionError / IndexError in paging-linear-translate
    ("paging-linear-translate", ["-P", "0"], "ARG addresses -1\n\n"),
    ("paging-linear-translate", ["-s", "0", "-A", "0,20000", "-c"], "Virtual Address Trace\n"
     "  VA 0x00000000 (decimal:        0) --> 0000c000 (decimal    49152) [VPN 0]\n"),
    # AssertionError: out of physical frames
    ("paging-multilevel-translate", ["-s", "3", "-a", "100", "-c"], "ARG num 10\n\n"),
    # IndexError: pop from an empty list with -C 0
    ("paging-policy", ["-C", "0", "-c"], PP_ARGS.format(a=-1, f="", p="FIFO", c=0)
     + "Solving...\n\n"),
    # ZeroDivisionError: no references at all
    ("paging-policy", ["-n", "0", "-c", "-N"], "ARG notrace True\n\n\n"),
    # ValueError: a reference that is not a number, when the replay reaches it ...
    ("paging-policy", ["-a", "1,2,x", "-c"], "Access: 2  MISS FirstIn ->       [1, 2] <- Lastin "
     " Replaced:- [Hits:0 Misses:2]\n"),
    ("paging-policy", ["-a", "1,2,x"], "Access: 1  Hit/Miss?  State of Memory?\n"
     "Access: 2  Hit/Miss?  State of Memory?\n"),
    # ... or when OPT scans the future for a next use
    ("paging-policy", ["-a", "1,2,3,4,5,1,2,x", "-p", "OPT", "-c"], "Access: 3  MISS Left  ->"
     "    [1, 2, 3] <- Right Replaced:- [Hits:0 Misses:3]\n"),
    # IOError: no such address file
    ("paging-policy", ["-f", "/nonexistent/refs.txt", "-c"],
     PP_ARGS.format(a=-1, f="/nonexistent/refs.txt", p="FIFO", c=3)),
]  # fmt: skip


@pytest.mark.parametrize(("simulator", "args", "tail"), CRASHES, ids=lambda x: str(x)[:40])
def test_a_crash_of_the_original_is_a_clear_error(
    simulator: str, args: list[str], tail: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ostep", simulator, *args]) == 1
    out, err = capsys.readouterr()
    assert out.endswith(tail)
    assert err.startswith(f"vmsim: error: ostep {simulator}: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_no_traceback_through_the_real_command(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vmsim.cli.main", "ostep", "paging-policy", "-C", "0", "-c"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "-C 0" in r.stderr
    assert r.stdout.endswith("Solving...\n\n")


@pytest.mark.parametrize(
    ("simulator", "args", "status", "last"),
    [
        ("relocation", ["-p", "1"], 1, "Error: must specify a non-zero physical memory size.\n"),
        ("segmentation", ["-a", "16", "-p", "32", "-s", "100", "-c"], 1,
         "Error: physical memory must be 2x GREATER than address space size (if randomly "
         "generating base registers)\n"),
        ("segmentation", ["-A", "1024", "-c"], 1, "Virtual Address Trace\n"
         "Error: virtual address 1024 cannot be generated in an address space of size 1024\n"),
        ("paging-linear-translate", ["-a", "12k"], 1,
         "Error in argument: address space must be a power of 2\n"),
        ("paging-linear-translate", ["-p", "1g"], 1,
         "Error: must use smaller sizes (less than 1 GB) for this simulation.\n"),
        ("paging-policy", ["-p", "LFU", "-c"], 1,
         "Solving...\n\nPolicy LFU is not yet implemented\n"),
    ],
)  # fmt: skip
def test_the_originals_own_errors_go_to_stdout(
    simulator: str, args: list[str], status: int, last: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ostep", simulator, *args]) == status
    out, err = capsys.readouterr()
    assert out.endswith(last)
    assert err == ""


def test_lfu_in_question_mode_is_not_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ostep", "paging-policy", "-p", "LFU"]) == 0
    assert "Assuming a replacement policy of LFU" in capsys.readouterr().out


def test_usage_errors_exit_2_like_optparse(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ostep", "relocation", "-s", "x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Usage: relocation.py [options]" in err
    assert "relocation.py: error: option -s: invalid integer value: 'x'" in err
    assert main(["ostep", "malloc", "--nope"]) == 2
    assert "no such option: --nope" in capsys.readouterr().err
