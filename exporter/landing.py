"""The console at ``/``: cost, health and probes at a glance, from the status document.

Every figure on the page is one of ``status_document``'s (``/api/v1/status`` serves the same
document), so the page and the JSON cannot disagree; this module only chooses what to show and
draws it. The service table shows ``PAGE_SIZE`` service groups a page, so a page costs the same at
10 or 10,000 services. No script, nothing fetched from elsewhere: a meta refresh reloads it.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from jinja2 import Environment, select_autoescape

from exporter.charts import Bar, Segment, bar_chart, status_bar
from exporter.metrics import MetricTable
from exporter.status import HOURS_PER_MONTH

PAGE_SIZE = 50
DEFAULT_REFRESH_SECONDS = 15
MAX_REFRESH_SECONDS = 3600

# Replica statuses (SkyServe's words, which every source uses) as the page groups and colours them.
STATUS_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("ready", "s-ready", frozenset({"READY"})),
    ("starting", "s-starting", frozenset({"PENDING", "PROVISIONING", "STARTING"})),
    ("not ready", "s-notready", frozenset({"NOT_READY", "UNKNOWN"})),
    (
        "failed",
        "s-failed",
        frozenset({"FAILED", "FAILED_INITIAL_DELAY", "FAILED_PROBING", "FAILED_PROVISION", "FAILED_CLEANUP"}),
    ),
    ("shutting down or preempted", "s-ending", frozenset({"SHUTTING_DOWN", "PREEMPTED"})),
)
_OTHER = ("other", "s-other")

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEMPLATES = files("exporter") / "templates"
_PAGE = _ENVIRONMENT.from_string((_TEMPLATES / "landing.html").read_text(encoding="utf-8"))
_REFERENCE = _ENVIRONMENT.from_string((_TEMPLATES / "metrics_doc.html").read_text(encoding="utf-8"))


def metrics_reference(tables: Mapping[str, MetricTable]) -> str:
    """The console's docs link: every family the installed collectors may emit, and what the
    console's figures are made of."""
    return _REFERENCE.render(tables=tables, hours_per_month=HOURS_PER_MONTH)


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(seconds: float | None) -> str:
    """``12 s ago``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if seconds is None:
        return "never"
    return f"{span(seconds)} ago"


def span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def dollars(amount: float) -> str:
    """``$1,234``, ``$12.35``, ``$0.123``: enough digits to read, the exact value in ``<data>``."""
    if amount >= 1000:
        return f"${amount:,.0f}"
    if amount >= 1 or amount == 0:
        return f"${amount:,.2f}"
    return f"${amount:.3f}"


def percent(share: float) -> str:
    return f"{share * 100:.0f}%" if share >= 0.01 or share == 0 else "<1%"


def replica_segments(by_status: Mapping[str, int]) -> list[Segment]:
    counts = dict.fromkeys([label for label, _, _ in STATUS_GROUPS] + [_OTHER[0]], 0)
    for status, count in by_status.items():
        label = next((label for label, _, members in STATUS_GROUPS if status in members), _OTHER[0])
        counts[label] += count
    css = {label: css for label, css, _ in STATUS_GROUPS} | {_OTHER[0]: _OTHER[1]}
    return [Segment(label, count, css[label]) for label, count in counts.items()]


def replica_words(by_status: Mapping[str, int]) -> str:
    words = [f"{s.value:g} {s.label}" for s in replica_segments(by_status) if s.value]
    return ", ".join(words) or "no replicas"


def _cloud_chart(cost: Mapping[str, Any]) -> Any:
    bars = [
        Bar(
            row["cloud"] or "(unknown)",
            (
                Segment(
                    f"on-demand {dollars(row['on_demand_hourly_dollars'])}/h",
                    row["on_demand_hourly_dollars"],
                    "c-ondemand",
                ),
                Segment(
                    f"spot {dollars(row['spot_hourly_dollars'])}/h", row["spot_hourly_dollars"], "c-spot"
                ),
            ),
            f"{dollars(row['hourly_dollars'])}/h"
            + (f" ({dollars(row['spot_hourly_dollars'])} spot)" if row["spot_hourly_dollars"] else ""),
        )
        for row in cost["by_cloud"]
    ]
    return bar_chart("Hourly cost by cloud (on-demand and spot)", bars)


def _service_chart(cost: Mapping[str, Any]) -> Any:
    bars = [
        Bar(
            row["name"],
            (Segment(f"{dollars(row['hourly_dollars'])}/h", row["hourly_dollars"], "c-service"),),
            f"{dollars(row['hourly_dollars'])}/h ({percent(row['share'])})",
        )
        for row in cost["by_service"]["top"]
    ]
    others = cost["by_service"]["others"]
    if others["services"]:
        amount = others["hourly_dollars"]
        label = f"{others['services']} more service{'s' if others['services'] != 1 else ''}"
        bars.append(Bar(label, (Segment(label, amount, "c-others"),), f"{dollars(amount)}/h"))
    return bar_chart("Hourly cost by service, most expensive first", bars)


def _rows(document: Mapping[str, Any], shown: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The groups on this page with their per-source entries (the document's, in its order)."""
    wanted = {(group["name"], group["kind"]): index for index, group in enumerate(shown)}
    entries: list[list[Mapping[str, Any]]] = [[] for _ in shown]
    for entry in document["services"]:
        index = wanted.get((entry["name"], entry["kind"]))
        if index is not None:
            entries[index].append(entry)
    return [{"group": group, "entries": found} for group, found in zip(shown, entries, strict=True)]


def landing_page(document: Mapping[str, Any], page: int = 1, refresh: int = DEFAULT_REFRESH_SECONDS) -> str:
    """The page for ``document``; ``page`` picks the slice of the service table (clamped),
    ``refresh`` the seconds between reloads (0: none)."""
    groups = document["service_groups"]
    pages = max(1, -(-len(groups) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = groups[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    collectors = document["collectors"]
    states = {
        state: sum(1 for c in collectors if c["state"] == state)
        for state in ("ok", "failing", "stale", "pending")
    }
    return _PAGE.render(
        doc=document,
        cost=document["cost"],
        probes=document["probes"],
        rows=_rows(document, shown),
        page=page,
        pages=pages,
        first=(page - 1) * PAGE_SIZE + 1,
        last=(page - 1) * PAGE_SIZE + len(shown),
        refresh=max(0, min(refresh, MAX_REFRESH_SECONDS)),
        states=states,
        attention=sum(1 for group in groups if group["attention"]),
        cloud_chart=_cloud_chart(document["cost"]),
        service_chart=_service_chart(document["cost"]),
        status_bar=lambda by_status: status_bar(replica_segments(by_status)),
        replica_words=replica_words,
        legend=[(label, css) for label, css, _ in STATUS_GROUPS],
        when=when,
        iso=iso,
        age=age,
        span=span,
        dollars=dollars,
        percent=percent,
    )
