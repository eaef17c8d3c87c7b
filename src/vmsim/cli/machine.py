"""Commands of the simulated machine: demo, policies."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table


@click.command()
def policies() -> None:
    """List the page-replacement policies."""
    from vmsim.policies import policy_class, policy_names

    table = Table(title="replacement policies")
    table.add_column("name")
    table.add_column("description")
    table.add_column("needs the future")
    for name in policy_names():
        cls = policy_class(name)
        table.add_row(name, cls.description, "yes" if cls.needs_future else "")
    Console().print(table)


COMMANDS: list[click.Command] = [policies]
