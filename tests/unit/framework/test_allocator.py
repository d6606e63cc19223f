"""The allocator setting, in a process of its own (it is process-wide)."""

import platform
import subprocess
import sys

import pytest

from exporter.allocator import MMAP_THRESHOLD_BYTES


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_big_blocks_are_returned_to_the_system_when_freed() -> None:
    # After one big block is freed glibc would serve the next ones from its heap and keep their
    # pages; with the threshold fixed, freeing a big buffer gives its pages back at once.
    script = f"""
import sys
from pathlib import Path
from exporter.allocator import keep_big_blocks_apart

def rss_kib():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1])

if sys.argv[1] == "fixed":
    assert keep_big_blocks_apart()
first = bytearray({MMAP_THRESHOLD_BYTES} * 4)
del first  # glibc would now raise its threshold above this size
before = rss_kib()
blocks, kept = [], []
for _ in range(200):
    blocks.append(bytearray(b"x" * {MMAP_THRESHOLD_BYTES * 2}))
    kept.append(bytearray(b"y" * 3000))  # still in use after them, as a collection's survivors are
del blocks
print(rss_kib() - before)
"""
    grown = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("default", "fixed")
    }
    size_kib = 200 * MMAP_THRESHOLD_BYTES * 2 // 1024
    assert grown["default"] > size_kib // 4  # the control: glibc's own behaviour kept the pages
    assert grown["fixed"] < size_kib // 10
