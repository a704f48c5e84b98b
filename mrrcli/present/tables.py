"""Rich tables for people: a report with money, ratios and flows styled, validate's problems,
check's outcomes; and any table as plain text."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mrrcli.present.document import Report, reported_through
from mrrcli.present.fit import REPEATED, abbreviate, fitted_widths, leave_out, table_width
from mrrcli.present.formats import cell_text, is_number
from mrrcli.vocabulary import DAYNORM_COLUMNS, MONEY_COLUMNS, RATIO_COLUMNS

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
# Short headers for the terminal, at most two short lines each; CSV and JSON keep the column
# names of SPEC §7.1. NRR/GRR say which period they cover (SPEC §10).
HEADERS = {
    "opening_mrr": "opening",
    "new_mrr": "new",
    "expansion_mrr": "expansion",
    "reactivation_mrr": "reactivation",
    "contraction_mrr": "contraction",
    "churned_mrr": "churned",
    "net_new_mrr": "net new",
    "closing_mrr": "closing",
    "expansion_mrr_daynorm": "expansion\nday-norm.",
    "expansion_rate": "expansion\nMoM",
    "expansion_pct_of_opening": "% of\nopening",
    "expansion_to_new": "expansion\n÷ new",
    "benchmark_met": "≥30% of\nnew",
    "expanded_customers": "expanded\ncust.",
    "mrr_growth_rate": "growth",
    "quick_ratio": "quick\nratio",
    "gross_mrr_churn_rate": "gross\nchurn",
    "net_mrr_churn_rate": "net\nchurn",
    "nrr": "NRR\n(month)",
    "grr": "GRR\n(month)",
    "arpa": "ARPA",
    "customers_opening": "cust.\nopening",
    "customers_closing": "cust.\nclosing",
    "new_customers": "new\ncust.",
    "contracted_customers": "contr.\ncust.",
    "churned_customers": "churned\ncust.",
    "reactivated_customers": "react.\ncust.",
    "mrr_before": "MRR\nbefore",
    "mrr_after": "MRR\nafter",
    "customer_id": "customer",
    "subscription_id": "subscription",
    "moved_in_mrr": "moved\nin",  # segments' transfers (SPEC §9)
    "moved_out_mrr": "moved\nout",
}
# Narrower still, for a table that must be shortened to fit.
COMPACT_HEADERS = {"reactivation_mrr": "reacti-\nvation", "contraction_mrr": "contrac-\ntion"}
TRAILING_SUFFIX = "_ttm"  # nrr_ttm → "NRR (12 mo)": a trailing-twelve-months ratio


def header(column: str, compact: bool = False, period: str = "month") -> str:
    """A column's header on the terminal: `nrr` → "NRR\n(month)" (the span of one `period`),
    `nrr_ttm` → "NRR\n(12 mo)"; `compact`, the narrowest one."""
    if compact and column in COMPACT_HEADERS:
        return COMPACT_HEADERS[column]
    if column.endswith(TRAILING_SUFFIX) and column not in HEADERS:
        monthly = HEADERS.get(column.removesuffix(TRAILING_SUFFIX), column)
        return monthly.replace("(month)", "(12 mo)") if "(month)" in monthly else column
    return HEADERS.get(column, column).replace("(month)", f"({period})")


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


def report_frame(title: str) -> Table:
    """An empty table in the style of every report: bold headers, a rule under them, no box."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
    )


def rich_table(report: Report, width: int | None = None) -> Table:
    """A Rich table that fits `width` (None: every column in full): money with separators,
    ratios as percentages, flows coloured by sign. Too wide, money is abbreviated, then the
    least important columns are left out and the caption says which (SPEC §11)."""

    report, totals = with_total_lines(report)
    frame = report.frame
    fit = _fitted(report, width)
    table = report_frame(report_title(report))
    for column in fit.columns:
        table.add_column(
            header(column, compact=fit.compact, period=report.settings.period),
            justify="right" if is_number(frame, column) else "left",
            min_width=fit.widths[column],
            no_wrap=True,  # a number is never wrapped (the table is as wide as its columns)
        )
    for index in range(frame.height):
        total = index in totals
        table.add_row(
            *(fit.cells[column][index] for column in fit.columns),
            style="bold" if total else None,
            end_section=total,
        )
    notes = [*caption_notes(report, fit.short, fit.left), *report.caption_notes()]
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


