"""What a normal start imports: the simulator is for --demo, tests and benchmarks only."""

import subprocess
import sys


def test_a_normal_start_loads_no_simulator_module() -> None:
    code = (
        "import sys, exporter.cli\n"
        "loaded = sorted(m for m in sys.modules if m == 'simulator' or m.startswith('simulator.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
