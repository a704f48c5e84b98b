"""A terminal chart of the movements, drawn with Rich text only: monthly bars (new, expansion,
reactivation above 0; contraction, churn below), each series with its own glyph so that the
legend reads without colour; then the closing MRR on its own labelled scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

Series = tuple[tuple[str, str, str, str], ...]  # column, label, style, glyph (two cells)
UP: Series = (
    ("new_mrr", "new", "blue", "██"),
    ("expansion_mrr", "expansion", "green", "▓▓"),
    ("reactivation_mrr", "reactivation", "cyan", "▒▒"),
)
DOWN: Series = (
    ("contraction_mrr", "contraction", "yellow", "░░"),
    ("churned_mrr", "churn", "red", "xx"),
)
LINE_STYLE = "bold magenta"
DOT = "•"
COLUMN_WIDTH = 3  # two cells of bar and one of space per month
AXIS_WIDTH = 12  # the scale's labels, right-aligned, then a space
CLOSING_HEIGHT = 6


def _stack_cell(parts: list[float], low: float, high: float) -> int | None:
    """The index of the stacked bar segment that covers most of [low, high), if any."""
    best, best_overlap, start = None, 0.0, 0.0
    for index, value in enumerate(parts):
        end = start + value
        overlap = min(end, high) - max(start, low)
        if overlap > best_overlap and overlap >= (high - low) / 2:
            best, best_overlap = index, overlap
        start = end
    return best


@dataclass(frozen=True)
class _Scale:
    """How the months' flows map onto rows of text above and below the axis."""

    top: float  # the largest monthly inflow
    bottom: float  # the largest monthly outflow
    up_rows: int
    down_rows: int
    unit: float  # money per row


def _scale(rows: list[dict[str, Any]], height: int) -> _Scale | None:
    """The scale of the bars, or None when there is nothing to draw."""
    ups = [sum(float(r[s[0]] or 0) for s in UP) for r in rows]
    downs = [sum(float(r[s[0]] or 0) for s in DOWN) for r in rows]
    top, bottom = max(ups, default=0.0), max(downs, default=0.0)
    if top + bottom == 0:
        return None
    up_rows = max(1, round(height * top / (top + bottom))) if top else 0
    down_rows = height - up_rows if bottom else 0
    unit = (top / up_rows) if up_rows else (bottom / max(down_rows, 1))
    return _Scale(top, bottom, up_rows, down_rows, unit)


def movement_chart(rows: list[dict[str, Any]], currency: str, width: int, height: int = 14) -> Text:
    """Bars of one month per column, the legend, then the closing MRR on its own scale.

    `rows` are movements rows (month, *_mrr). Only the latest months that fit `width` are drawn.
    """
    from rich.text import Text

    fit = max(1, (width - AXIS_WIDTH - 2) // COLUMN_WIDTH)
    rows = rows[-fit:]
    scale = _scale(rows, height)
    if scale is None:
        return Text("(no movements to chart)")
    text = Text()
    text.append(f"Movements per month ({currency}): inflows above 0, outflows below\n", "bold")
    for level in range(scale.up_rows - 1, -scale.down_rows - 1, -1):
        _append_level(text, rows, scale, level)
    _append_months(text, rows)
    _append_legend(text)
    _append_closing(text, rows, currency)
    _append_months(text, rows)
    return text


def _label(amount: float) -> str:
    return f"{amount:>{AXIS_WIDTH - 1},.0f} "


def _axis_label(scale: _Scale, level: int) -> str:
    if level == scale.up_rows - 1:
        return _label(scale.top)
    if level == 0:
        return _label(0)
    if level == -scale.down_rows:
        return _label(-scale.bottom)
    return " " * AXIS_WIDTH


def _append_level(text: Text, rows: list[dict[str, Any]], scale: _Scale, level: int) -> None:
    """One row of text: the axis, then each month's bar segment at this level."""
    text.append(_axis_label(scale, level) + ("┼" if level == 0 else "│"), style="dim")
    series, low = (UP, level * scale.unit) if level >= 0 else (DOWN, (-level - 1) * scale.unit)
    for row in rows:
        found = _stack_cell([float(row[s[0]] or 0) for s in series], low, low + scale.unit)
        text.append(" ")
        if found is None:
            text.append("  ")
        else:
            text.append(series[found][3], style=series[found][2])
    text.append("\n")


def _append_months(text: Text, rows: list[dict[str, Any]]) -> None:
    """Below a chart: the month numbers, and the years where they start. Quarters `2026-Q2`
    show Q2; years `2026` show 26 (and no line of years)."""
    text.append(" " * (AXIS_WIDTH + 1))
    for row in rows:
        month = str(row["month"])
        text.append(f" {month[5:7] or month[2:4]}", style="dim")
    text.append("\n" + " " * (AXIS_WIDTH + 1))
    for index, row in enumerate(rows):
        month = str(row["month"])
        starts = index == 0 or month[5:7] in ("01", "Q1")
        year = month[:4] if starts and len(month) > 4 else ""
        text.append(f" {year[2:]:<2}" if year else "   ", style="dim")
    text.append("\n")


def _append_legend(text: Text) -> None:
    """Each series' glyph and name: readable without colour."""
    text.append(" " * (AXIS_WIDTH + 1))
    for _, name, style, glyph in UP + DOWN:
        text.append(" ")
        text.append(glyph, style=style)
        text.append(f" {name}")
    text.append("\n\n")


def _append_closing(text: Text, rows: list[dict[str, Any]], currency: str) -> None:
    """The closing MRR of each month as a dot on a scale from 0 to the highest closing."""
    closings = [float(r["closing_mrr"] or 0) for r in rows]
    high = max(closings, default=0.0) or 1.0
    dots = [round(c / high * (CLOSING_HEIGHT - 1)) for c in closings]
    text.append(f"Closing MRR ({currency}) at each month's end\n", style="bold")
    for level in range(CLOSING_HEIGHT - 1, -1, -1):
        label = _label(high) if level == CLOSING_HEIGHT - 1 else " " * AXIS_WIDTH
        text.append((_label(0) if level == 0 else label) + ("┼" if level == 0 else "│"), "dim")
        for dot in dots:
            text.append(" ")
            text.append(f"{DOT} " if dot == level else "  ", style=LINE_STYLE)
        text.append("\n")