def with_total_lines(report: Report) -> tuple[Report, set[int]]:
    """A report by segment (SPEC §9) with a `total` line after each month's segments: the
    report without --by (`extra["totals"]`), and the transfers summed over the segments.
    Returns the report to draw and the indexes of its total lines."""
    totals = report.extra.get("totals")
    frame = report.frame
    if totals is None or "segment" not in frame.columns or frame.height == 0:
        return report, set()
    import polars as pl

    summed = [c for c in ("moved_in_mrr", "moved_out_mrr") if c in frame.columns]
    lines = (
        totals.filter(pl.col("month").is_in(frame.get_column("month").unique().implode()))
        .join(frame.group_by("month").agg(pl.col(summed).sum()), on="month", how="left")
        .with_columns(pl.lit("total").alias("segment"))
    )
    lines = lines.select([c for c in frame.columns if c in lines.columns])
    order = pl.int_range(pl.len()).alias("_order")
    shown = pl.concat(
        [frame.with_columns(order), lines.with_columns(pl.lit(1 << 40).alias("_order"))],
        how="diagonal_relaxed",
    ).sort("month", "_order", maintain_order=True)
    indexes = set(shown.with_row_index().filter(pl.col("_order") == 1 << 40).get_column("index"))
    return replace(report, frame=shown.drop("_order")), {int(i) for i in indexes}


@dataclass
class _Fit:
    """What a table shows at a width: its columns, their cells and widths, and how it was
    shortened (compact headers, abbreviated money, the columns left out)."""

    columns: list[str]
    cells: dict[str, list[Text]]
    widths: dict[str, int]
    compact: bool = False
    short: bool = False
    left: list[str] = field(default_factory=list)

    def too_wide(self, width: int) -> bool:
        return table_width([self.widths[c] for c in self.columns]) > width


def _fitted(report: Report, width: int | None) -> _Fit:
    """The table at `width`, shortened step by step only as far as needed: first what loses
    nothing (compact headers, a column that only repeats another), then money abbreviated,
    then the least important columns left out."""
    cells = _cells(report, short=False)
    period = report.settings.period
    fit = _Fit(list(report.frame.columns), cells, _widths(cells, period=period))
    if width is None or not fit.too_wide(width):
        return fit
    fit.compact, fit.widths = True, _widths(cells, compact=True, period=period)
    fit.left = [c for c in REPEATED.get(report.kind, ()) if c in fit.widths]
    fit.columns = [c for c in fit.columns if c not in fit.left]
    if not fit.too_wide(width):
        return fit
    fit.short, fit.cells = True, _cells(report, short=True)
    fit.widths = _widths(fit.cells, compact=True, period=period)
    more = leave_out(report.kind, {c: fit.widths[c] for c in fit.columns}, width)
    fit.left += more
    fit.columns = [c for c in fit.columns if c not in more]
    return fit


def caption_notes(report: Report, short: bool = False, left: Collection[str] = ()) -> list[str]:
    """The notes under a report's table, one a line: the month to date, what was shortened."""
    notes: list[str] = []
    partial, as_of, period = report.partial_month, report.settings.as_of, report.settings.period
    if partial is not None:
        days = "1 day" if as_of.day == 1 else f"{as_of.day} days"
        note = f"* {partial} is month to date: {days}, through {as_of}"
        if period != "month":
            note = f"* {partial} is {period} to date, through {reported_through(report.settings)}"
        if report.kind == "expansion":
            note += "; its day-normalized flow is at the pace of those days"
        notes.append(note)
    names = ", ".join(header(column, period=period).replace("\n", " ") for column in left)
    if short:
        note = "to fit the terminal, money is abbreviated (k = thousand, M = million)"
        if left:
            note += f" and these columns are left out: {names}"
        notes.append(note + "; --wide shows every column in full")
    elif left:
        notes.append(f"to fit the terminal, left out: {names}; --wide shows every column")
    return notes


