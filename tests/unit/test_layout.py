"""The test tree is a package: helpers are imported by their package path, never by a bare name.

A bare ``from fakes import ...`` only works while pytest happens to put that test directory on
sys.path, and it forces helper file names to be unique across the whole tree.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _sources() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _imported(tree: ast.AST) -> list[tuple[int, str, int]]:
    """(line, module, level) for every import in the tree."""
    found: list[tuple[int, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or "", node.level))
    return found


def test_no_test_module_is_imported_by_a_bare_name() -> None:
    local = {path.stem for path in _sources()} - {"__init__"}
    bare = [
        f"{path.relative_to(TESTS.parent)}:{line}: {'.' * level}{module}"
        for path in _sources()
        for line, module, level in _imported(ast.parse(path.read_text(), str(path)))
        if level or module.split(".")[0] in local
    ]
    assert not bare, "import test helpers as tests.<package>.<module>:\n" + "\n".join(bare)


def test_every_test_directory_is_a_package() -> None:
    directories = {path.parent for path in _sources()}
    missing = sorted(
        str(d.relative_to(TESTS.parent)) for d in directories if not (d / "__init__.py").exists()
    )
    assert not missing, f"add __init__.py to: {missing}"
