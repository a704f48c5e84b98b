"""Text columns: their distinct values, tidied (stripped, blank as absent), interval names as
codes and statuses matched, each worked out once per distinct value rather than per row."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import polars as pl

from mrrcli.read.codes import recoded
from mrrcli.read.files import ROW_COLUMN

INTERVAL_CODES = {"day": 0, "week": 1, "month": 2, "quarter": 3, "year": 4}
MONTH_CODE = INTERVAL_CODES["month"]

INTERVALS = {
    **dict.fromkeys(("day", "days", "daily"), "day"),
    **dict.fromkeys(("week", "weeks", "weekly"), "week"),
    **dict.fromkeys(("month", "months", "monthly"), "month"),
    **dict.fromkeys(("quarter", "quarters", "quarterly"), "quarter"),
    **dict.fromkeys(("year", "years", "yearly", "annual", "annually"), "year"),
}

# Text columns of few distinct values, tidied once per value.
FEW_VALUES = ("currency", "interval", "status")

# False on every row, in the data's chunks: a bare literal column would be one chunk, and the
# next operation would copy every column to align them.
NOWHERE = pl.col(ROW_COLUMN).is_null()


def distinct(
    frame: pl.DataFrame, columns: list[str], known: Mapping[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """The distinct non-null values (as text) of each of `columns` of `frame`, text columns
    of few values, found in one pass; those of a column in `known` (read.files.Table.values:
    they may include values of rows dropped since, which only adds a tidying of a value no
    row holds) are taken from there."""
    known = known or {}
    looked_for = [c for c in columns if c not in known]
    found = (
        frame.select(
            pl.col(c).cast(pl.String).unique().drop_nulls().implode() for c in looked_for
        ).row(0)
        if looked_for
        else ()
    )
    values = {c: list(v) for c, v in zip(looked_for, found, strict=True)}
    return {c: list(known[c]) if c in known else values[c] for c in columns}


def _tidy(column: str, values: list[str], case: Callable[[str], str]) -> pl.Expr:
    """A text column of few distinct values stripped, blank as null and `case` applied,
    worked out once per distinct value (and not at all when every value is already tidy)."""
    tidy = {v: case(v.strip()) or None for v in values}
    text = pl.col(column).cast(pl.String)
    if all(v == t for v, t in tidy.items()):
        return text
    return recoded(text, tidy, pl.String)


def text_columns(
    schema: pl.Schema, values: dict[str, list[str]], stripped: frozenset[str] = frozenset()
) -> list[pl.Expr]:
    """Expressions replacing the text columns of `schema` in place, blank meaning absent: ids
    stripped (unless they are `stripped` already); the columns of few distinct `values`
    (currency upper case) tidied."""
    text: list[pl.Expr] = [
        _blank_as_null(_stripped(c, stripped)).alias(c)
        for c in ("customer_id", "subscription_id")
        if c in schema
    ]
    text += [
        _tidy(c, column_values, str.upper if c == "currency" else str.strip)
        for c, column_values in values.items()
    ]
    if "plan_id" in schema:
        text.append(pl.col("plan_id").cast(pl.String))
    return text


def _stripped(column: str, stripped: frozenset[str]) -> pl.Expr:
    """`column` as text without surrounding spaces (a strip costs a pass and a copy: skipped
    when the column is `stripped` already)."""
    text = pl.col(column).cast(pl.String)
    return text if column in stripped else text.str.strip_chars()


def _blank_as_null(text: pl.Expr) -> pl.Expr:
    """Empty text as null: a length test, far cheaper than replacing "" through a hash map."""
    return pl.when(text.str.len_bytes() != 0).then(text)


def interval_code(values: list[str]) -> pl.Expr:
    """`_interval`: `interval` (as in the file, of distinct `values`) as an index into
    INTERVAL_CODES (day, week, month, quarter, year); null when it is not one of the names in
    INTERVALS."""
    codes = {v: INTERVAL_CODES.get(INTERVALS.get(v.strip().lower(), "")) for v in values}
    return recoded(pl.col("interval").cast(pl.String), codes, pl.UInt8).alias("_interval")


def status_in(values: list[str], statuses: tuple[str, ...]) -> pl.Expr:
    """Whether a row's (tidied) status, of distinct `values`, is one of `statuses` (a boolean
    expression), compared lower case, with spaces and dashes as underscores ("In Trial" is
    in_trial)."""
    tidy = {v.strip() for v in values}
    matching = [v for v in tidy if re.sub(r"[\s-]+", "_", v.lower()) in statuses]
    return pl.col("status").is_in(matching).fill_null(False) if matching else NOWHERE
