"""glibc's malloc told to hand big blocks back to the system as soon as they are freed.

A collection of a large fleet makes tens of megabytes of short-lived buffers (the upstream's
answer, its decoded string, the bodies being written). glibc serves a block past its mmap
threshold from a mapping of its own, returned when freed, but it raises that threshold after the
first such block is freed (up to 32 MiB), and from then on these buffers come from the heap,
whose pages the process keeps. Fixing the threshold at glibc's own starting value keeps every
collection's buffers out of the heap; docs/performance.md has what it saves.
"""

import ctypes
import platform

_M_MMAP_THRESHOLD = -3  # malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default, before it adjusts it


def keep_big_blocks_apart(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc or refuses."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
