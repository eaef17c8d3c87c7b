"""Flags as optparse reads them, and sizes as the originals convert them."""

from __future__ import annotations

import pytest

from vmsim.cli.main import main
from vmsim.ostep.common import OstepError, convert

SCRIPTS = {
    "relocation": ("relocation.py", ["--seed", "--asize", "--physmem", "--addresses", "--compute"]),
    "segmentation": ("segmentation.py", ["--addresses", "--b0", "--l0", "--b1", "--l1"]),
    "malloc": ("malloc.py", ["--headerSize", "--alignment", "--listOrder", "--coalesce"]),
    "paging-linear-translate": ("paging-linear-translate.py", ["--pagesize", "--used"]),
    "paging-multilevel-translate": ("paging-multilevel-translate.py", ["--allocated", "--solve"]),
    "paging-policy": ("paging-policy.py", ["--addressfile", "--clockbits", "--notrace"]),
}


@pytest.mark.parametrize(
    ("text", "value"),
    [("16", 16), ("4k", 4096), ("4K", 4096), ("2m", 2 << 20), ("3M", 3 << 20), ("1g", 1 << 30),
     ("1G", 1 << 30), ("-1", -1), ("0k", 0), (" 7", 7)],
)  # fmt: skip
def test_sizes_k_m_g_are_binary(text: str, value: int) -> None:
    assert convert(text, "relocation", "-a") == value


@pytest.mark.parametrize("text", ["0x100", "4kb", "", "k", "1.5k", "16KiB"])
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(OstepError, match="option -a: invalid size"):
        convert(text, "relocation", "-a")


def _out(capsys: pytest.CaptureFixture[str], simulator: str, *args: str) -> str:
    assert main(["ostep", simulator, *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("simulator", "forms"),
    [
        ("relocation", [["-s", "1", "-n", "3", "-c"], ["--seed=1", "--addresses", "3", "--compute"],
                        ["-s1", "-n3", "-c"], ["--se=1", "--addr=3", "--comp"], ["-cs1", "-n3"]]),
        ("segmentation", [["-s", "2", "-a", "2k", "-p", "32k", "-c"],
                          ["--seed=2", "--asize=2k", "--physmem", "32k", "-c"]]),
        ("malloc", [["-s", "3", "-p", "FIRST", "-l", "INSERT-FRONT", "-C", "-c"],
                    ["--seed=3", "--policy=FIRST", "--listOrder=INSERT-FRONT", "--coal", "-cC"]]),
        ("paging-linear-translate", [["-s", "4", "-P", "1k", "-v", "-c"],
                                     ["--seed", "4", "--pagesize=1k", "-vc"]]),
        ("paging-multilevel-translate", [["-s", "5", "-c"], ["--seed=5", "--solve"]]),
        ("paging-policy", [["-s", "6", "-p", "LRU", "-C", "4", "-c"],
                           ["--seed=6", "--policy=LRU", "--cachesize=4", "--compute"],
                           ["-s6", "-pLRU", "-C4", "-c"]]),
    ],
)  # fmt: skip
def test_short_long_and_glued_forms_are_the_same_run(
    capsys: pytest.CaptureFixture[str], simulator: str, forms: list[list[str]]
) -> None:
    outs = {_out(capsys, simulator, *form) for form in forms}
    assert len(outs) == 1


@pytest.mark.parametrize("simulator", sorted(SCRIPTS))
def test_h_prints_the_originals_help(capsys: pytest.CaptureFixture[str], simulator: str) -> None:
    script, longs = SCRIPTS[simulator]
    out = _out(capsys, simulator, "-h")
    assert out.startswith(f"Usage: {script} [options]\n\nOptions:\n  -h, --help")
    for name in longs:
        assert name in out


def test_int_options_take_optparse_prefixes(capsys: pytest.CaptureFixture[str]) -> None:
    # optparse reads -s 010 as octal 8 and -s 0x1f as 31, as the original does
    assert _out(capsys, "relocation", "-s", "010", "-c").splitlines()[1] == "ARG seed 8"
    assert _out(capsys, "relocation", "-s", "0x1f", "-c").splitlines()[1] == "ARG seed 31"
    # paging-policy's -s is a string option: echoed as given, then int()
    out = _out(capsys, "paging-policy", "-s", "007", "-c")
    assert "ARG seed 007" in out and out == _out(capsys, "paging-policy", "-s", "7", "-c").replace(
        "ARG seed 7", "ARG seed 007"
    )


def test_positional_arguments_are_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    assert _out(capsys, "relocation", "extra", "-c") == _out(capsys, "relocation", "-c")


def test_the_group_lists_the_six_simulators(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ostep", "--help"]) == 0
    out = capsys.readouterr().out
    for name in SCRIPTS:
        assert name in out
