"""Golden exposition files: a collector's rendered text exposition compared with a checked-in copy.

Set ``UPDATE_GOLDEN=1`` to (re)write the golden files instead of comparing, then review the diff
with ``git diff`` before committing it.
"""

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from prometheus_client.core import Metric

from exporter.series import Format, SeriesStore

UPDATE_ENV = "UPDATE_GOLDEN"


def updating() -> bool:
    return os.environ.get(UPDATE_ENV, "") == "1"


def exposition(families: Sequence[Metric]) -> str:
    """The text exposition the exporter serves for these families, through a collector's series
    store as the runner encodes them: a golden file written by prometheus_client proves the store
    byte-identical to it."""
    return SeriesStore().encode(families).exposition(Format.TEXT).decode()


def assert_golden(actual: str, golden: Path) -> None:
    """``actual`` equals the golden file; with UPDATE_GOLDEN=1 the golden file is rewritten instead."""
    if updating():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        return
    assert golden.is_file(), f"{golden} is missing: run the test with {UPDATE_ENV}=1 to create it"
    expected = golden.read_text(encoding="utf-8")
    assert expected.strip(), f"{golden} is empty: run the test with {UPDATE_ENV}=1 to regenerate it"
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{golden} (golden)",
                tofile="rendered now",
            )
        )
        raise AssertionError(
            f"the exposition differs from {golden.name}; if the change is intended, "
            f"rerun with {UPDATE_ENV}=1 and commit the new file:\n{diff}"
        )
