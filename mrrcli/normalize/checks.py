"""Checks of a `periods` frame: its required columns, then each row's values (one small
function per kind of column), with the rows that fail any of them marked `_bad`."""

from __future__ import annotations

import polars as pl

from mrrcli.normalize.numbers import MAX_AMOUNT
from mrrcli.read.dates import DateParsing
from mrrcli.read.european import decimal_comma_hint
from mrrcli.read.numbers import power_of_ten, scale_column
from mrrcli.read.problems import Check, Findings, missing_columns

AMOUNT_COLUMNS = ("amount", "monthly_amount", "mrr")  # the first present is the amount


def require_columns(frame: pl.DataFrame, headers: list[str], file: str, findings: Findings) -> str:
    """The amount column of `frame` (the first of AMOUNT_COLUMNS present). A missing
    customer_id, start_date or amount fails in `findings`, naming `file` and its `headers`."""
    missing = [c for c in ("customer_id", "start_date") if c not in frame.columns]
    amount_column = next((c for c in AMOUNT_COLUMNS if c in frame.columns), None)
    if amount_column is None:
        missing.append("amount")
    if missing:
        findings.fail(missing_columns(missing, headers, findings.table.spelling), file, fatal=True)
    assert amount_column is not None
    return amount_column


def check_rows(
    frame: pl.DataFrame,
    findings: Findings,
    amount_column: str,
    date_columns: list[str],
    dates: DateParsing,
) -> pl.DataFrame:
    """`frame` (values read, dates parsed) with `_bad`: whether the row fails any row check.
    The failures go to `findings`; `amount_column` holds the amount, `date_columns` the dates
    (read as `dates` says)."""
    schema = frame.schema
    checks = [
        Check("customer_id", pl.col("customer_id").is_null(), lambda v: "customer_id is empty"),
        Check("start_date", pl.col("start_date").is_null(), lambda v: "start_date is empty"),
        *_date_checks(schema, date_columns, dates),
        *_amount_checks(frame, amount_column),
    ]
    if "_quantity" in schema:
        checks += _quantity_checks(schema)
    if "_discount_percent" in schema:
        checks += _discount_percent_checks(frame)
    for column in ("discount_amount", "addons_amount"):
        if f"_{column}" in schema:
            checks += _money_checks(schema, column)
    if "_interval_count" in schema:
        checks += _interval_count_checks(schema)
    if "_interval" in schema:
        checks.append(
            Check(
                "interval",
                pl.col("interval").is_not_null() & pl.col("_interval").is_null(),
                lambda v: f"unknown interval {v!r} (expected day, week, month, quarter or year)",
            )
        )
    if "end_date" in date_columns:
        checks.append(
            Check(
                "end_date",
                pl.col("end_date__parsed") < pl.col("start_date__parsed"),
                # An invoice line's end arrives as a date, a periods row's as written.
                lambda v: f"end_date {str(v)!r} is before start_date",
            )
        )
    findings.check(frame, checks)
    # Gathering (validate) goes on past bad rows; they must not pass for rows at 0 MRR.
    return frame.with_columns(
        pl.any_horizontal(check.bad.fill_null(False) for check in checks).alias("_bad")
    )


def _as_written(schema: pl.Schema, column: str) -> pl.Expr:
    """`column` as in the file: text stripped, blank as null."""
    raw = pl.col(column)
    if schema[column] == pl.String:
        raw = raw.str.strip_chars().replace("", None)
    return raw


def _unreadable(schema: pl.Schema, column: str, kind: str, parsed: str | None = None) -> Check:
    """Rows whose `column` holds a value that could not be read as `kind` (into `parsed`,
    by default `_{column}`)."""
    return Check(
        column,
        _as_written(schema, column).is_not_null() & pl.col(parsed or f"_{column}").is_null(),
        lambda v: f"cannot read {v!r} as {kind}{decimal_comma_hint(v)}",
    )


