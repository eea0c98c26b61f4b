"""Small charts drawn on the server as SVG, for the PDFs (weasyprint draws inline SVG): no JavaScript, no
chart library, and the numbers are printed on the bars, with a table beside each chart for the rest."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reporting.reports.base import Value

CURRENT_COLOUR = "#005eb8"  # NHS blue
PREVIOUS_COLOUR = "#aeb7bd"  # NHS mid grey
TEXT_COLOUR = "#212b32"

WIDTH, LABEL_WIDTH, VALUE_WIDTH = 560, 170, 60
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
    bar_room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    group = 2 * BAR_HEIGHT + GROUP_GAP
    height = LEGEND_HEIGHT + group * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title or current)}" '
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
