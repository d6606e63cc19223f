"""Import boundaries: the framework knows no plugin, and a normal start loads no simulator."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports, at any depth (TYPE_CHECKING and lazy too)."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path.relative_to(package.parent).as_posix()] = names
    return found


def test_the_framework_imports_no_collector() -> None:
    leaks = {
        path: sorted(n for n in names if n == "collectors" or n.startswith("collectors."))
        for path, names in imported_modules(ROOT / "exporter").items()
    }
    assert {path: names for path, names in leaks.items() if names} == {}


def test_the_import_check_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import collectors.a\n"
        "def f() -> None:\n    from collectors.b import x\n"
    )
    found = imported_modules(package)
    assert {"collectors.a", "collectors.b"} <= next(iter(found.values()))


def test_only_the_demo_module_of_the_framework_imports_the_simulator() -> None:
    users = {
        path
        for path, names in imported_modules(ROOT / "exporter").items()
        if any(n == "simulator" or n.startswith("simulator.") for n in names)
    }
    assert users == {"exporter/demo.py"}


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
