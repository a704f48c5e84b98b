"""Rich tables for people: a report with money, ratios and flows styled, validate's problems,
check's outcomes; and any table as plain text."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mrrcli.present.document import Report, reported_through
from mrrcli.present.formats import cell_text, is_number
from mrrcli.vocabulary import MONEY_COLUMNS, RATIO_COLUMNS

if TYPE_CHECKING:
    import polars as pl
    from rich.table import Table
    from rich.text import Text

TITLES = {
    "movements": "MRR movements",
    "expansion": "Expansion MRR",
    "metrics": "SaaS metrics",
    "customers": "Movements by customer",
}
INFLOWS = frozenset({"new_mrr", "expansion_mrr", "reactivation_mrr"})
OUTFLOWS = frozenset({"contraction_mrr", "churned_mrr"})
TIMES_COLUMNS = frozenset({"quick_ratio"})
# Short headers for the terminal; CSV and JSON keep the column names of SPEC §7.1.
HEADERS = {
    "opening_mrr": "opening",
    "new_mrr": "new",
    "expansion_mrr": "expansion",
    "reactivation_mrr": "reactivation",
    "contraction_mrr": "contraction",
    "churned_mrr": "churned",
    "net_new_mrr": "net new",
    "closing_mrr": "closing",
    "expansion_mrr_daynorm": "expansion\n(std month)",
    "expansion_rate": "expansion\nrate",
    "expansion_pct_of_opening": "% of\nopening",
    "expansion_to_new": "expansion\n÷ new",
    "benchmark_met": "≥30% of\nnew",
    "expanded_customers": "expanded\ncustomers",
    "mrr_growth_rate": "growth",
    "quick_ratio": "quick\nratio",
    "gross_mrr_churn_rate": "gross\nchurn",
    "net_mrr_churn_rate": "net\nchurn",
    "nrr_ttm": "NRR\n(12 mo)",
    "grr_ttm": "GRR\n(12 mo)",
    "arpa": "ARPA",
    "customers_opening": "customers\nopening",
    "customers_closing": "customers\nclosing",
    "new_customers": "new\ncust.",
    "contracted_customers": "contracted\ncust.",
    "churned_customers": "churned\ncust.",
    "reactivated_customers": "reactivated\ncust.",
    "mrr_before": "MRR before",
    "mrr_after": "MRR after",
    "customer_id": "customer",
    "subscription_id": "subscription",
}  # ratios read as "4.2×", not as percentages


def money(value: Decimal | None, exponent: int) -> str:
    if value is None:
        return ""
    return f"{value:,.{exponent}f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def report_title(report: Report) -> str:
    settings = report.settings
    title = (
        f"{TITLES[report.kind]} · {report.currency} · {settings.mode} mode · "
        f"{settings.level} level · as of {settings.as_of.isoformat()}"
    )
    if settings.scope == "broad":
        title += " · broad expansion"
    return title


def rich_table(report: Report) -> Table:
    """A Rich table: money with separators, ratios as percentages, flows coloured by sign."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=report_title(report),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    frame = report.frame
    rows = [
        [_styled_cell(column, value, row, report) for column, value in row.items()]
        for row in frame.iter_rows(named=True)
    ]
    for index, column in enumerate(frame.columns):
        header = _header(column, report)
        widest = max(
            max((len(cells[index].plain) for cells in rows), default=0),
            max(len(word) for word in header.split()),
        )
        table.add_column(
            header,
            justify="right" if is_number(frame, column) else "left",
            min_width=widest,  # headers wrap between words; numbers never wrap
            overflow="fold",  # a terminal too narrow wraps a number, never truncates it
        )
    for cells in rows:
        table.add_row(*cells)
    _caption_partial_month(table, report)
    return table


def _caption_partial_month(table: Table, report: Report) -> None:
    partial = report.partial_month
    if partial is not None:
        period = report.settings.period
        if period == "month":
            as_of = report.settings.as_of
            table.caption = f"* {partial} is month to date: {as_of.day} days, through {as_of}"
        else:
            through = reported_through(report.settings)
            table.caption = f"* {partial} is {period} to date, through {through}"
        if report.kind == "expansion":
            table.caption += "; its day-normalized flow is at the pace of those days"
        table.caption_justify = "left"


def _header(column: str, report: Report) -> str:
    """A column's header: NRR and GRR say over what span (§10: "NRR (month)", "NRR (12 mo)")."""
    period = report.settings.period
    if column in ("nrr", "grr"):
        return f"{column.upper()}\n({period})"
    if column == "expansion_mrr_daynorm" and period != "month":
        return f"expansion\n(std {period})"
    return HEADERS.get(column, column)


def _styled_cell(column: str, value: Any, row: dict[str, Any], report: Report) -> Text:
    """One table cell: its text and colour."""
    from rich.text import Text

    style = ""
    if column in MONEY_COLUMNS:
        text = money(value, report.exponent)
        if value:
            if column in INFLOWS:
                style = "green"
            elif column in OUTFLOWS:
                style = "red"
            elif column == "net_new_mrr":
                style = "green" if value > 0 else "red"
    elif column in TIMES_COLUMNS:
        text = "" if value is None else f"{value:.2f}×"
    elif column in RATIO_COLUMNS:
        text = _percent(value)
        if column == "expansion_to_new" and row.get("benchmark_met"):
            style = "bold green"
    elif column == "benchmark_met":
        text = "" if value is None else ("✓ ≥30%" if value else "✗ <30%")
        style = "green" if value else "dim"
    elif column == "movement":
        text = str(value)
        style = "red" if value in ("contraction", "churn") else "green"
    elif isinstance(value, float):
        text = f"{value:,.2f}"
    else:
        text = cell_text(value)
        if column == "month" and value is not None and value == report.partial_month:
            text += " *"
    return Text(text, style=style)


def leaders_text(leaders: pl.DataFrame, exponent: int) -> str:
    """The customers with the most expansion in the last month, as Rich markup."""
    month = leaders.get_column("month")[0]
    lines = [f"[bold]Top expanding customers in {month}[/bold]"]
    for row in leaders.iter_rows(named=True):
        changes = f" ({row['changes']} changes)" if row["changes"] > 1 else ""
        lines.append(
            f"  {row['customer_id']:<24} [green]+{money(row['amount'], exponent)}[/green]{changes}"
        )
    return "\n".join(lines) + "\n"


def rows_table(
    frame: pl.DataFrame,
    title: str,
    right: Collection[str],
    row_style: Callable[[tuple[Any, ...]], str],
    empty: str = "",
    **options: Any,
) -> Table:
    """Plain rows, one style per row (validate's problems, check's outcomes)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, **options)
    for column in frame.columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in frame.iter_rows():
        table.add_row(*((empty if v is None else str(v)) for v in row), style=row_style(row))
    return table


def table_text(table: Table, width: int = 200) -> str:
    """A Rich table as plain text (for `--output report.txt`)."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None)
        console.print(table)
        return console.export_text()
