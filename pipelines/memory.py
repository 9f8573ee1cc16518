"""Handing memory a step has freed back to the operating system before the next step.

The daily run is one process (Dagster's in-process executor): landing, bronze and silver of
every source follow each other in it. Memory a step frees stays with the allocator that held
it: glibc's arenas keep ~1 GiB after the full-scale bus GPS simulator (measured: resident set
2.6 GiB after the landing, 1.5 GiB after `malloc_trim`), so without this every later step
starts from the earlier steps' high-water mark. (Polars' jemalloc returns its pages on a
timer, which polars sets; DuckDB frees its buffers when its connection closes.)
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from functools import cache

import pyarrow as pa


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - absent on musl
    except (OSError, AttributeError):
        return None
    return libc


def resident_gib() -> float:
    """This process's resident set now (Linux; 0.0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def release_unused_memory() -> None:
    """Collect garbage, then return freed pages: Arrow's pool, then glibc's heap."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
