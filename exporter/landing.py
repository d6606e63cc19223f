"""The landing page at ``/``: what an operator checks first when the dashboards look wrong."""

from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from flask import render_template_string

_PAGE = (files("exporter") / "templates" / "landing.html").read_text(encoding="utf-8")


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def landing_page(document: dict[str, Any]) -> str:
    return render_template_string(_PAGE, doc=document, when=_when)
