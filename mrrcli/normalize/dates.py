"""The date columns of a `periods` frame parsed, file by file."""

from __future__ import annotations

import polars as pl

from mrrcli.read.dates import DateFormatError, DateParsing, parse_date_columns
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN
from mrrcli.read.problems import Findings

DATE_COLUMNS = ("start_date", "end_date", "trial_end")


def parse_dates(
    frame: pl.DataFrame,
    files: list[str],
    date_columns: list[str],
    dates: DateParsing,
    findings: Findings,
) -> tuple[pl.DataFrame, set[str]]:
    """`frame` (rows of `files`) with `{column}__parsed` (Date) for each of `date_columns`,
    read as `dates` says, and how the dates were read (orders such as day-first, see
    read/dates.py). A file whose dates cannot be read fails in `findings`.

    Dates are parsed per file so one file's day-first dates do not decide another's."""
    parsed_parts = []
    date_orders: set[str] = set()
    raw_dates = frame.select(FILE_COLUMN, ROW_COLUMN, *date_columns)
    by_file = (
        [((0,), raw_dates)]
        if len(files) == 1
        else raw_dates.group_by(FILE_COLUMN, maintain_order=True)
    )
    for file_index, part in by_file:
        try:
            parsed, how = parse_date_columns(part, date_columns, dates)
            date_orders.add(how)
        except DateFormatError as error:
            findings.fail_dates(error, files[int(file_index[0])])  # type: ignore[arg-type]
        parsed_parts.append(
            parsed.select(pl.col(c).cast(pl.Date).alias(f"{c}__parsed") for c in date_columns)
        )
    parsed_dates = pl.concat(parsed_parts) if len(parsed_parts) > 1 else parsed_parts[0]
    if len(parsed_parts) > 1:
        # group_by keeps files in order; rows within a file keep their order too.
        order = raw_dates.select(pl.arg_sort_by(FILE_COLUMN, maintain_order=True)).to_series()
        parsed_dates = parsed_dates.with_columns(pl.Series("_order", order)).sort("_order")
        parsed_dates = parsed_dates.drop("_order")
    return frame.with_columns(parsed_dates), date_orders
