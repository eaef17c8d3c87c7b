"""vmsim.trace: see ../shared/DESIGN.md."""
