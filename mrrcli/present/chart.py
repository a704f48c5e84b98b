"""A terminal chart of the movements: monthly bars (new, expansion, reactivation up;
contraction, churn down) and the closing MRR line, drawn with Rich text only."""

from __future__ import annotations

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


def movement_chart(rows: list[dict[str, Any]], currency: str, width: int, height: int = 14) -> Text:
    """Bars of one month per column; the closing MRR as a line of dots on its own scale.

    `rows` are movements rows (month, *_mrr). Only the latest months that fit `width` are drawn.
    """
    from rich.text import Text

    fit = max(1, (width - 14) // COLUMN_WIDTH)
    rows = rows[-fit:]
    ups = [sum(float(r[c] or 0) for c, _, _ in UP) for r in rows]
    downs = [sum(float(r[c] or 0) for c, _, _ in DOWN) for r in rows]
    closings = [float(r["closing_mrr"] or 0) for r in rows]
    top, bottom = max(ups, default=0.0), max(downs, default=0.0)
    if top + bottom == 0:
        return Text("(no movements to chart)")
    up_rows = max(1, round(height * top / (top + bottom))) if top else 0
    down_rows = height - up_rows if bottom else 0
    unit = (top / up_rows) if up_rows else (bottom / max(down_rows, 1))
    high_close = max(closings) or 1.0
    line_rows = [
        min(up_rows - 1, int(c / high_close * (up_rows - 1) + 0.5)) if up_rows else -1
        for c in closings
    ]
    text = Text()
    text.append(f"Movements per month ({currency}); ", style="bold")
    text.append("•", style=LINE_STYLE)
    text.append(f" closing MRR (top = {high_close:,.0f})\n")
    for level in range(up_rows - 1, -down_rows - 1, -1):
        if level == up_rows - 1:
            label = f"{top:>11,.0f} "
        elif level == 0:
            label = f"{0:>11,} "
        elif level == -down_rows:
            label = f"{-bottom:>11,.0f} "
        else:
            label = " " * 12
        text.append(label + ("┼" if level == 0 else "│"), style="dim")
        for index, row in enumerate(rows):
            cell, style = "  ", ""
            if level >= 0:
                parts = [(float(row[c] or 0), s) for c, _, s in UP]
                found = _stack_cell(parts, level * unit, (level + 1) * unit)
                if found:
                    cell, style = "██", found
                if line_rows[index] == level:
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
    text.append(" " * 13)
    for row in rows:
        text.append(f" {str(row['month'])[5:7]}", style="dim")
    text.append("\n" + " " * 13)
    for index, row in enumerate(rows):
        month = str(row["month"])
        year = month[:4] if index == 0 or month[5:7] == "01" else ""
        text.append(f" {year[2:]:<2}" if year else "   ", style="dim")
    text.append("\n" + " " * 13)
    for _, name, style in UP + DOWN:
        text.append(" ██", style=style)
        text.append(f" {name}")
    text.append("\n")
    return text
