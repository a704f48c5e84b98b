"""A terminal chart of the movements: monthly bars (new, expansion, reactivation up;
contraction, churn down) and the closing MRR line, drawn with Rich text only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

Series = tuple[tuple[str, str, str], ...]  # column, label, style
UP: Series = (
    ("new_mrr", "new", "blue"),
    ("expansion_mrr", "expansion", "green"),
    ("reactivation_mrr", "reactivation", "cyan"),
)
DOWN: Series = (("contraction_mrr", "contraction", "yellow"), ("churned_mrr", "churn", "red"))
LINE_STYLE = "bold magenta"
COLUMN_WIDTH = 3  # two cells of bar and one of space per month


def _stack_cell(parts: list[tuple[float, str]], low: float, high: float) -> str | None:
    """The style of the stacked bar segment that covers most of [low, high), if any."""
    best, best_overlap, start = None, 0.0, 0.0
    for value, style in parts:
        end = start + value
        overlap = min(end, high) - max(start, low)
        if overlap > best_overlap and overlap >= (high - low) / 2:
            best, best_overlap = style, overlap
        start = end
    return best


@dataclass(frozen=True)
class _Scale:
    """How the months map onto rows of text: bars above and below the axis, and the line."""

    top: float  # the largest monthly inflow
    bottom: float  # the largest monthly outflow
    up_rows: int
    down_rows: int
    unit: float  # money per row
    high_close: float  # the closing MRR at the top row
    line_rows: list[int]  # the row of each month's closing MRR dot


def _scale(rows: list[dict[str, Any]], height: int) -> _Scale | None:
    """The scale of the chart, or None when there is nothing to draw."""
    ups = [sum(float(r[c] or 0) for c, _, _ in UP) for r in rows]
    downs = [sum(float(r[c] or 0) for c, _, _ in DOWN) for r in rows]
    closings = [float(r["closing_mrr"] or 0) for r in rows]
    top, bottom = max(ups, default=0.0), max(downs, default=0.0)
    if top + bottom == 0:
        return None
    up_rows = max(1, round(height * top / (top + bottom))) if top else 0
    down_rows = height - up_rows if bottom else 0
    unit = (top / up_rows) if up_rows else (bottom / max(down_rows, 1))
    high_close = max(closings) or 1.0
    line_rows = [
        min(up_rows - 1, int(c / high_close * (up_rows - 1) + 0.5)) if up_rows else -1
        for c in closings
    ]
    return _Scale(top, bottom, up_rows, down_rows, unit, high_close, line_rows)


def movement_chart(rows: list[dict[str, Any]], currency: str, width: int, height: int = 14) -> Text:
    """Bars of one month per column; the closing MRR as a line of dots on its own scale.

    `rows` are movements rows (month, *_mrr). Only the latest months that fit `width` are drawn.
    """
    from rich.text import Text

    fit = max(1, (width - 14) // COLUMN_WIDTH)
    rows = rows[-fit:]
    scale = _scale(rows, height)
    if scale is None:
        return Text("(no movements to chart)")
    text = Text()
    text.append(f"Movements per month ({currency}); ", style="bold")
    text.append("•", style=LINE_STYLE)
    text.append(f" closing MRR (top = {scale.high_close:,.0f})\n")
    for level in range(scale.up_rows - 1, -scale.down_rows - 1, -1):
        _append_level(text, rows, scale, level)
    _append_months(text, rows)
    return text


def _axis_label(scale: _Scale, level: int) -> str:
    if level == scale.up_rows - 1:
        return f"{scale.top:>11,.0f} "
    if level == 0:
        return f"{0:>11,} "
    if level == -scale.down_rows:
        return f"{-scale.bottom:>11,.0f} "
    return " " * 12


def _append_level(text: Text, rows: list[dict[str, Any]], scale: _Scale, level: int) -> None:
    """One row of text: the axis, then each month's bar segment (and dot) at this level."""
    text.append(_axis_label(scale, level) + ("┼" if level == 0 else "│"), style="dim")
    unit = scale.unit
    for index, row in enumerate(rows):
        cell, style = "  ", ""
        if level >= 0:
            parts = [(float(row[c] or 0), s) for c, _, s in UP]
            found = _stack_cell(parts, level * unit, (level + 1) * unit)
            if found:
                cell, style = "██", found
            if scale.line_rows[index] == level:
                text.append(" ")
                text.append("•", style=LINE_STYLE)
                text.append("█" if found else " ", style=found or "")
                continue
        else:
            parts = [(float(row[c] or 0), s) for c, _, s in DOWN]
            found = _stack_cell(parts, (-level - 1) * unit, -level * unit)
            if found:
                cell, style = "██", found
        text.append(" ")
        text.append(cell, style=style)
    text.append("\n")


def _append_months(text: Text, rows: list[dict[str, Any]]) -> None:
    """Below the bars: the month numbers, the years where they start, and the legend."""
    text.append(" " * 13)
    # Months `2026-06` show 06 (quarters `2026-Q2` show Q2; years `2026` show 26), and the
    # year below where it starts.
    for row in rows:
        month = str(row["month"])
        text.append(f" {month[5:7] or month[2:4]}", style="dim")
    text.append("\n" + " " * 13)
    for index, row in enumerate(rows):
        month = str(row["month"])
        starts = index == 0 or month[5:7] in ("01", "Q1")
        year = month[:4] if starts and len(month) > 4 else ""
        text.append(f" {year[2:]:<2}" if year else "   ", style="dim")
    text.append("\n" + " " * 13)
    for _, name, style in UP + DOWN:
        text.append(" ██", style=style)
        text.append(f" {name}")
    text.append("\n")
