"""The date columns of a `periods` frame parsed, file by file."""

from __future__ import annotations

import polars as pl

from mrrcli.read.dates import DateFormatError, DateParsing, OpenOrder, read_date_columns
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN
from mrrcli.read.orders import Tally
from mrrcli.read.problems import Findings

DATE_COLUMNS = ("start_date", "end_date", "trial_end")


def parse_dates(
    frame: pl.DataFrame,
    files: list[str],
    date_columns: list[str],
    dates: DateParsing,
    findings: Findings,
) -> tuple[pl.DataFrame, dict[int, Tally]]:
    """`frame` (rows of `files`) with `{column}__parsed` (Date) for each of `date_columns`,
    read as `dates` says, and the tally each file's order of numeric dates was chosen from
    (file index → read.orders.Tally; none for typed dates, --date-format, or an order given
    in `dates`). A file whose dates cannot be read fails in `findings`, once every file is
    read (the errors raised from then on carry the tallies: Findings.dates_told,
    InputError.date_tally).

    Dates are parsed per file so one file's day-first dates do not decide another's."""
    parsed_parts = []
    tallies: dict[int, Tally] = {}
    failed: tuple[DateFormatError, str] | None = None
    raw_dates = frame.select(FILE_COLUMN, ROW_COLUMN, *date_columns)
    by_file = (
        [((0,), raw_dates)]
        if len(files) == 1
        else raw_dates.group_by(FILE_COLUMN, maintain_order=True)
    )
    for file_index, part in by_file:
        index = int(file_index[0])  # type: ignore[call-overload]
        parsed: pl.DataFrame | None = None
        try:
            parsed, _, tally = read_date_columns(part, date_columns, dates.of_file(index))
        except DateFormatError as error:
            failed = failed or (error, files[index])
            tally = error.tally if isinstance(error, OpenOrder) else None
        if tally is not None:
            tallies[index] = tally
        if parsed is not None:
            parsed_parts.append(
                parsed.select(pl.col(c).cast(pl.Date).alias(f"{c}__parsed") for c in date_columns)
            )
    findings.dates_told = tallies
    if failed is not None:
        problem, file = failed
        shown = problem.naming(findings.shown) if isinstance(problem, OpenOrder) else None
        findings.fail(shown or str(problem), file, fatal=True)
        raise AssertionError("unreachable: a file's dates that fail stop the run")
    parsed_dates = pl.concat(parsed_parts) if len(parsed_parts) > 1 else parsed_parts[0]
    if len(parsed_parts) > 1:
        # group_by keeps files in order; rows within a file keep their order too.
        order = raw_dates.select(pl.arg_sort_by(FILE_COLUMN, maintain_order=True)).to_series()
        parsed_dates = parsed_dates.with_columns(pl.Series("_order", order)).sort("_order")
        parsed_dates = parsed_dates.drop("_order")
    return frame.with_columns(parsed_dates), tallies
