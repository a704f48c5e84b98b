"""The one output path: what a command produced, as a Document, in a format, to a file
(atomically) or to stdout (a table drawn for the terminal)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import polars as pl

from mrrcli.errors import MrrError
from mrrcli.present.document import Document, Report
from mrrcli.present.files import write_atomic
from mrrcli.present.formats import Format, render_text
from mrrcli.present.terminal import Terminal
from mrrcli.validate import Validation

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from mrrcli.checks import Outcome

OUTCOME_COLUMNS = ("rule", "month", "metric", "value", "op", "threshold", "result", "reason")


def write(
    document: Document, fmt: Format, output: str | None, terminal: Terminal, wide: bool = False
) -> None:
    """Write the document in `fmt` to `output` (whole or not at all), else to stdout. A table
    fits the terminal unless `wide`."""
    if output is not None:
        try:
            write_atomic(output, render_text(document, fmt))
        except OSError as error:
            # As `report -o` and `--chart PATH` do: exit 1, not a usage error.
            raise MrrError(f"{output}: cannot write the report: {error.strerror}") from None
        return
    try:
        if fmt == "table":
            print_table(document, terminal, wide)
        else:
            sys.stdout.write(render_text(document, fmt))
            sys.stdout.flush()
    except BrokenPipeError:
        raise  # a closed pipe (`| head`): the command line ends quietly
    except OSError as error:  # a full disk behind `>`
        raise MrrError(f"cannot write to stdout: {error.strerror or error}") from None


def print_table(document: Document, terminal: Terminal, wide: bool = False) -> None:
    """Print the table on stdout, fitted to the terminal's width (every column with `wide`);
    a table that cannot fit is drawn wider rather than wrapping a number. Below it: what the
    document adds. Not on a terminal, lines end without spaces."""
    from mrrcli.present.tables import needed_width, without_trailing_spaces

    console = terminal.console()
    width = console.width
    table = document.table(None if wide else width)
    console.width = max(width, needed_width(table))
    if terminal.stdout_is_terminal:
        _print_with_below(console, table, document, width)
        return
    with console.capture() as captured:
        _print_with_below(console, table, document, width)
    sys.stdout.write(without_trailing_spaces(captured.get()))
    sys.stdout.flush()


def _print_with_below(console: Console, table: Table, document: Document, width: int) -> None:
    console.print(table)
    if document.below is not None:
        console.width = width
        document.below(console, width)


def report_document(report: Report, chart: bool = False) -> Document:
    """A report; on a terminal, the top expanding customers (expansion) and the chart follow."""

    def table(width: int | None) -> Table:
        from mrrcli.present.tables import rich_table

        if report.kind == "cohorts":
            from mrrcli.present.triangle import cohort_table

            return cohort_table(report, width)
        return rich_table(report, width)

    def below(console: Console, width: int) -> None:
        from mrrcli.present.tables import leaders_text

        leaders = report.extra.get("top_expanding")
        if leaders is not None and leaders.height:
            console.print(leaders_text(leaders, report.exponent), highlight=False)
        if chart:
            from mrrcli.present.chart import movement_chart

            # With --by: the whole's movements, not the segments' rows drawn as months.
            movements = report.extra.get("movements", report.extra.get("totals", report.frame))
            console.print(movement_chart(movements.to_dicts(), report.currency, width))

    return Document(report.frame, report.meta, table, ascii_meta=False, below=below)


def problems_document(validation: Validation) -> Document:
    """validate's findings, errors in red and warnings in yellow."""
    frame = validation.frame()
    meta = {
        "inputs": validation.files,
        "rows_read": validation.read,
        "rows_used": validation.used,
        "set_aside": validation.set_aside,
        "errors": validation.errors,
        "warnings": validation.warnings,
    }

    def table(width: int | None) -> Table:
        from mrrcli.present.tables import rows_table

        shown = frame
        if frame.get_column("file").n_unique() <= 1:  # the title names the one file
            shown = frame.drop("file")
        drawn = rows_table(
            shown,
            f"validate · {', '.join(validation.files)}",
            right={"count"},
            row_style=lambda row: "red" if row[0] == "error" else "yellow",
            width=width,
            header_style="bold",
        )
        if frame.height == 0:
            drawn.caption = "no problems found"
            drawn.caption_justify = "left"
        return drawn

    return Document(frame, meta, table)


def outcomes_document(
    outcomes: list[Outcome], currency: str, exponent: int = 2, judged: Report | None = None
) -> Document:
    """check's results, one rule a row, passes in green and failures in bold red. CSV and JSON
    keep plain numbers; the table shows values as the reports do (money with separators,
    ratios as percentages), why an empty value fails, and how many rules failed. With the
    report `judged`: its source, caveat and freshness in meta and the caption."""
    from mrrcli import __version__
    from mrrcli.checks import summary

    frame = pl.DataFrame(
        {
            "rule": [o.rule.text for o in outcomes],
            "month": [o.month for o in outcomes],
            "metric": [o.rule.metric for o in outcomes],
            "value": [None if o.value is None else format(o.value, "f") for o in outcomes],
            "op": [o.rule.op for o in outcomes],
            "threshold": [format(o.rule.threshold, "f") for o in outcomes],  # 1e2: 100
            "result": ["pass" if o.passed else "fail" for o in outcomes],
            "reason": [o.reason for o in outcomes],
        },
        schema=dict.fromkeys(OUTCOME_COLUMNS, pl.String),
    )
    frame = _with_segment(frame, outcomes)
    meta: dict[str, Any] = {
        "report": "check",
        "month": outcomes[0].month if outcomes else None,
        "currency": currency,
        "passed": all(o.passed for o in outcomes),
        "mrrcli_version": __version__,
    }
    if judged is not None:
        about = ("source", "caveat", "as_of", "data_through", "max_age", "stale")
        meta.update({key: judged.meta[key] for key in about})

    def table(width: int | None) -> Table:
        from mrrcli.present.tables import display_text, rows_table

        shown = pl.DataFrame(
            {
                "rule": [o.rule.text for o in outcomes],
                "month": [o.month for o in outcomes],
                "value": [display_text(o.rule.metric, o.value, exponent) for o in outcomes],
                "result": [_result(o.passed, o.reason) for o in outcomes],
            },
            schema=dict.fromkeys(("rule", "month", "value", "result"), pl.String),
        )
        drawn = rows_table(
            _with_segment(shown, outcomes),
            f"check · {currency}",
            right={"value"},
            row_style=lambda row: "green" if row[-1] == "pass" else "bold red",
            width=width,
        )
        notes = judged.caption_notes() if judged is not None else []
        drawn.caption = "\n".join([summary(outcomes), *notes])
        drawn.caption_justify = "left"
        return drawn

    return Document(frame, meta, table, json_numbers=("value", "threshold"))


def _with_segment(frame: pl.DataFrame, outcomes: list[Outcome]) -> pl.DataFrame:
    """check --by (SPEC §9): each outcome's segment after the month."""
    if all(o.segment is None for o in outcomes):
        return frame
    return frame.insert_column(2, pl.Series("segment", [o.segment for o in outcomes], pl.String))


def _result(passed: bool, reason: str | None) -> str:
    if passed:
        return "pass"
    return f"fail ({reason})" if reason else "fail"
