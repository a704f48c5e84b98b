"""The one sequence from files to MRR rows, used by every report (through mrrcli.parts) and by
`validate`:

    files → Input (read, source recognised, headers canonical, lookups joined)
          → a periods Table (invoice lines and snapshots rewritten)
          → Rows (each row's MRR in minor units of the reporting currency)

Each step is a function of the layer that owns it; this module only puts them in order and
adds what the source knows (its zone, statuses and unit) to the user's reading options.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal, cast

import polars as pl

from mrrcli.errors import InputError, UsageError
from mrrcli.normalize.attributes import read_attributes, segment_source, with_attributes
from mrrcli.normalize.periods import NormalizeOptions, Rows, normalize_periods, read_fx
from mrrcli.read.dates import DateParsing
from mrrcli.read.european import NUMBER_COLUMNS, from_decimal_comma
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, RowFilter, Table, header_key
from mrrcli.read.problems import Findings
from mrrcli.sources.inputs import Input, headers_of, open_input, to_periods
from mrrcli.vocabulary import SHAPE_COLUMNS, ReadOptions, counted

Unit = Literal["major", "minor"]


def open_export(
    paths: Sequence[str],
    options: ReadOptions,
    part: RowFilter | None = None,
    dates: DateParsing | None = None,
) -> Input:
    """Files → Input: read (only the rows `part` keeps, when given), source chosen, mapped;
    amounts written with a decimal comma rewritten when `options.decimal_comma`. `dates`: how
    duplicate rows read their dates (default: as the options say)."""
    extra = _mapped_segment(options)
    mapping = {k: v for k, v in options.mapping.items() if extra is None or k != extra[0]}
    inp = open_input(
        paths,
        options.source,
        mapping,
        options.keep_duplicates,
        part,
        options.delimiter,
        dates or _date_parsing(options),
    )
    if extra is not None and header_key(extra[1]) not in inp.table.frame.columns:
        name, header = extra
        named = [c for c in inp.table.frame.columns if not c.startswith("_")]
        columns = ", ".join(inp.table.spelling.get(c, c) for c in named)
        raise InputError(
            f"{', '.join(inp.table.files)}: --map {name}={header}: the file has no column "
            f"{header!r}; its columns are {columns}"
        )
    if extra is not None and inp.source.shape != "periods":
        raise UsageError(
            f"--by {options.by}: {inp.source.shape} are rewritten as periods, which keep only "
            f"their own columns; give {extra[0]} per customer in an --attributes file"
        )
    if options.decimal_comma:
        frame = inp.table.frame
        text = [c for c in NUMBER_COLUMNS if frame.schema.get(c) == pl.String]
        inp.table = replace(inp.table, frame=frame.with_columns(from_decimal_comma(text)))
    return inp


def _mapped_segment(options: ReadOptions) -> tuple[str, str] | None:
    """`--map NAME=Their Header --by NAME` where NAME is no column of any shape (§9: `--by`
    takes any column mapped with --map): NAME and the header, which is read as it is, not
    renamed (the column keeps its header's name)."""
    if options.by is None:
        return None
    name = header_key(options.by)
    header = options.mapping.get(name)
    if header is None or any(name in columns for columns in SHAPE_COLUMNS.values()):
        return None
    return name, header


def normalize_options(options: ReadOptions) -> NormalizeOptions:
    """The user's reading options as normalize takes them (the FX file read once)."""
    dates = _date_parsing(options)
    by = options.by
    export_segment = by is not None and (
        segment_source(by, options.mapping, options.attributes) == "export"
    )
    extra = _mapped_segment(options)
    segment = header_key(extra[1]) if extra is not None else header_key(by) if by else None
    return NormalizeOptions(
        segment=segment if export_segment else None,
        currency=options.currency,
        days_per_month=options.days_per_month,
        dates=dates,
        fx=read_fx(options.fx, DateParsing(timezone=options.timezone)) if options.fx else None,
    )


def _date_parsing(options: ReadOptions) -> DateParsing:
    """How the user's options read dates (the source adds its zone: for_source)."""
    return DateParsing(date_format=options.date_format, timezone=options.timezone)


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
    rows.caveat = inp.source.caveat
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
    inp = open_export(paths, options, part, reading.dates if reading else None)
    if part is not None and inp.table.frame.height == 0:
        return Rows(frame=pl.DataFrame(), currency="", exponent=0, files=inp.table.files)
    reading = for_source(inp, reading or normalize_options(options), options)
    findings = Findings(inp.table)
    rows = rows_of(inp, periods_of(inp, reading, findings), reading, findings)
    return segmented(rows, options, reading)


def segmented(rows: Rows, options: ReadOptions, reading: NormalizeOptions) -> Rows:
    """Rows with their `segment` (§9): a column of the export (read in normalize), or the
    customer's value in the --attributes file."""
    if options.by is None:
        return rows
    rows.by = options.by
    if reading.segment is None and options.attributes is not None and rows.frame.width:
        attributes = read_attributes(options.attributes, options.by)
        rows.frame, rows.unattributed = with_attributes(rows.frame, attributes)
    return rows


# A subscription period: the same customer, subscription, plan and first day. (The plan tells
# apart items of one subscription that start together, which a chunked dump may put in
# different files.)
PERIOD_KEY = ["customer_id", "subscription_id", "plan_id", "start_date"]


def shared_periods(frame: pl.DataFrame, tables: Sequence[int]) -> pl.DataFrame:
    """The subscription periods that rows of two files of one table hold (`tables[i]`: which
    table file i is, by its header): per pair of files, how many, and the first by key with
    its spreadsheet row in each. Rows identical in every column were already counted once;
    what is left is a period the two files tell differently, e.g. open in an older copy and
    ended in a newer one."""
    table = pl.col(FILE_COLUMN).replace_strict(range(len(tables)), tables, default=-1)
    # Only keys whose hash repeats are grouped exactly (a split export repeats almost none).
    hashes = frame.select(pl.struct(table, *PERIOD_KEY).hash(seed=0)).to_series()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1)).unique()
    by_file = pl.col(ROW_COLUMN).sort_by(FILE_COLUMN)
    found = (
        frame.lazy()
        .filter(hashes.is_in(repeated.implode()))
        .select(*PERIOD_KEY, FILE_COLUMN, ROW_COLUMN, table.alias("_table"))
        .group_by("_table", *PERIOD_KEY)
        .agg(
            pl.col(FILE_COLUMN).min().alias("first_file"),
            pl.col(FILE_COLUMN).max().alias("other_file"),
            by_file.first().alias("first_row"),
            by_file.last().alias("other_row"),
        )
        .filter(pl.col("first_file") != pl.col("other_file"))
    )
    return (
        found.sort("first_file", "other_file", *PERIOD_KEY)
        .group_by("first_file", "other_file", maintain_order=True)
        .agg(pl.len().alias("periods"), pl.all().exclude("_table").first())
        .collect()
    )


