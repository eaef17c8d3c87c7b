"""The `vmsim` command: one click group, commands contributed by one module per area."""
