"""vmsim.libc: see ../shared/DESIGN.md."""
