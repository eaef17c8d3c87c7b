"""vmsim.report: see ../shared/DESIGN.md."""
