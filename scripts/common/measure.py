"""Peak memory of a piece of code: CUDA's allocator statistics, or the CPU's resident set size.

``PeakMemory`` reports the peak bytes allocated above the level at entry. On CUDA it reads
``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``; on the CPU it samples the
resident set size every 0.2 ms from /proc/self/statm in a background thread, with glibc told
(mallopt) to mmap every allocation >= 128 KiB and unmap it on free, so RSS follows the live tensors
(a very short-lived peak can be missed: treat CPU numbers as a lower bound).
"""

import ctypes
import os
import threading
import time

import torch


def _mmap_large_allocations():
    """Make glibc serve every allocation ≥ 128 KiB by mmap and unmap it on free (fixed threshold, no
    dynamic raise), so the resident set size follows the live tensors instead of staying at glibc's
    cached high-water mark. A no-op where glibc is absent."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakRSS:
    """Peak resident set size (bytes) above the level at entry, sampled by a thread (CPU)."""

    def __init__(self, interval=2e-4):
        self.interval, self.page = interval, os.sysconf("SC_PAGE_SIZE")
        _mmap_large_allocations()

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self):
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.extra = self.peak - self.base


class PeakMemory:
    """Peak bytes above the level at entry, on ``device`` (``extra`` after the ``with`` block)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.cuda = torch.device(device).type == "cuda"
        self._cpu = None if self.cuda else PeakRSS()

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self._cpu.__enter__()
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
            self.extra = torch.cuda.max_memory_allocated() - self.base
        else:
            self._cpu.__exit__(*exc)
            self.extra = self._cpu.extra


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call (CPU clocks; synchronise a
    GPU inside ``fn`` if it launches work there)."""
    import statistics
    import time

    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
