"""Numbers read as scaled integers, and the MRR division (SPEC §3).

    mrr = (amount × quantity × (1 − discount_percent/100) − discount_amount)
          ÷ months(interval, interval_count)

All of it is exact: amounts, quantities and percentages are read as scaled integers, the
division is done once (on Int64 when it provably fits, else Int128) and rounded half away
from zero to the reporting currency's minor unit. From here on money is integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.normalize.text import MONTH_CODE
from mrrcli.read.problems import Check, Findings

# Decimal places kept when reading values; more are rounded on reading.
AMOUNT_SCALE = 6
QUANTITY_SCALE = 3
PERCENT_SCALE = 4  # discount percent with 4 decimals: the factor (1 - p/100) at 10^6
RATE_SCALE = 10
MAX_AMOUNT = 10**12
MAX_QUANTITY = 10**7
MAX_ROW_MRR = 10**15  # minor units a month: ten trillion dollars
MAX_TOTAL_MRR = 2**62  # all rows together; Int64 sums of movements never overflow below it


def _decimal(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """A column (text or number) as Decimal(38, scale); unreadable text becomes null."""
    col = pl.col(column)
    if dtype == pl.String:
        text = col.str.strip_chars().str.strip_prefix("$")
        # "1,200.50" as spreadsheets write it; a decimal comma ("12,50") is never guessed.
        grouped = text.str.contains(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
        text = pl.when(grouped).then(text.str.replace_all(",", "", literal=True)).otherwise(text)
        decimal: pl.Expr = text.str.to_decimal(scale=scale)
        return decimal
    return col.cast(pl.Decimal(38, scale), strict=False)


def scaled(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """The column `column` of type `dtype` as an Int128 count of 10^-scale units (null where
    unreadable)."""
    if dtype.is_integer():
        whole: pl.Expr = pl.col(column).cast(pl.Int128) * 10**scale
        return whole
    if isinstance(dtype, pl.Decimal):
        # A Decimal's physical value is the count of units of its scale.
        return pl.col(column).cast(pl.Decimal(38, scale), strict=False).to_physical()
    value: pl.Expr = _decimal(column, dtype, scale) * (10**scale)
    return value.cast(pl.Int128, strict=False)


def _column_scale(dtype: pl.DataType, most: int) -> int:
    """Decimal places to read a column of type `dtype` with: none for integers, a Decimal's
    own scale, else `most`. Fewer places keep the MRR division in Int64 more often."""
    if dtype.is_integer():
        return 0
    if isinstance(dtype, pl.Decimal) and dtype.scale is not None and dtype.scale <= most:
        return dtype.scale
    return most


@dataclass(frozen=True)
class Scales:
    """Decimal places each kind of number is read with (see _column_scale)."""

    amount: int = AMOUNT_SCALE
    quantity: int = QUANTITY_SCALE
    percent: int = PERCENT_SCALE


def read_scales(schema: pl.Schema, amount_column: str) -> Scales:
    """The Scales to read the number columns of `schema` with, `amount_column` holding the
    amount: as few decimal places as their types allow."""
    amount_columns = [amount_column, "discount_amount", "addons_amount"]
    return Scales(
        amount=max(_column_scale(schema[c], AMOUNT_SCALE) for c in amount_columns if c in schema),
        quantity=_column_scale(schema["quantity"], QUANTITY_SCALE)
        if "quantity" in schema
        else QUANTITY_SCALE,
        percent=_column_scale(schema["discount_percent"], PERCENT_SCALE)
        if "discount_percent" in schema
        else PERCENT_SCALE,
    )


def number_columns(
    schema: pl.Schema, amount_column: str, scales: Scales, already_monthly: bool
) -> list[pl.Expr]:
    """Expressions adding `_amount` and, unless the amount is `already_monthly`, `_quantity`,
    `_discount_percent`, `_discount_amount`, `_addons_amount` and `_interval_count` (those in
    `schema`) as scaled Int128 integers at `scales`."""
    numbers = [scaled(amount_column, schema[amount_column], scales.amount).alias("_amount")]
    optional_numbers = {
        "quantity": scales.quantity,
        "discount_percent": scales.percent,
        "discount_amount": scales.amount,
        "addons_amount": scales.amount,
        "interval_count": 0,
    }
    if not already_monthly:
        numbers += [
            scaled(column, schema[column], scale).alias(f"_{column}")
            for column, scale in optional_numbers.items()
            if column in schema
        ]
    return numbers


@dataclass(frozen=True)
class Division:
    """What decides how a row's scaled numbers become MRR in reporting minor units."""

    scales: Scales
    exponent: int  # the reporting currency's minor unit
    amount_unit: Literal["major", "minor"]
    days_per_month: Fraction
    already_monthly: bool  # the amount is MRR already: no quantity, discounts or interval
    foreign: bool  # some rows are in other currencies: multiply by `_rate`


