from pathlib import Path

from exporter.metrics_doc import all_tables, documented

DOC = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def test_docs_list_exactly_the_families_the_code_declares() -> None:
    in_docs = documented(DOC.read_text())
    in_code = {spec.name: (spec.type, spec.labels) for table in all_tables().values() for spec in table}
    assert in_code, "no collector is installed: run `pip install -e .`"
    missing = sorted(set(in_code) - set(in_docs))
    extra = sorted(set(in_docs) - set(in_code))
    assert not missing, f"families missing from docs/metrics.md: {missing}"
    assert not extra, f"docs/metrics.md lists families the code does not declare: {extra}"
    for name, (kind, labels) in in_code.items():
        assert in_docs[name] == (kind, labels), (
            f"{name}: docs say {in_docs[name]}, code says {(kind, labels)}"
        )


def test_every_builtin_collector_is_documented() -> None:
    assert {"exporter", "skyserve"} <= set(all_tables())


def test_a_family_shared_by_collectors_has_one_type_and_label_set() -> None:
    # Families with one name are joined under one header at scrape time: they must agree.
    shapes: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
    for table in all_tables().values():
        for spec in table:
            shapes.setdefault(spec.name, set()).add((spec.type, spec.labels))
    assert {name: found for name, found in shapes.items() if len(found) > 1} == {}
