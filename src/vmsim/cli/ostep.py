"""`vmsim ostep`: the six OSTEP homework simulators, byte for byte.

Each subcommand hands its raw arguments to the simulator's own optparse parser
(`vmsim.ostep.<simulator>.run`), so flags behave exactly as in the original: short
and long forms, `--opt=value`, `-ovalue`, long-option prefixes, `--`, and `-h`
printing the original's help.
"""

from __future__ import annotations

from typing import Any

import click

from vmsim.ostep import SIMULATORS, run


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


def _make(name: str, summary: str) -> click.Command:
    """The subcommand running simulator `name`."""

    def callback(argv: list[str]) -> None:
        page = None
        if name == "paging-policy":
            from vmsim.report.view.ostep import split_html

            argv, page = split_html(argv)
        status = run(name, argv)
        if status:
            raise ExitStatus(status)
        if page is not None:
            from vmsim.report.view.ostep import write_paging_policy_page

            write_paging_policy_page(argv, page)

    return RawArgsCommand(
        name,
        callback=callback,
        help=f"{summary}. Takes the original's flags; -h shows them.",
        short_help=summary,
        add_help_option=False,
    )


@click.group(name="ostep")
def ostep() -> None:
    """The OSTEP virtual-memory homework simulators: same flags, same output.

    `vmsim ostep SIMULATOR -h` shows the original's flags. For the same -s seed
    the problems and answers (-c) are the originals', byte for byte.
    paging-policy also reads any trace file the engine reads (--trace FILE),
    prints --json, counts -N runs in seconds even for OPT, and writes --html FILE:
    the run's page faults over time and the policy's miss-ratio curve.
    """


for _name, (_, _summary) in SIMULATORS.items():
    ostep.add_command(_make(_name, _summary))

COMMANDS: list[click.Command] = [ostep]
