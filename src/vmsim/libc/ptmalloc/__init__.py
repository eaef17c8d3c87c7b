"""ptmalloc: glibc 2.36's malloc (malloc/malloc.c, x86-64), running on simulated memory."""

from vmsim.libc.ptmalloc.core import Ptmalloc

__all__ = ["Ptmalloc"]
