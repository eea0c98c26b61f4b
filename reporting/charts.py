"""Charts drawn on the server as inline SVG: a figure by month (the dashboard), and a figure this period
against the previous one per practice (`paired_bars_svg`, in the report PDFs).

Why server-rendered SVG rather than a chart library: the CSP is strict (script-src and style-src
'self', no inline script or style), so a library that draws in the browser would need its JavaScript
vendored and kept up to date, and most set inline styles the CSP blocks. An SVG written here needs no
JavaScript at all: it is in the page when it arrives (fast, works with JavaScript off or failed),
prints as crisp vectors, and the same markup can go into a PDF (weasyprint draws SVG). It carries no
`style` attribute: shapes are coloured by CSS classes in static/css/app.css (`app-trend__…`), with
presentation attributes only for geometry and text placement.

Accessibility: the SVG is `role="img"` named by its `<title>` and described by a `<desc>` that says
the range, the lowest, highest and latest values; every value is also in a table the page puts beside
the chart, for screen readers and for anyone who wants the exact numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

Value = int | float | None

# The drawing's own units (the viewBox); CSS scales it to the width of its column.
WIDTH, HEIGHT = 600, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 18, 22  # room for the axis labels, the latest value and the months
BAR_SHARE = 0.7  # of each month's slot; the rest is the gap between bars


@dataclass(frozen=True)
class Point:
    label: str  # under the bar: "Nov"
    long_label: str  # in the description: "November 2026"
    value: Value


NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)  # fine enough that the tallest bar fills most of the height


def nice_ceiling(value: float) -> float:
    """The axis top: the smallest round number (a step above × a power of ten) at or above `value`;
    1 when there is nothing."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(round(step * power, 10) for step in NICE_STEPS if step * power >= value)


def number(value: float, unit: str = "") -> str:
    """A value as the page shows it: thousands separated, no ".0" on whole numbers."""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{shown}{unit}"


def _describe(points: Sequence[Point], unit: str) -> str:
    known = [p for p in points if p.value is not None]
    if not points:
        return "No months to show."
    span = f"{points[0].long_label} to {points[-1].long_label}"
    if not known:
        return f"{span}: no figures."
    low = min(known, key=lambda p: p.value)  # type: ignore[arg-type, return-value]
    high = max(known, key=lambda p: p.value)  # type: ignore[arg-type, return-value]
    latest = points[-1]
    latest_text = "none" if latest.value is None else number(latest.value, unit)
    return (
        f"{span}: lowest {number(low.value, unit)} ({low.long_label}), "  # type: ignore[arg-type]
        f"highest {number(high.value, unit)} ({high.long_label}), "  # type: ignore[arg-type]
        f"latest {latest_text} ({latest.long_label})."
    )


