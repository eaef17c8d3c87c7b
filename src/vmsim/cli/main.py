"""Entry point of the `vmsim` command: the group, global options and error handling.

Commands live in one module per area (machine.py, engine.py, ostep.py); each exposes
COMMANDS, a list of click commands added here. Heavy imports (NumPy, Numba) happen
inside commands, so `vmsim --help` stays fast. A user never sees a bare traceback:
vmsim errors become one line on stderr and exit status 1; anything else is reported
as an internal error (set VMSIM_DEBUG=1 to see its traceback).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from vmsim import __version__
from vmsim.cli import engine, machine, ostep, replay, run, sweep
from vmsim.errors import VmsimError

EXIT_ERROR = 1
EXIT_INTERNAL = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="vmsim")
def cli() -> None:
    """vmsim: a virtual-memory system you can run, look inside and measure."""


for _module in (machine, engine, replay, ostep, run, sweep):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) the exit status."""
    try:
        status = cli.main(args=argv, prog_name="vmsim", standalone_mode=False)
        return status if isinstance(status, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("vmsim: aborted", err=True)
        return 130
    except VmsimError as exc:
        click.echo(f"vmsim: error: {exc}", err=True)
        return EXIT_ERROR
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("vmsim: interrupted", err=True)
        return 130
    except Exception as exc:
        if os.environ.get("VMSIM_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"vmsim: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in vmsim; run again with VMSIM_DEBUG=1 for the details.",
            err=True,
        )
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
