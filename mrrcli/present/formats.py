"""A Report → Rich table / CSV / JSON / NDJSON / Markdown, and atomic file writes (SPEC §7.1)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from mrrcli.present.document import Report
from mrrcli.validate import Validation
from mrrcli.vocabulary import MONEY_COLUMNS, RATIO_COLUMNS

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from mrrcli.checks import Outcome

Format = Literal["auto", "table", "csv", "json", "ndjson", "markdown"]
EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "table",
}
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
    "nrr": "NRR",
    "grr": "GRR",
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


def resolve_format(fmt: Format, output: str | None, stdout_is_terminal: bool) -> Format:
    """`auto`: the output file's extension, else a table on a terminal and CSV in a pipe."""
    if fmt != "auto":
        return fmt
    if output is not None:
        return EXTENSIONS.get(os.path.splitext(output)[1].lower(), "csv")
    return "table" if stdout_is_terminal else "csv"


def to_csv(report: Report) -> str:
    return report.frame.write_csv()


def _unquote_money(text: str, frame: pl.DataFrame) -> str:
    """Polars writes Decimals as JSON strings; money is a number (`"amount":"12.50"` → 12.50)."""
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    for column in decimals:
        text = re.sub(rf'("{re.escape(column)}":)"(-?\d+(?:\.\d+)?)"', r"\1\2", text)
    return text


def to_ndjson(report: Report) -> str:
    return _unquote_money(report.frame.write_ndjson(), report.frame)


def to_json(report: Report) -> str:
    rows = _unquote_money(report.frame.write_json(), report.frame)
    meta = json.dumps(report.meta, ensure_ascii=False)
    return f'{{"meta": {meta}, "rows": {rows}}}\n'


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def to_markdown(report: Report) -> str:
    return frame_markdown(report.frame)