def bar_chart(
    points: Sequence[Point], *, chart_id: str, title: str, unit: str = "", maximum: float | None = None
) -> SafeString:
    """One bar per point, oldest on the left, the latest picked out and its value written above it.
    `maximum` fixes the axis top (100 for a percentage); otherwise it is a round number at or above
    the largest value. A point whose value is None (nothing to measure that month) has no bar and a
    dash on the axis. Every text is escaped; `chart_id` (a slug) makes the title's and description's
    ids unique on the page."""
    known = [p.value for p in points if p.value is not None]
    top = maximum if maximum is not None else nice_ceiling(max(known, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / max(len(points), 1)
    grid = format_html_join(
        "",
        '<line class="app-trend__grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="app-trend__axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (LEFT, y, WIDTH - RIGHT, y, LEFT - 6, y + 4, number(value, unit))
            for value, y in ((0, base), (top / 2, TOP + plot_h / 2), (top, TOP))
            if float(value).is_integer()  # no "0.5 contacts" halfway up an axis to 1
        ),
    )
    bars = []
    for index, point in enumerate(points):
        centre = LEFT + slot * (index + 0.5)
        latest = index == len(points) - 1
        bars.append(
            format_html(
                '<text class="app-trend__month" x="{}" y="{}" text-anchor="middle">{}</text>',
                _r(centre),
                HEIGHT - 6,
                point.label,
            )
        )
        if point.value is None:
            bars.append(
                format_html(
                    '<text class="app-trend__none" x="{}" y="{}" text-anchor="middle">–</text>',
                    _r(centre),
                    base - 3,
                )
            )
            continue
        height = plot_h * min(max(point.value, 0) / top, 1)
        bars.append(
            format_html(
                '<rect class="app-trend__bar{}" x="{}" y="{}" width="{}" height="{}"/>',
                " app-trend__bar--latest" if latest else "",
                _r(centre - slot * BAR_SHARE / 2),
                _r(base - height),
                _r(slot * BAR_SHARE),
                _r(height),
            )
        )
        if latest:
            bars.append(
                format_html(
                    '<text class="app-trend__value" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _r(centre),
                    _r(base - height - 4),
                    number(point.value, unit),
                )
            )
    return format_html(
        '<svg class="app-trend" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" '
        'focusable="false" data-testid="chart-{id}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{grid}{bars}</svg>',
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        title=title,
        desc=_describe(points, unit),
        grid=grid,
        bars=SafeString("".join(bars)),
    )


def _r(value: float) -> float:
    return round(value, 1)


# --- This period against the previous, per practice (the report PDFs) -------------------------------

CURRENT_COLOUR = "#005eb8"  # NHS blue
PREVIOUS_COLOUR = "#aeb7bd"  # NHS mid grey
TEXT_COLOUR = "#212b32"

PAIRED_WIDTH, LABEL_WIDTH, VALUE_WIDTH = 560, 170, 60
BAR_HEIGHT, GROUP_GAP, LEGEND_HEIGHT = 9, 8, 22
LABEL_CHARACTERS = 30


def _number(value: Value, unit: str) -> str:
    if value is None:
        return "–"
    shown = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    return f"{shown}{unit}"


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def paired_bars_svg(
    rows: Sequence[tuple[str, Value, Value]], *, current: str, previous: str, unit: str = "", title: str = ""
) -> SafeString:
    """Horizontal bars, two per row (label, this period's value, the previous period's): this period in
    NHS blue above the previous one in grey, each with its number. A value of None draws no bar and "–"."""
    values = [v for _, *pair in rows for v in pair if v is not None]
    top = max([*values, 0]) or 1
    bar_room = PAIRED_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    group = 2 * BAR_HEIGHT + GROUP_GAP
    height = LEGEND_HEIGHT + group * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{PAIRED_WIDTH}" height="{height}" '
        f'viewBox="0 0 {PAIRED_WIDTH} {height}" role="img" aria-label="{escape(title or current)}" '
        f'font-family="Arial, sans-serif" font-size="9">',
        f"<title>{escape(title or current)}</title>",
        f'<rect x="{LABEL_WIDTH}" y="4" width="10" height="10" fill="{CURRENT_COLOUR}"/>',
        f'<text x="{LABEL_WIDTH + 14}" y="12.5" fill="{TEXT_COLOUR}">{escape(current)}</text>',
        f'<rect x="{LABEL_WIDTH + 160}" y="4" width="10" height="10" fill="{PREVIOUS_COLOUR}"/>',
        f'<text x="{LABEL_WIDTH + 174}" y="12.5" fill="{TEXT_COLOUR}">{escape(previous)}</text>',
    ]
    for index, (label, now, before) in enumerate(rows):
        y = LEGEND_HEIGHT + index * group
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT + 3}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(_label(label))}</text>'
        )
        for offset, value, colour in ((0, now, CURRENT_COLOUR), (BAR_HEIGHT, before, PREVIOUS_COLOUR)):
            width = round(max(value or 0, 0) / top * bar_room, 1)
            if value is not None and width > 0:
                parts.append(
                    f'<rect x="{LABEL_WIDTH}" y="{y + offset}" width="{width}" height="{BAR_HEIGHT - 1}" '
                    f'fill="{colour}"/>'
                )
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 4}" y="{y + offset + BAR_HEIGHT - 1.5}" '
                f'fill="{TEXT_COLOUR}">{escape(_number(value, unit))}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text in it is escaped above)
