"""The metric tables as Markdown rows, and the rows read back from docs/metrics.md.

``python -m exporter.metrics_doc`` prints the rows for every installed collector; a test checks
that docs/metrics.md lists exactly these families, so the docs cannot drift from the code.
"""

import re
from collections.abc import Iterable

from exporter.metrics import MetricSpec, MetricTable
from exporter.registry import discover
from exporter.selfmetrics import SELF_METRICS

_ROW = re.compile(
    r"^\|\s*`(?P<name>[a-z_:][a-z0-9_:]*)`\s*\|\s*(?P<type>gauge|counter)\s*\|(?P<labels>[^|]*)\|"
)


def all_tables() -> dict[str, MetricTable]:
    tables = {"exporter": SELF_METRICS}
    tables.update({name: factory.metrics for name, factory in discover().items()})
    return tables


def markdown_row(spec: MetricSpec) -> str:
    labels = ", ".join(f"`{label}`" for label in spec.labels)
    return f"| `{spec.name}` | {spec.type} | {labels} | {spec.help} |"


def markdown_rows(specs: Iterable[MetricSpec]) -> list[str]:
    return [markdown_row(spec) for spec in specs]


def documented(markdown: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Family name -> (type, labels) for every table row of the form ``| `name` | type | labels |``."""
    found = {}
    for line in markdown.splitlines():
        match = _ROW.match(line.strip())
        if match:
            labels = tuple(re.findall(r"`([a-z_][a-z0-9_]*)`", match["labels"]))
            found[match["name"]] = (match["type"], labels)
    return found


def main() -> None:
    header = "| family | type | labels | help |\n|---|---|---|---|"
    for name, table in all_tables().items():
        print(f"\n### {name}\n\n{header}")
        print("\n".join(markdown_rows(table)))


if __name__ == "__main__":
    main()
