"""Remake the console screenshots in docs/images/ that the README shows.

    PYTHONPATH=. .venv/bin/python scripts/console_screenshots.py [--out docs/images]

Starts the exporter as tests/integration/test_console_browser.py does (``--demo``, and a broken
upstream with a stale collector and a dead probe target), and photographs ``/`` with Debian's
headless Chromium at 1280x800 and at a phone's width. Needs ``chromium`` (scripts/test.sh installs
it); everything stays on loopback.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.console import (  # noqa: E402
    DESKTOP,
    NARROW,
    demo_exporter,
    failing_exporter,
    png_size,
    screenshot,
)

# Long enough for every collector to have run twice, so the ages read like a running exporter's.
SETTLE_SECONDS = 12.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        with demo_exporter(Path(tmp)) as exporter:
            time.sleep(SETTLE_SECONDS)
            shots.append(screenshot(f"{exporter.url}/", args.out / "console-demo-1280x800.png", DESKTOP))
            shots.append(screenshot(f"{exporter.url}/", args.out / "console-demo-narrow.png", NARROW))
        with failing_exporter(Path(tmp)) as exporter:
            shots.append(screenshot(f"{exporter.url}/", args.out / "console-failing-1280x800.png", DESKTOP))
    for shot in shots:
        width, height = png_size(shot)
        print(f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: {width}x{height}")


if __name__ == "__main__":
    main()
