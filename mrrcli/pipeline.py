"""The one sequence from files to MRR rows, used by every report (through mrrcli.parts) and by
`validate`:

    files → Input (read, source recognised, headers canonical, lookups joined)
          → a periods Table (invoice lines and snapshots rewritten)
          → Rows (each row's MRR in minor units of the reporting currency)

Each step is a function of the layer that owns it; this module only puts them in order and
adds what the source knows (its zone, statuses and unit) to the user's reading options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, cast

import polars as pl

from mrrcli.normalize.periods import NormalizeOptions, Rows, normalize_periods, read_fx
from mrrcli.read.dates import DateParsing
from mrrcli.read.european import NUMBER_COLUMNS, from_decimal_comma
from mrrcli.read.files import RowFilter, Table
from mrrcli.read.problems import Findings
from mrrcli.sources.inputs import Input, open_input, to_periods
from mrrcli.vocabulary import ReadOptions, counted

Unit = Literal["major", "minor"]


def open_export(paths: Sequence[str], options: ReadOptions, part: RowFilter | None = None) -> Input:
    """Files → Input: read (only the rows `part` keeps, when given), source chosen, mapped;
    amounts written with a decimal comma rewritten when `options.decimal_comma`."""
    inp = open_input(
        paths, options.source, options.mapping, options.keep_duplicates, part, options.delimiter
    )
    if options.decimal_comma:
        frame = inp.table.frame
        text = [c for c in NUMBER_COLUMNS if frame.schema.get(c) == pl.String]
        inp.table = replace(inp.table, frame=frame.with_columns(from_decimal_comma(text)))
    return inp


def normalize_options(options: ReadOptions) -> NormalizeOptions:
    """The user's reading options as normalize takes them (the FX file read once)."""
    dates = DateParsing(date_format=options.date_format, timezone=options.timezone)
    return NormalizeOptions(
        currency=options.currency,
        days_per_month=options.days_per_month,
        dates=dates,
        fx=read_fx(options.fx, DateParsing(timezone=options.timezone)) if options.fx else None,
    )


def for_source(inp: Input, reading: NormalizeOptions, options: ReadOptions) -> NormalizeOptions:
    """The reading options with what the source knows: the zone of its naive timestamps, its
    trial and unpaid statuses, and its amount unit unless --amount-unit is given."""
    return replace(
        reading,
        dates=replace(reading.dates, source_timezone=inp.source.timezone),
        trial_statuses=inp.source.trial_statuses,
        unpaid_statuses=inp.source.unpaid_statuses,
        amount_unit=cast(Unit, str(options.amount_unit or inp.source.amount_unit)),
    )


def periods_of(inp: Input, reading: NormalizeOptions, findings: Findings) -> Table:
    """Input → a periods table; lines set aside are counted in `inp.set_aside`."""
    return to_periods(inp, reading.dates, findings)


def rows_of(inp: Input, periods: Table, reading: NormalizeOptions, findings: Findings) -> Rows:
    """A periods table → Rows, with what was read and set aside on the way."""
    rows = normalize_periods(periods, reading, findings)
    rows.shape = inp.source.shape
    rows.source = inp.source.name
    rows.read = inp.read
    rows.days_per_month = reading.days_per_month
    rows.set_aside = {reason: n for reason, n in inp.set_aside.items() if n}
    rows.notes = inp.notes + [
        counted(n, f"{reason} set aside") for reason, n in inp.set_aside.items()
    ]
    return rows


def load_rows(
    paths: Sequence[str],
    options: ReadOptions,
    reading: NormalizeOptions | None = None,
    part: RowFilter | None = None,
) -> Rows:
    """Files → Rows, stopping at the first problem (an InputError naming file, row, column).

    `reading`: normalize options decided once for a run in parts; `part`: read only those rows
    (an empty part gives empty Rows)."""
    inp = open_export(paths, options, part)
    if part is not None and inp.table.frame.height == 0:
        return Rows(frame=pl.DataFrame(), currency="", exponent=0, files=inp.table.files)
    reading = for_source(inp, reading or normalize_options(options), options)
    findings = Findings(inp.table)
    return rows_of(inp, periods_of(inp, reading, findings), reading, findings)