@dataclass
class _Terms:
    """A numerator/denominator pair being built in `money`, with bounds of their size."""

    numerator: pl.Expr
    denominator: pl.Expr
    high: int  # bound of |numerator|
    denominator_high: int
    scale: int  # the numerator's fixed-point scale


def rounded_mrr(frame: pl.DataFrame, division: Division) -> tuple[pl.Expr, pl.DataType]:
    """Each row of `frame`'s MRR in reporting minor units, rounded half away from zero (an
    expression), and the integer type it is computed in."""
    numerator, denominator, money = _mrr_fraction(frame, division)
    return (2 * numerator + denominator) // (2 * denominator), money


def _mrr_fraction(frame: pl.DataFrame, division: Division) -> tuple[pl.Expr, pl.Expr, pl.DataType]:
    """Each row's MRR in reporting minor units as numerator and denominator expressions, and
    the integer type to compute them in: Int64 when no intermediate can reach 2^62 (much
    faster), else Int128. The bound follows the computation step by step with the largest
    value of every factor, so it is never too low."""
    factors = ["_amount", "_quantity", "_addons_amount", "_discount_amount", "_discount_percent"]
    present = [c for c in [*factors, "_interval_count", "_rate"] if c in frame.columns]
    largest = dict.fromkeys(present, 0)
    if present and frame.height:
        row = frame.select(pl.col(c).abs().max() for c in present).row(0, named=True)
        largest.update({c: int(v or 0) for c, v in row.items()})
    bounds = _mrr_terms(frame.columns, division, pl.Int128(), largest)
    fits = 2 * bounds.high + 2 * bounds.denominator_high < 2**62
    money: pl.DataType = pl.Int64() if fits else pl.Int128()
    terms = _mrr_terms(frame.columns, division, money, largest)
    return terms.numerator, terms.denominator, money


def _mrr_terms(
    columns: list[str], division: Division, money: pl.DataType, largest: dict[str, int]
) -> _Terms:
    """The MRR's numerator and denominator in `money` for a frame of `columns`, with bounds
    of their size from the `largest` absolute value of each column.

    mrr = (amount × quantity + addons) × (1 − discount_percent/100) − discount_amount, per
    month of the interval, in minor units; `scale` tracks the numerator's fixed-point scale
    so that amounts added to it (add-ons, discounts) are brought to it first."""
    terms = _Terms(
        numerator=pl.col("_amount").cast(money),
        denominator=pl.lit(1, dtype=money),
        high=largest.get("_amount", 0),
        denominator_high=1,
        scale=10**division.scales.amount,
    )
    unit_divisor, unit_high = _unit_divisor(division.amount_unit, money)
    if not division.already_monthly:
        _price_terms(terms, columns, division.scales, money, largest)
        _interval_terms(terms, columns, division.days_per_month, money, largest)
    # A discount larger than the price leaves nothing, not a negative MRR.
    terms.numerator = pl.max_horizontal(terms.numerator, pl.lit(0, dtype=money))
    terms.numerator = terms.numerator * 10**division.exponent
    terms.high *= 10**division.exponent
    terms.denominator = terms.denominator * terms.scale * unit_divisor
    terms.denominator_high *= terms.scale * unit_high
    if division.foreign:
        terms.numerator = terms.numerator * pl.col("_rate").cast(money)
        terms.high *= max(largest.get("_rate", 0), 1)
        terms.denominator = terms.denominator * 10**RATE_SCALE
        terms.denominator_high *= 10**RATE_SCALE
    return terms


def _unit_divisor(
    amount_unit: Literal["major", "minor"], money: pl.DataType
) -> tuple[pl.Expr, int]:
    """What amounts in `amount_unit` are divided by to be in major units (an expression in
    `money`), and its largest value."""
    if amount_unit != "minor":
        return pl.lit(1, dtype=money), 1
    row_exponent = pl.col("currency").replace_strict(
        currencies.EXPONENTS, default=2, return_dtype=pl.Int64
    )
    unit_divisor = pl.lit(10, dtype=money).pow(row_exponent).cast(money)
    return unit_divisor, 10 ** max(currencies.EXPONENTS.values())


