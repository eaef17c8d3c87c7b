"""vmsim.hw: see ../shared/DESIGN.md."""