def _date_checks(schema: pl.Schema, date_columns: list[str], dates: DateParsing) -> list[Check]:
    """Rows with a date in one of `date_columns` that could not be read as `dates` says."""
    expected_date = (
        f"expected the --date-format {dates.date_format!r}"
        if dates.date_format
        else "expected e.g. 2024-01-31"
    )
    return [
        Check(
            column,
            _as_written(schema, column).is_not_null() & pl.col(f"{column}__parsed").is_null(),
            lambda v: f"cannot read {v!r} as a date ({expected_date})",
        )
        for column in date_columns
    ]


def _amount_checks(frame: pl.DataFrame, amount_column: str) -> list[Check]:
    """Rows of `frame` whose amount (`amount_column`) is unreadable, empty, negative or too
    large."""
    amount = pl.col("_amount")
    return [
        _unreadable(frame.schema, amount_column, "an amount", parsed="_amount"),
        Check(amount_column, pl.col(amount_column).is_null(), lambda v: "the amount is empty"),
        Check(amount_column, amount < 0, lambda v: f"negative amount {v!r}"),
        Check(
            amount_column,
            _too_large(frame),
            lambda v: f"amount {v!r} is implausibly large (limit {MAX_AMOUNT:,})",
        ),
    ]


def _too_large(frame: pl.DataFrame) -> pl.Expr:
    """Whether a row's amount is MAX_AMOUNT a unit or more (in magnitude): a misread unit, not
    a price. Compared exactly, the mantissa with MAX_AMOUNT at the row's scale."""
    amount = pl.col("_amount")
    limit = _ten_to_scale_plus(frame, "_amount", len(str(MAX_AMOUNT)) - 1)  # 10^12
    if isinstance(limit, pl.Expr):
        magnitude: pl.Expr = amount.abs()
        return magnitude >= limit
    if limit >= 2**127:  # no mantissa gets there (false on every row, in the data's chunks)
        return amount.is_null() & False
    outside: pl.Expr = (amount >= limit) | (amount <= -limit)
    return outside


def _ten_to_scale_plus(frame: pl.DataFrame, name: str, digits: int) -> pl.Expr | int:
    """10^(scale + digits) for the scale of each row's mantissa `name`: an int when all rows
    of `frame` share one scale (the common case, far cheaper than a power per row), else an
    Int128 expression (null where it would pass Int128, beyond any mantissa of 38 digits)."""
    scale = pl.col(scale_column(name))
    least, most = frame.select(scale.min().alias("least"), scale.max().alias("most")).row(0)
    if least == most:
        return int(10 ** (digits + int(most or 0)))
    return power_of_ten(scale.cast(pl.Int32) + digits)


def _quantity_checks(schema: pl.Schema) -> list[Check]:
    """Rows whose quantity is unreadable or negative. (No quantity is too large: only an
    overflow of the arithmetic is, numbers.py.)"""
    return [
        _unreadable(schema, "quantity", "a quantity"),
        Check("quantity", pl.col("_quantity") < 0, lambda v: f"negative quantity {v!r}"),
    ]


def _discount_percent_checks(frame: pl.DataFrame) -> list[Check]:
    """Rows of `frame` whose discount_percent is unreadable or not between 0 and 100
    (exactly)."""
    percent = pl.col("_discount_percent")
    hundred = _ten_to_scale_plus(frame, "_discount_percent", 2)  # 100 at the row's scale
    return [
        _unreadable(frame.schema, "discount_percent", "a percentage"),
        Check(
            "discount_percent",
            (percent < 0) | (percent > hundred),
            lambda v: f"discount_percent {v!r} is not between 0 and 100",
        ),
    ]


def _money_checks(schema: pl.Schema, column: str) -> list[Check]:
    """Rows whose `column` (discount_amount, addons_amount) is unreadable or negative."""
    return [
        _unreadable(schema, column, "an amount"),
        Check(column, pl.col(f"_{column}") < 0, lambda v: f"negative {column} {v!r}"),
    ]


def _interval_count_checks(schema: pl.Schema) -> list[Check]:
    """Rows whose interval_count is unreadable or not a positive whole number."""
    return [
        _unreadable(schema, "interval_count", "a whole number"),
        Check(
            "interval_count",
            pl.col("_interval_count") <= 0,
            lambda v: f"interval_count {v!r} is not a positive whole number",
        ),
    ]