def frame_markdown(frame: pl.DataFrame) -> str:
    """Any frame as a Markdown table, numbers right-aligned."""
    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + "|".join("---:" if _is_number(frame, c) else "---" for c in frame.columns) + "|",
    ]
    for row in frame.iter_rows():
        cells = (_cell_text(v) for v in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _is_number(frame: pl.DataFrame, column: str) -> bool:
    return frame.schema[column].is_numeric()


def _money(value: Decimal | None, exponent: int) -> str:
    if value is None:
        return ""
    return f"{value:,.{exponent}f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def rich_table(report: Report) -> Table:
    """A Rich table: money with separators, ratios as percentages, flows coloured by sign."""
    from rich import box
    from rich.table import Table

    settings = report.settings
    title = (
        f"{TITLES[report.kind]} · {report.currency} · {settings.mode} mode · "
        f"{settings.level} level · as of {settings.as_of.isoformat()}"
    )
    if settings.scope == "broad":
        title += " · broad expansion"
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    frame = report.frame
    partial = report.partial_month
    rows = [
        [_styled_cell(column, value, row, report) for column, value in row.items()]
        for row in frame.iter_rows(named=True)
    ]
    for index, column in enumerate(frame.columns):
        header = HEADERS.get(column, column)
        widest = max(
            max((len(cells[index].plain) for cells in rows), default=0),
            max(len(word) for word in header.split()),
        )
        table.add_column(
            header,
            justify="right" if _is_number(frame, column) else "left",
            min_width=widest,  # headers wrap between words; numbers never wrap
            overflow="fold",  # a terminal too narrow wraps a number, never truncates it
        )
    for cells in rows:
        table.add_row(*cells)
    if partial is not None:
        as_of = settings.as_of
        table.caption = f"* {partial} is month to date: {as_of.day} days, through {as_of}"
        if report.kind == "expansion":
            table.caption += "; its day-normalized flow is at the pace of those days"
        table.caption_justify = "left"
    return table


def _styled_cell(column: str, value: Any, row: dict[str, Any], report: Report) -> Text:
    """One table cell: its text and colour."""
    from rich.text import Text

    style = ""
    if column in MONEY_COLUMNS:
        text = _money(value, report.exponent)
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
        text = _cell_text(value)
        if column == "month" and value is not None and value == report.partial_month:
            text += " *"
    return Text(text, style=style)


def render_text(report: Report, fmt: Format) -> str:
    """The report as text in a file format (not `table`, which needs a console)."""
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "ndjson":
        return to_ndjson(report)
    if fmt == "markdown":
        return to_markdown(report)
    raise ValueError(f"no text rendering for {fmt!r}")


def print_table(report: Report, chart: bool = False) -> None:
    """Print the Rich table on stdout; a table wider than the terminal is never cut short.

    Below it: the top expanding customers of the last month (expansion), and the chart.
    """
    from rich.console import Console

    console = Console()
    width = console.width
    table = rich_table(report)
    needed = sum((column.min_width or 0) + 3 for column in table.columns)
    if needed > console.width:
        console.width = needed
    console.print(table)
    leaders = report.extra.get("top_expanding")
    if leaders is not None and leaders.height:
        console.print(_leaders_text(leaders, report.exponent), highlight=False)
    if chart:
        from mrrcli.present.chart import movement_chart

        movements = report.extra.get("movements", report.frame)
        console.print(movement_chart(movements.to_dicts(), report.currency, width))


def _leaders_text(leaders: pl.DataFrame, exponent: int) -> str:
    month = leaders.get_column("month")[0]
    lines = [f"[bold]Top expanding customers in {month}[/bold]"]
    for row in leaders.iter_rows(named=True):
        changes = f" ({row['changes']} changes)" if row["changes"] > 1 else ""
        lines.append(
            f"  {row['customer_id']:<24} [green]+{_money(row['amount'], exponent)}[/green]{changes}"
        )
    return "\n".join(lines) + "\n"


def table_text(report: Report | Table, width: int = 200) -> str:
    """A Rich table as plain text (for `--output report.txt`)."""
    from rich.console import Console

    table = rich_table(report) if isinstance(report, Report) else report
    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None)
        console.print(table)
        return console.export_text()


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` whole or not at all: a temporary file in the folder, renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".mrrcli-", suffix=".tmp")
    try:
        # mkstemp makes the file private; a report gets the mode of the one it replaces, or
        # the usual mode under the umask.
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def render_problems(validation: Validation, fmt: str) -> str | Table:
    """validate's findings as text in `fmt`, or a Rich table for `table`."""
    frame = validation.frame()
    if fmt == "table":
        from rich import box
        from rich.table import Table

        table = Table(
            title=f"validate · {', '.join(validation.files)}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            header_style="bold",
        )
        for column in frame.columns:
            table.add_column(column, justify="right" if column == "count" else "left")
        for row in frame.iter_rows():
            severity = row[0]
            style = "red" if severity == "error" else "yellow"
            table.add_row(*(("" if v is None else str(v)) for v in row), style=style)
        if frame.height == 0:
            table.caption = "no problems found"
        return table
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "ndjson":
        return frame.write_ndjson()
    if fmt == "json":
        meta = {
            "inputs": validation.files,
            "rows_read": validation.read,
            "rows_used": validation.used,
            "set_aside": validation.set_aside,
            "errors": validation.errors,
            "warnings": validation.warnings,
        }
        return f'{{"meta": {json.dumps(meta)}, "rows": {frame.write_json()}}}\n'
    if fmt == "markdown":
        return frame_markdown(frame)
    raise ValueError(f"unknown format {fmt!r}")


def render_outcomes(outcomes: list[Outcome], fmt: str, currency: str) -> str | Table:
    """check's results as text in `fmt`, or a Rich table for `table`."""
    frame = pl.DataFrame(
        {
            "rule": [o.rule.text for o in outcomes],
            "month": [o.month for o in outcomes],
            "metric": [o.rule.metric for o in outcomes],
            "value": [None if o.value is None else str(o.value) for o in outcomes],
            "op": [o.rule.op for o in outcomes],
            "threshold": [str(o.rule.threshold) for o in outcomes],
            "result": ["pass" if o.passed else "fail" for o in outcomes],
        },
        schema={
            c: pl.String for c in ("rule", "month", "metric", "value", "op", "threshold", "result")
        },
    )
    if fmt == "table":
        from rich import box
        from rich.table import Table

        table = Table(title=f"check · {currency}", title_justify="left", box=box.SIMPLE_HEAD)
        for column in frame.columns:
            table.add_column(
                column, justify="right" if column in ("value", "threshold") else "left"
            )
        for row in frame.iter_rows():
            style = "green" if row[-1] == "pass" else "bold red"
            table.add_row(*(("(empty)" if v is None else v) for v in row), style=style)
        return table
    if fmt == "json":
        from mrrcli import __version__

        meta = {
            "report": "check",
            "month": outcomes[0].month if outcomes else None,
            "currency": currency,
            "passed": all(o.passed for o in outcomes),
            "mrrcli_version": __version__,
        }
        return f'{{"meta": {json.dumps(meta)}, "rows": {frame.write_json()}}}\n'
    if fmt == "ndjson":
        return frame.write_ndjson()
    if fmt == "markdown":
        return frame_markdown(frame)
    return frame.write_csv()
