"""Duplicate rows (SPEC §2.5): rows that repeat an earlier row in every column, each column
compared by the value it is read as, are kept once and counted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from mrrcli.read.codes import recoded
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.numbers import scale_column, with_numbers

# How a column is compared when judging duplicate rows (SPEC §2.5): by the value it is read as.
SAME_NUMBER = "number"  # 10 and 10.00 are one amount
SAME_ID = "id"  # surrounding spaces stripped, case kept
SAME_CODE = "code"  # surrounding spaces stripped, case ignored (currency, interval, status)


def drop_duplicates(table: Table, kinds: Mapping[str, str] | None = None) -> Table:
    """`table` without the rows that repeat an earlier row in every column, counted in
    `duplicates` and listed (their `_file`, `_row`) in `duplicate_rows`. A column of `kinds`
    is compared by the value it is read as (SAME_NUMBER, SAME_ID, SAME_CODE); the others as
    written. Text ids come back stripped, in place (named in `stripped`)."""
    kinds = kinds or {}
    # Ids written as text are compared stripped: they are stripped once, here, in place (and
    # listed in `stripped`, so that normalizing does not strip them again).
    schema = table.frame.schema
    ids = [c for c, kind in kinds.items() if kind == SAME_ID and _is_text(schema.get(c))]
    if ids:
        frame = table.frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in ids)
        table = replace(table, frame=frame, stripped=table.stripped | frozenset(ids))
    frame = table.frame
    data = [c for c in frame.columns if c not in (FILE_COLUMN, ROW_COLUMN)]
    distinct: dict[str, list[str]] = {}
    texts = [
        _compared(frame, c, kinds.get(c), distinct) for c in data if kinds.get(c) != SAME_NUMBER
    ]
    table = replace(table, values={**table.values, **distinct})
    # Hash the rows without their numbers (only candidates, compared exactly below);
    # sorting the hashes and comparing neighbours beats a hash table of them (is_duplicated).
    # 64 bits sort as fast as 32, and 10M distinct rows share no 64-bit hash, where 32 bits
    # made some 12,000 false candidates to read and compare.
    hashes = frame.select(texts or [pl.lit(0)]).hash_rows(seed=0)
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if not repeated.len():
        return table
    candidates = frame.filter(hashes.is_in(repeated.unique().implode()))
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
    key = pl.struct(*texts, *values, *unread)
    first = candidates.select(key.is_first_distinct()).to_series()
    duplicates = candidates.height - int(first.sum())
    if not duplicates:
        return table
    drop = candidates.filter(~first).select(FILE_COLUMN, ROW_COLUMN)
    kept = frame.join(drop, on=[FILE_COLUMN, ROW_COLUMN], how="anti", maintain_order="left")
    earlier = [table.duplicate_rows] if table.duplicate_rows is not None else []
    return replace(
        table,
        frame=kept,
        duplicates=table.duplicates + duplicates,
        duplicate_rows=pl.concat([*earlier, drop]),
    )


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
