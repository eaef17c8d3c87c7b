"""vmsim.engine: see ../shared/DESIGN.md."""