def _cells(report: Report, short: bool) -> dict[str, list[Text]]:
    """Every cell of the report, column by column, styled; money abbreviated when `short`."""
    rows = list(report.frame.iter_rows(named=True))
    return {
        column: [_styled_cell(column, row[column], row, report, short) for row in rows]
        for column in report.frame.columns
    }


def _widths(
    cells: dict[str, list[Text]], compact: bool = False, period: str = "month"
) -> dict[str, int]:
    """Each column's width: its widest cell or header line."""
    return {
        column: max(
            max((text.cell_len for text in texts), default=0),
            max(len(line) for line in header(column, compact, period).split("\n")),
        )
        for column, texts in cells.items()
    }


def display_text(column: str, value: Any, exponent: int, short: bool = False) -> str:
    """A value as a table shows it: money with the currency's decimals and separators (or
    abbreviated when `short`), ratios as percentages, the quick ratio as `4.20×`."""
    if column in MONEY_COLUMNS or column in DAYNORM_COLUMNS:
        if value is None:
            return ""
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return abbreviate(amount) if short else money(amount, exponent)
    if column in TIMES_COLUMNS:
        return "" if value is None else f"{value:.2f}×"
    if column in RATIO_COLUMNS:
        return _percent(value)
    if column == "benchmark_met":
        return "" if value is None else ("✓ ≥30%" if value else "✗ <30%")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return cell_text(value)


def _styled_cell(
    column: str, value: Any, row: dict[str, Any], report: Report, short: bool = False
) -> Text:
    """One table cell: its text and colour."""
    from rich.text import Text

    text = display_text(column, value, report.exponent, short)
    style = ""
    if column in MONEY_COLUMNS:
        if value:
            if column in INFLOWS:
                style = "green"
            elif column in OUTFLOWS:
                style = "red"
            elif column == "net_new_mrr":
                style = "green" if value > 0 else "red"
    elif column in RATIO_COLUMNS:
        if column == "expansion_to_new" and row.get("benchmark_met"):
            style = "bold green"
    elif column == "benchmark_met":
        style = "green" if value else "dim"
    elif column == "movement":
        style = "red" if value in ("contraction", "churn") else "green"
    elif column == "month" and value is not None and value == report.partial_month:
        text += " *"
    return Text(text, style=style)


def leaders_text(leaders: pl.DataFrame, exponent: int) -> str:
    """The customers with the most expansion in the last month, as Rich markup."""
    month = leaders.get_column("month")[0]
    lines = ["", f"[bold]Top expanding customers in {month}[/bold]"]
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
    width: int | None = None,
    **options: Any,
) -> Table:
    """Plain rows, one style per row (validate's problems, check's outcomes), fitted to `width`
    (None: every column at its widest). Text wraps between words, never inside a word that
    holds a digit (a number, a row list, a date)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        **options,
    )
    texts = [[empty if v is None else str(v) for v in row] for row in frame.iter_rows()]
    least, widest = [], []
    for index, column in enumerate(frame.columns):
        numbers = column in right
        words = [w for cells in texts for w in cells[index].split() if numbers or _digit(w)]
        least.append(max((len(w) for w in [column, *words]), default=0))
        widest.append(max([len(column), *(len(cells[index]) for cells in texts)]))
    widths = fitted_widths(least, widest, width)
    for column, fixed in zip(frame.columns, widths, strict=True):
        table.add_column(
            column,
            justify="right" if column in right else "left",
            # Widths fixed here, not left to Rich: shrinking several columns that have a
            # minimum width, it drew the table wider than the terminal, which cut words off.
            width=fixed,
            min_width=fixed,
            no_wrap=column in right,
            overflow="fold",  # a long word (a path) folds rather than being cut
        )
    for row, cells in zip(frame.iter_rows(), texts, strict=True):
        table.add_row(*cells, style=row_style(row))
    return table


def _digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def needed_width(table: Table) -> int:
    """The least width the table takes without wrapping what must not wrap."""
    return table_width([column.min_width or 0 for column in table.columns])


def without_trailing_spaces(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


def table_text(table: Table) -> str:
    """A Rich table as plain text (for `--output report.txt`), every line without trailing
    spaces."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(
            width=max(80, needed_width(table)), record=True, file=sink, color_system=None
        )
        console.print(table)
        return without_trailing_spaces(console.export_text())
