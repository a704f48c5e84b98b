"""The date columns of a `periods` frame parsed, file by file."""

from __future__ import annotations

import polars as pl

from mrrcli.read.dates import DateFormatError, DateParsing, OpenOrder, parse_date_columns
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN
from mrrcli.read.problems import Findings

DATE_COLUMNS = ("start_date", "end_date", "trial_end")


def parse_dates(
    frame: pl.DataFrame,
    files: list[str],
    date_columns: list[str],
    dates: DateParsing,
    findings: Findings,
) -> tuple[pl.DataFrame, dict[int, str]]:
    """`frame` (rows of `files`) with `{column}__parsed` (Date) for each of `date_columns`,
    read as `dates` says, and how each file's dates were read (file index → an order such as
    day-first, see read/dates.py). A file whose dates cannot be read fails in `findings`.

    Dates are parsed per file so one file's day-first dates do not decide another's."""
    parsed_parts = []
    date_orders: dict[int, str] = {}
    raw_dates = frame.select(FILE_COLUMN, ROW_COLUMN, *date_columns)
    by_file = (
        [((0,), raw_dates)]
        if len(files) == 1
        else raw_dates.group_by(FILE_COLUMN, maintain_order=True)
    )
    open_order: tuple[OpenOrder, int] | None = None  # the first file whose order is open
    for key, part in by_file:
        file_index = int(key[0])  # type: ignore[arg-type]
        try:
            parsed, how = parse_date_columns(part, date_columns, dates.of_file(file_index))
            date_orders[file_index] = how
        except OpenOrder as error:
            # The other files are read on: a run in parts learns their orders from this part
            # too (InputError.open_order).
            open_order = open_order or (error, file_index)
            continue
        except DateFormatError as error:
            if open_order is not None:
                break  # the first file's problem first, as ever
            findings.fail_dates(error, files[file_index])
        parsed_parts.append(
            parsed.select(pl.col(c).cast(pl.Date).alias(f"{c}__parsed") for c in date_columns)
        )
    if open_order is not None:
        findings.fail_dates(open_order[0], files[open_order[1]], date_orders)
    parsed_dates = pl.concat(parsed_parts) if len(parsed_parts) > 1 else parsed_parts[0]
    if len(parsed_parts) > 1:
        # group_by keeps files in order; rows within a file keep their order too.
        order = raw_dates.select(pl.arg_sort_by(FILE_COLUMN, maintain_order=True)).to_series()
        parsed_dates = parsed_dates.with_columns(pl.Series("_order", order)).sort("_order")
        parsed_dates = parsed_dates.drop("_order")
    return frame.with_columns(parsed_dates), date_orders
