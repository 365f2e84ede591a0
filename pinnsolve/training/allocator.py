"""Keep freed CPU memory in the process, so that a training step does not page-fault its temporaries.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves blocks above a threshold
(128 KiB, raised as large blocks are freed, at most 32 MiB) with fresh ``mmap`` pages and gives the
top of its heap back to the system once more than twice that threshold is free. A natural-gradient
step allocates and frees tens of ``[points, channels, width]`` tensors of a few MiB each, so with
the defaults every one of them is fresh memory whose pages fault on first touch: measured on
poisson5d (N = 3500, P = 10 065, one CPU thread), one line-search loss took 63 ms with 15 500 page
faults and 32 ms with none once freed memory is kept (BENCHMARKS.md). :func:`keep_freed_memory`
fixes both thresholds (``mallopt``): blocks up to 32 MiB come from the heap, and the heap is not
trimmed. The process then keeps its peak memory until it exits, as a GPU caching allocator does.

The trainer calls it on the CPU. It changes nothing where the C library is not glibc, or where the
user chose for themselves through glibc's ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's mallopt parameters
MMAP_THRESHOLD = 32 * 2**20                      # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 2**31 - 1                       # never trim: freed memory stays for the next step
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_state: str | None = None


def keep_freed_memory() -> str:
    """Set glibc's mmap and trim thresholds once per process; returns what was done (for summary.json)."""
    global _state
    if _state is not None:
        return _state
    chosen = [name for name in USER_SETTINGS if name in os.environ]
    if chosen:
        _state = f"unchanged: the user set {', '.join(chosen)}"
    elif platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        _state = "unchanged: the C library is not glibc"
    else:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            done = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        except (OSError, AttributeError):
            done = False
        _state = ("glibc malloc keeps freed memory (mmap threshold 32 MiB, no trimming)" if done
                  else "unchanged: mallopt was refused")
    return _state
