"""Inline SVG charts for the console, drawn on the server.

No script and nothing fetched: the page works air-gapped and without JavaScript. Every chart says
in words what it draws (a ``<title>`` and ``<desc>``, and the value printed beside each bar), and
colours come from CSS classes the page defines, so no meaning is carried by colour alone.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_ids = itertools.count(1)

# Chart geometry, in viewBox units; the SVG scales to the width it is given.
_CHAR_WIDTH = 7.9  # about a 14-unit sans-serif character, to leave room for the words
_ROW = 25
_BAR = 17
_FONT = 14
_LABEL_CHARS = 20


@dataclass(frozen=True)
class Segment:
    """A part of a bar: its words (for the title and legend), its size and its CSS class."""

    label: str
    value: float
    css: str


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: what it is, its parts, and its value in words (printed after it)."""

    label: str
    segments: tuple[Segment, ...]
    text: str

    @property
    def total(self) -> float:
        return sum(max(0.0, s.value) for s in self.segments)


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "\u2026"


def bar_chart(title: str, bars: Sequence[Bar], width: int = 480) -> Markup:
    """Horizontal bars on one scale, the longest filling the plot; an empty chart says so."""
    uid = next(_ids)
    height = max(1, len(bars)) * _ROW + 4
    # Labels are right-aligned against the bars, so overestimate them: a clipped name is worse.
    label_width = round(1.1 * _CHAR_WIDTH * max((len(_short(bar.label)) for bar in bars), default=0)) + 10
    value_width = round(_CHAR_WIDTH * max((len(bar.text) for bar in bars), default=0)) + 8
    plot = max(60, width - label_width - value_width)
    scale = max((bar.total for bar in bars), default=0.0)
    described = "; ".join(f"{bar.label}: {bar.text}" for bar in bars) or "nothing to show"
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart{uid}t chart{uid}d" '
        f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{uid}t">{escape(title)}</title><desc id="chart{uid}d">{escape(described)}</desc>',
    ]
    for row, bar in enumerate(bars):
        y = row * _ROW + 2
        text_y = y + _BAR - 3
        parts.append(f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>")
        parts.append(
            f'<text x="{label_width - 8}" y="{text_y}" text-anchor="end" font-size="{_FONT}">'
            f"{escape(_short(bar.label))}</text>"
        )
        x = float(label_width)
        for segment in bar.segments:
            length = plot * max(0.0, segment.value) / scale if scale > 0 else 0.0
            if length <= 0:
                continue
            parts.append(
                f'<rect class="{escape(segment.css)}" x="{x:.1f}" y="{y}" width="{max(length, 1.0):.1f}" '
                f'height="{_BAR}"><title>{escape(segment.label)}</title></rect>'
            )
            x += length
        parts.append(f'<text x="{x + 6:.1f}" y="{text_y}" font-size="{_FONT}">{escape(bar.text)}</text></g>')
    if not bars:
        parts.append(f'<text x="0" y="{_BAR}" font-size="{_FONT}">nothing to show</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def status_bar(segments: Sequence[Segment], width: int = 120, height: int = 12) -> Markup:
    """One stacked bar of counts (replicas by status), for a table cell; its words go beside it."""
    total = sum(max(0.0, s.value) for s in segments)
    words = ", ".join(f"{s.value:g} {s.label}" for s in segments if s.value > 0) or "no replicas"
    parts = [
        f'<svg class="statusbar" role="img" aria-label="{escape(words)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(words)}</title>'
    ]
    if total <= 0:
        parts.append(f'<rect class="s-none" x="0" y="0" width="{width}" height="{height}"/>')
    x = 0.0
    for segment in segments:
        if segment.value <= 0:
            continue
        length = width * segment.value / total
        parts.append(
            f'<rect class="{escape(segment.css)}" x="{x:.1f}" y="0" width="{length:.1f}" height="{height}"/>'
        )
        x += length
    parts.append("</svg>")
    return Markup("".join(parts))
