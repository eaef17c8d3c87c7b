"""vmsim.kernel: see ../shared/DESIGN.md."""
