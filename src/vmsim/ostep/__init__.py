"""vmsim.ostep: see ../shared/DESIGN.md."""
