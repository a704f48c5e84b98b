"""Duplicate rows (SPEC §2.5): rows that repeat an earlier row in every column, each column
compared by the value it is read as, are kept once and counted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import cast

import polars as pl

from mrrcli.read.codes import recoded
from mrrcli.read.dates import (
    DateFormatError,
    DateParsing,
    month_as_date,
    parse_date_columns,
    written_day,
)
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.numbers import scale_column, with_numbers

# How a column is compared when judging duplicate rows (SPEC §2.5): by the value it is read as.
SAME_NUMBER = "number"  # 10 and 10.00 are one amount
SAME_ID = "id"  # surrounding spaces stripped, case kept
SAME_CODE = "code"  # surrounding spaces stripped, case ignored (currency, interval, status)
SAME_DATE = "date"  # the date it is read as (DatesRead): 2024-03-01 and 2024-03-01T00:00:00Z
SAME_MONTH = "month"  # the month it names (a snapshot's month): 2024-03 and 2024-03-31
_DATES = (SAME_DATE, SAME_MONTH)


@dataclass(frozen=True)
class DatesRead:
    """How the date columns (SAME_DATE, SAME_MONTH) are read, as normalizing reads them: the
    date each value is read as under every one of `readings` (an invoice line's dates are
    read in --timezone and, to measure its length, in the billing system's zone), the order
    of numeric dates inferred from the values of all of them together, per file when
    `per_file` (as `periods` are read), else over all files (invoice lines, snapshots).

    A timestamp is compared by the DATE it is read as, not by its instant: SPEC §2.5 reads
    every timestamp by converting it to --timezone and cutting it to a date, and nothing of a
    row but that date is ever used. Two rows that differ only in the time of day (or in the
    offset a same day is written in) read as the same row: counting both would count its MRR
    twice, as an export that writes dates only would show; and an export that writes times
    gives the same report as its copy that writes dates only."""

    readings: tuple[DateParsing, ...] = (DateParsing(),)
    per_file: bool = False


def drop_duplicates(
    table: Table, kinds: Mapping[str, str] | None = None, dates: DatesRead | None = None
) -> Table:
    """`table` without the rows that repeat an earlier row in every column, counted in
    `duplicates` and listed (their `_file`, `_row`) in `duplicate_rows`. A column of `kinds`
    is compared by the value it is read as (SAME_NUMBER, SAME_ID, SAME_CODE, and SAME_DATE or
    SAME_MONTH read as `dates` says: as written without it); the others as written. Text ids
    come back stripped, in place (named in `stripped`)."""
    kinds = {c: k for c, k in (kinds or {}).items() if dates is not None or k not in _DATES}
    # Ids written as text are compared stripped: they are stripped once, here, in place (and
    # listed in `stripped`, so that normalizing does not strip them again).
    schema = table.frame.schema
    ids = [c for c, kind in kinds.items() if kind == SAME_ID and _is_text(schema.get(c))]
    if ids:
        frame = table.frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in ids)
        table = replace(table, frame=frame, stripped=table.stripped | frozenset(ids))
    frame = table.frame
    dated = {c: kinds[c] for c in frame.columns if kinds.get(c) in _DATES}
    many, days = _many_values(frame, dated, dates)
    distinct: dict[str, list[str]] = {}
    found = _repeats(frame, kinds, dates, (many, days), distinct)
    # None: a candidate's date needs the order of numeric dates that all values tell
    if found is None:
        found = cast(pl.DataFrame, _repeats(frame, kinds, dates, ([], days), distinct))
    table = replace(table, values={**table.values, **distinct})
    drop = found
    if not drop.height:
        return table
    kept = frame.join(drop, on=[FILE_COLUMN, ROW_COLUMN], how="anti", maintain_order="left")
    earlier = [table.duplicate_rows] if table.duplicate_rows is not None else []
    return replace(
        table,
        frame=kept,
        duplicates=table.duplicates + drop.height,
        duplicate_rows=pl.concat([*earlier, drop]),
    )


def _repeats(
    frame: pl.DataFrame,
    kinds: Mapping[str, str],
    dates: DatesRead | None,
    timestamps: tuple[list[str], list[str]],
    distinct: dict[str, list[str]],
) -> pl.DataFrame | None:
    """`_file` and `_row` of the rows of `frame` that repeat an earlier row (drop_duplicates).
    Of the date columns with many values (`timestamps`, _many_values), the first are left
    out of the hash and read for the candidates only (None when one of theirs needs the
    order of numeric dates), the second compared by the day they start with. The distinct
    values of code columns are kept in `distinct` (Table.values)."""
    many, days = timestamps
    data = [c for c in frame.columns if c not in (FILE_COLUMN, ROW_COLUMN)]
    dated = {c: kinds[c] for c in data if kinds.get(c) in _DATES}
    few = {c: kind for c, kind in dated.items() if c not in many and c not in days}
    keyed, date_keys = (frame, []) if frame.height < 2 else _date_keys(frame, few, dates)
    date_keys += [pl.col(c).str.slice(0, 10) for c in days]
    texts = [
        _compared(frame, c, kinds.get(c), distinct)
        for c in data
        if kinds.get(c) != SAME_NUMBER and c not in dated
    ] + date_keys
    # Hash the rows without their numbers (only candidates, compared exactly below);
    # sorting the hashes and comparing neighbours beats a hash table of them (is_duplicated).
    # 64 bits sort as fast as 32, and 10M distinct rows share no 64-bit hash, where 32 bits
    # made some 12,000 false candidates to read and compare.
    hashes = keyed.select(texts or [pl.lit(0)]).hash_rows(seed=0)
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if not repeated.len():
        return frame.select(FILE_COLUMN, ROW_COLUMN).clear()
    candidates = keyed.filter(hashes.is_in(repeated.unique().implode()))
    numbers = {
        c: f"__number_{i}" for i, c in enumerate(c for c in data if kinds.get(c) == SAME_NUMBER)
    }
    candidates = with_numbers(candidates, numbers)
    # An unreadable number is compared as written.
    unread = [
        pl.when(pl.col(n).is_null()).then(pl.col(c).cast(pl.String)) for c, n in numbers.items()
    ]
    values = [pl.col(n) for n in numbers.values()] + [
        pl.col(scale_column(n)) for n in numbers.values()
    ]
    late: list[pl.Expr] = []
    if many and dates is not None:
        # Only the rows equal in every other column are read (a subscription's rows at one
        # price differ in their dates alone).
        same = pl.struct(*texts, *values, *unread).is_duplicated()
        candidates = candidates.filter(candidates.select(same).to_series())
        read = _candidate_dates(candidates, {c: dated[c] for c in many}, dates)
        if read is None:
            return None
        candidates, late = read
    key = pl.struct(*texts, *late, *values, *unread)
    first = candidates.select(key.is_first_distinct()).to_series()
    return candidates.filter(~first).select(FILE_COLUMN, ROW_COLUMN)


def _is_text(dtype: pl.DataType | None) -> bool:
    return dtype is not None and (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum))


def _compared(
    frame: pl.DataFrame, column: str, kind: str | None, values: dict[str, list[str]]
) -> pl.Expr:
    """`column` of `frame` as it is compared for duplicates (see drop_duplicates). A code
    column (a few distinct values) is tidied once per distinct value, and only if needed;
    its distinct values are kept in `values` (Table.values)."""
    if kind not in (SAME_ID, SAME_CODE):
        return pl.col(column)
    if kind == SAME_ID:  # stripped already when text (drop_duplicates); a number as it is
        return pl.col(column)
    text = pl.col(column).cast(pl.String)
    found = frame.select(text.unique().drop_nulls().head(_FEW + 1)).to_series().to_list()
    if len(found) > _FEW:
        return text.str.strip_chars().str.to_lowercase()
    values[column] = found
    tidy = {v: v.strip().lower() for v in found}
    if all(v == t for v, t in tidy.items()):
        return text
    return recoded(text, tidy, pl.String)


_FEW = 1000  # a code column with more distinct values is tidied row by row


def _date_keys(
    frame: pl.DataFrame, kinds: Mapping[str, str], dates: DatesRead | None
) -> tuple[pl.DataFrame, list[pl.Expr]]:
    """`frame`, with the columns its date columns (`kinds`) are compared by where they are
    not compared as they are, and the expressions they are compared by.

    A Date column is compared as it is. A text column is read once per distinct value (a
    date column holds few: days), as `dates` says; when no two texts of it read as one
    value (one notation, the common case) it is compared as written, at no cost per row, else
    by the dates each row's text is read as (looked up by text). A value that reads as no
    date is compared as written (the normal reading reports it with its row)."""
    if not kinds or dates is None:
        return frame, []
    keys: list[pl.Expr] = []
    texts = []
    for column, kind in kinds.items():
        dtype = frame.schema[column]
        if dtype == pl.Date:
            keys.append(pl.col(column).dt.month_start() if kind == SAME_MONTH else pl.col(column))
        else:
            texts.append(column)
    files = frame.get_column(FILE_COLUMN)
    one_file = files.min() == files.max()
    by_file = dates.per_file and not one_file
    readings = dates.readings
    if one_file and files.len():
        # The rows of one file: read as that file is (DateParsing.of_file)
        readings = tuple(r.of_file(int(cast(int, files.min()))) for r in readings)
    read = _read_distinct(frame, texts, kinds, readings, by_file)
    for index, column in enumerate(texts):
        values = read[column]
        names = [c for c in values.columns if c not in (FILE_COLUMN, column)]
        pairs = values.select(pl.col(column).cast(pl.String), *names).unique()
        if pairs.height == pairs.get_column(column).n_unique() == pairs.select(names).n_unique():
            keys.append(pl.col(column))  # one text per value: as written
            continue
        renamed = {name: f"__date{index}{name}" for name in names}
        on = [FILE_COLUMN, column] if by_file else [column]
        values = values.select(*on, *names).rename(renamed)
        frame = frame.join(values, on=on, how="left", nulls_equal=True, maintain_order="left")
        keys.extend(pl.col(name) for name in renamed.values())
    return frame, keys


def _read_distinct(
    frame: pl.DataFrame,
    columns: list[str],
    kinds: Mapping[str, str],
    readings: tuple[DateParsing, ...],
    by_file: bool,
) -> dict[str, pl.DataFrame]:
    """For each of `columns`, its distinct values (per file, with `_file`, when `by_file`)
    and what each is read as: `_r0`, `_r1`, ... its date under each of `readings` (the
    month's first day for SAME_MONTH), and `_text`: the value as written when it reads as no
    date (else null). The order of numeric dates is inferred from the values of all
    `columns` together, as normalizing infers it."""
    if not columns:
        return {}
    scopes: list[tuple[int | None, dict[str, pl.Series]]]
    if by_file:
        pairs = {c: frame.select(FILE_COLUMN, c).unique() for c in columns}
        files = frame.get_column(FILE_COLUMN).unique().sort().to_list()
        scopes = [
            (f, {c: p.filter(pl.col(FILE_COLUMN) == f).get_column(c) for c, p in pairs.items()})
            for f in files
        ]
    else:
        scopes = [(None, {c: frame.get_column(c).unique() for c in columns})]
    found: dict[str, list[pl.DataFrame]] = {c: [] for c in columns}
    for file, values in scopes:
        told = readings if file is None else tuple(r.of_file(file) for r in readings)
        for column, read in _read_values(values, kinds, told).items():
            if file is not None:
                read = read.with_columns(pl.lit(file, dtype=pl.UInt16).alias(FILE_COLUMN))
            found[column].append(read)
    return {c: pl.concat(parts) for c, parts in found.items()}


def _read_values(
    values: Mapping[str, pl.Series], kinds: Mapping[str, str], readings: tuple[DateParsing, ...]
) -> dict[str, pl.DataFrame]:
    """Distinct `values` of date columns (of one file, or all) with what each is read as
    (see _read_distinct). Numeric dates whose order the values leave open are read as no
    date: compared as written, and the normal reading stops at them."""
    length = max(len(v) for v in values.values())
    # One frame of the columns side by side: shorter columns repeat their first value
    # (values repeated tell the order nothing more). Text as text; typed timestamps typed.
    side = pl.DataFrame(
        {
            c: _padded(v if isinstance(v.dtype, pl.Datetime) else v.cast(pl.String), length)
            for c, v in values.items()
        }
    ).with_columns(
        month_as_date(pl.col(c)).alias(c)
        for c, v in values.items()
        if kinds[c] == SAME_MONTH and not isinstance(v.dtype, pl.Datetime)
    )
    dated = []
    for reading in readings:
        try:
            parsed, _ = parse_date_columns(side, list(values), reading)
        except DateFormatError:
            parsed = side.with_columns(pl.lit(None, dtype=pl.Date).alias(c) for c in values)
        dated.append(parsed)
    read = {}
    for column, distinct in values.items():
        got = [d.get_column(column).cast(pl.Date).head(distinct.len()) for d in dated]
        if kinds[column] == SAME_MONTH:
            got = [g.dt.month_start() for g in got]
        text = side.get_column(column).head(distinct.len()).cast(pl.String)
        written = text.str.strip_chars().ne("").fill_null(False)
        read[column] = pl.DataFrame(
            [distinct, *(g.alias(f"_r{i}") for i, g in enumerate(got))]
        ).with_columns(pl.when(written & got[0].is_null()).then(text).alias("_text"))
    return read


def _padded(values: pl.Series, length: int) -> pl.Series:
    if values.len() >= length:
        return values
    fill = values.head(1) if values.len() else pl.Series([None], dtype=pl.String)
    return pl.concat([values, fill.extend_constant(fill[0], length - values.len() - 1)])


# A date column with more than _MANY_DATES distinct values in its first _SAMPLE rows (a
# timestamp, not a day) is read for the candidate rows only.
_SAMPLE = 20_000
_MANY_DATES = 2_000


def _many_values(
    frame: pl.DataFrame, kinds: Mapping[str, str], dates: DatesRead | None
) -> tuple[list[str], list[str]]:
    """The date columns of `kinds` (not typed Date) whose values are mostly distinct: those
    whose day is the one they start with (_day_first_written), and the others."""
    sample = frame.head(_SAMPLE)
    many = [
        c
        for c in kinds
        if frame.schema[c] != pl.Date and sample.get_column(c).n_unique() > _MANY_DATES
    ]
    days = [c for c in many if _day_first_written(frame, c, kinds[c], dates)]
    return [c for c in many if c not in days], days


def _day_first_written(
    frame: pl.DataFrame, column: str, kind: str, dates: DatesRead | None
) -> bool:
    """Whether every value of `column` is read as the day it starts with, under every one
    of the readings (read.dates.written_day: a valid `YYYY-MM-DD`, alone or followed by a time
    whose zone cannot move it). Such a column (Stripe's `2024-03-01 12:34`) is compared by
    that day, at no cost beyond one pattern match and the reading of its few distinct days."""
    if dates is None or kind != SAME_DATE or frame.schema[column] != pl.String:
        return False
    written = [written_day(column, reading) for reading in dates.readings]
    if any(w is None for w in written):
        return False
    checks = [w[1].all().alias(f"_{i}") for i, w in enumerate(written) if w is not None]
    return all(frame.select(checks).row(0))


def _candidate_dates(
    candidates: pl.DataFrame, kinds: Mapping[str, str], dates: DatesRead
) -> tuple[pl.DataFrame, list[pl.Expr]] | None:
    """`candidates` with what their date columns `kinds` are read as (`__late…` columns, as
    _read_values), and the expressions they are compared by; None when reading them needs
    the order of numeric dates, which only all the values of their file tell. Year-first
    dates and timestamps, --date-format and typed timestamps read the same in any file."""
    side = candidates.select(_as_read(candidates, c, kind) for c, kind in kinds.items())
    columns = list(kinds)
    added: dict[str, pl.Series] = {}
    for i, reading in enumerate(dates.readings):
        try:
            parsed, how = parse_date_columns(side, columns, reading)
        except DateFormatError:
            return None
        if how not in ("ymd", "explicit", "typed"):
            return None
        for j, column in enumerate(columns):
            got = parsed.get_column(column).cast(pl.Date)
            added[f"__late{j}_r{i}"] = got.dt.month_start() if kinds[column] == SAME_MONTH else got
    for j, column in enumerate(columns):
        text = side.get_column(column).cast(pl.String)
        unread = text.str.strip_chars().ne("").fill_null(False) & added[f"__late{j}_r0"].is_null()
        added[f"__late{j}_text"] = text.zip_with(
            unread, pl.repeat(None, text.len(), dtype=pl.String, eager=True)
        )
    candidates = candidates.with_columns(v.alias(k) for k, v in added.items())
    return candidates, [pl.col(name) for name in added]


def _as_read(frame: pl.DataFrame, column: str, kind: str) -> pl.Expr:
    """A date column as it is given to parse_date_columns: typed timestamps typed, the rest
    as text (a month's `2024-03` as its first day)."""
    if isinstance(frame.schema[column], pl.Datetime):
        return pl.col(column)
    text = pl.col(column).cast(pl.String)
    return (month_as_date(text) if kind == SAME_MONTH else text).alias(column)