def _price_terms(
    terms: _Terms, columns: list[str], scales: Scales, money: pl.DataType, largest: dict[str, int]
) -> None:
    """Bring quantity, add-ons and discounts (those in `columns`) into `terms`' numerator."""
    numerator, high, scale = terms.numerator, terms.high, terms.scale
    if "_quantity" in columns:
        one = 10**scales.quantity
        numerator = numerator * pl.col("_quantity").cast(money).fill_null(one)
        high *= max(largest["_quantity"], one)
        scale *= one
    if "_addons_amount" in columns:
        # Add-ons priced per interval for the whole subscription (Recurly add_ons_total).
        ratio = scale // 10**scales.amount
        numerator = numerator + pl.col("_addons_amount").cast(money).fill_null(0) * ratio
        high += largest["_addons_amount"] * ratio
    if "_discount_percent" in columns:
        full = 100 * 10**scales.percent
        numerator = numerator * (full - pl.col("_discount_percent").cast(money).fill_null(0))
        high *= full + largest["_discount_percent"]
        scale *= full
    if "_discount_amount" in columns:
        # discount_amount is in the file's unit too: bring it to the numerator's scale.
        ratio = scale // 10**scales.amount
        numerator = numerator - pl.col("_discount_amount").cast(money).fill_null(0) * ratio
        high += largest["_discount_amount"] * ratio
    terms.numerator, terms.high, terms.scale = numerator, high, scale


def _interval_terms(
    terms: _Terms,
    columns: list[str],
    days_per_month: Fraction,
    money: pl.DataType,
    largest: dict[str, int],
) -> None:
    """Divide `terms` by the months of each row's interval (from `_interval` and
    `_interval_count` where in `columns`):
    months(interval, count) = count × per_month.numerator / per_month.denominator."""
    dpm = days_per_month
    if "_interval" in columns:
        # Interval codes index small tables (day, week, month, quarter, year).
        numerators = [dpm.denominator, 7 * dpm.denominator, 1, 3, 12]
        denominators = [dpm.numerator, dpm.numerator, 1, 1, 1]
        code = pl.col("_interval").fill_null(MONTH_CODE)
        # (replace_strict keeps the data's chunks; a gather would not, and a later
        # operation would then copy every column to align them.)
        per_month_num = code.replace_strict(dict(enumerate(numerators)), return_dtype=money)
        per_month_den = code.replace_strict(dict(enumerate(denominators)), return_dtype=money)
        terms.numerator = terms.numerator * per_month_den
        terms.high *= max(denominators)
        terms.denominator = per_month_num
        terms.denominator_high = max(numerators)
    if "_interval_count" in columns:
        count = pl.col("_interval_count").cast(money).fill_null(1)
        terms.denominator = terms.denominator * count
        terms.denominator_high *= max(largest["_interval_count"], 1)


def bound_mrr(
    frame: pl.DataFrame, findings: Findings, amount_column: str, files: list[str]
) -> pl.DataFrame:
    """`frame` with `mrr` (Int64): its `_mrr`, null on rows that are `_bad` or above
    MAX_ROW_MRR. Such rows are reported to `findings` under `amount_column`, and an MRR of
    all rows together above MAX_TOTAL_MRR fails the run (for `files`)."""
    # Money stays in Int64 minor units: bound each row, and the total, far from overflow.
    findings.check(
        frame,
        [
            Check(
                amount_column,
                pl.col("_mrr") > MAX_ROW_MRR,
                lambda v: (
                    f"the MRR of this row ({v!r} per interval) is implausibly large "
                    f"(limit {MAX_ROW_MRR:,} minor units a month)"
                ),
            )
        ],
    )
    within = pl.col("_mrr").filter(pl.col("_mrr") <= MAX_ROW_MRR)
    total = frame.select(within.cast(pl.Int128).sum()).item()
    if total is not None and total > MAX_TOTAL_MRR:
        findings.fail(
            f"the MRR of all rows together ({total:,} minor units) is too large to add up "
            "exactly; check the amount unit (--amount-unit) and quantities",
            ", ".join(files),
            fatal=True,
        )
    return frame.with_columns(
        pl.when((pl.col("_mrr") <= MAX_ROW_MRR) & ~pl.col("_bad"))
        .then(pl.col("_mrr"))
        .cast(pl.Int64)
        .alias("mrr")
    )
