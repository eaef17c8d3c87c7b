"""`vmsim ostep`: the six OSTEP homework simulators, byte for byte.

Each subcommand hands its raw arguments to the simulator's own optparse parser
(`vmsim.ostep.<simulator>.run`), so flags behave exactly as in the original: short
and long forms, `--opt=value`, `-ovalue`, long-option prefixes, `--`, and `-h`
printing the original's help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

SIMULATORS = {
    "relocation": ("relocation", "base-and-bounds translation (vm-mechanism/relocation.py)"),
    "segmentation": ("segmentation", "two segments, one growing down (vm-segmentation)"),
    "malloc": ("malloc", "free-list allocator: fits, list orders, coalescing (vm-freespace)"),
    "paging-linear-translate": (
        "paging_linear_translate",
        "linear page table translation (vm-paging)",
    ),
    "paging-multilevel-translate": (
        "paging_multilevel_translate",
        "two-level page table walk over a memory dump (vm-smalltables)",
    ),
    "paging-policy": (
        "paging_policy",
        "page replacement: FIFO LRU MRU OPT UNOPT RAND CLOCK; also --trace FILE, --json",
    ),
}


class ExitStatus(click.ClickException):
    """Leave with the simulator's exit status; it has already printed what it had to say.

    A ClickException (not click's Exit) because `vmsim.cli.main.main` returns a
    ClickException's exit_code, whereas it drops the status of a click Exit.
    """

    def __init__(self, status: int) -> None:
        super().__init__(f"exit status {status}")
        setattr(self, "exit_code", status)  # noqa: B010 (a ClassVar on ClickException)

    def show(self, file: Any = None) -> None:
        """Nothing to add: the simulator printed its own messages."""


class RawArgsCommand(click.Command):
    """A command that gives every argument after its name, untouched, to its callback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Keep args as they are (the simulator's optparse parser reads them)."""
        ctx.params = {"argv": list(args)}
        ctx.args = []
        return []


def _make(name: str, module: str, summary: str) -> click.Command:
    """The subcommand running simulator `module`."""

    def callback(argv: list[str]) -> Any:
        import importlib

        run: Callable[[list[str]], int] = importlib.import_module(f"vmsim.ostep.{module}").run
        status = run(argv)
        if status:
            raise ExitStatus(status)

    return RawArgsCommand(
        name,
        callback=callback,
        help=f"{summary}. Takes the original's flags; -h shows them.",
        short_help=summary,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True},
    )


@click.group(name="ostep")
def ostep() -> None:
    """The OSTEP virtual-memory homework simulators: same flags, same output.

    `vmsim ostep SIMULATOR -h` shows the original's flags. For the same -s seed
    the problems and answers (-c) are the originals', byte for byte.
    paging-policy also reads any trace file the engine reads (--trace FILE),
    prints --json, and counts -N runs in seconds even for OPT.
    """


for _name, (_module, _summary) in SIMULATORS.items():
    ostep.add_command(_make(_name, _module, _summary))

COMMANDS: list[click.Command] = [ostep]
