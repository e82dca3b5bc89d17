"""Charts as server-side SVG, each with a table of the same figures beside it.

The SVG has a title and a description for screen readers and works without
JavaScript; the table is the accessible fallback the templates show under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Series", "bar_chart"]

_PALETTE = ("#1b5e9e", "#b3541e", "#2e7d32", "#6a1b9a", "#00838f", "#8d6e00")


@dataclass(frozen=True)
class Series:
    """One named line of figures, one per label."""

    name: str
    values: Sequence[float]


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
              unit: str = "", width: int = 640, height: int = 220) -> Markup:
    """Grouped bars (one group per label, one bar per series) as an inline SVG element.

    It scales to its container (``viewBox``, width 100 %), so it fits a phone.
    """
    top = max((max(s.values, default=0) for s in series), default=0) or 1
    left, bottom, right = 44, 28, 8
    plot_w, plot_h = width - left - right, height - bottom - 12
    group = plot_w / max(len(labels), 1)
    bar = max(min(group * 0.8 / max(len(series), 1), 28), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{12 + plot_h}" x2="{width - right}" y2="{12 + plot_h}" '
        'stroke="#555" stroke-width="1"/>',
        f'<text x="{left - 6}" y="16" text-anchor="end" font-size="11" fill="#333">'
        f'{_short(top)}{escape(unit)}</text>',
        f'<text x="{left - 6}" y="{12 + plot_h}" text-anchor="end" font-size="11" '
        'fill="#333">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * group + (group - bar * len(series)) / 2
        for j, line in enumerate(series):
            value = line.values[i] if i < len(line.values) else 0
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{12 + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{_PALETTE[j % len(_PALETTE)]}">'
                f'<title>{escape(line.name)}, {escape(label)}: {_short(value)}{escape(unit)}'
                '</title></rect>')
        if len(labels) <= 16 or i % max(len(labels) // 8, 1) == 0:
            parts.append(f'<text x="{left + i * group + group / 2:.1f}" y="{height - 10}" '
                         f'text-anchor="middle" font-size="10" fill="#333">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text part above is escaped)


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f} M"
    if value >= 10_000:
        return f"{value / 1000:.0f} k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