def file_tables(files: Sequence[str]) -> list[int]:
    """Which table each file is, by its header (files of one header are one table)."""
    headers = [frozenset(header_key(h) for h in headers_of(f)) if f != "-" else None for f in files]
    return [headers.index(h) if h is not None else i for i, h in enumerate(headers)]


def dated_copies(pieces: Iterable[pl.DataFrame], files: Sequence[str]) -> str | None:
    """What is wrong when files of one table hold the same subscription periods: dated copies
    of one export (`billing-2026-05-31.csv billing-2026-06-30.csv`) would count them twice.
    Files of different tables (a multi-table export), or of one table split by month or by
    customer, hold different periods. The same whole or in parts: a period's rows are all in
    one part, and the parts' findings are added up."""
    if len(files) < 2:
        return None
    tables = file_tables(files)
    return copies_found([shared_periods(p, tables) for p in pieces if p.height], files)


def copies_found(found: Sequence[pl.DataFrame], files: Sequence[str]) -> str | None:
    """The dated-copies problem of the shared periods of each part (shared_periods), if any."""
    shared = [frame for frame in found if frame.height]
    if not shared:
        return None
    pairs = (
        pl.concat(shared)
        .sort("first_file", "other_file", *PERIOD_KEY)
        .group_by("first_file", "other_file", maintain_order=True)
        .agg(pl.col("periods").sum(), pl.all().exclude("periods").first())
    )
    first = pairs.row(0, named=True)
    a, b = files[first["first_file"]], files[first["other_file"]]
    named = sorted({*pairs.get_column("first_file"), *pairs.get_column("other_file")})
    names = [files[i] for i in named]
    count = int(pairs.get_column("periods").sum())
    return (
        f"{', '.join(names[:-1])} and {names[-1]} both hold {count:,} subscription "
        f"period{'s' if count != 1 else ''} (same customer, subscription, plan and start) "
        f"with different values, e.g. customer {first['customer_id']}, subscription "
        f"{first['subscription_id']} from {first['start_date']} ({a} row "
        f"{first['first_row']}, {b} row {first['other_row']}): dated copies of one export "
        "would count them twice; pass only the newest export"
    )


def no_dated_copies(pieces: Iterable[pl.DataFrame], files: Sequence[str]) -> None:
    """Stop (InputError) when the files are dated copies of one export (see dated_copies)."""
    problem = dated_copies(pieces, files)
    if problem is not None:
        raise InputError(problem)
