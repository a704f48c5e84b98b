"""The MRR of a row, exactly (SPEC §3):

    mrr = (amount × quantity × (1 − discount_percent/100) − discount_amount)
          ÷ months(interval, interval_count)

converted to the reporting currency and rounded once, half away from zero, to its minor unit.

Every number is read exactly as written (read/numbers.py: an integer mantissa and its own
count of decimal places), the price is worked out in Int128 integers at the scale it needs,
and the one division is exact integer arithmetic. Each row carries a Float64 bound of every
integer it goes through; a row whose bound reaches 2^126 would overflow Int128 and is an
input error naming it, never a wrong number. A discount larger than the price gives 0 (the
row is marked `_over_discount`). From here on money is Int64 minor units; rows and their
total stay below MAX_TOTAL_MRR so that the engine's Int64 sums cannot overflow.

Int128 arithmetic is slow, and most exports never need it: narrow.py decides once per frame
whether every row's integers fit Int64 (a `narrow` Division, which the price here follows),
and then works out the same MRR in Int64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.normalize.text import MONTH_CODE
from mrrcli.read.codes import recoded
from mrrcli.read.numbers import power_of_ten, scale_column, with_numbers
from mrrcli.read.problems import Check, Findings

RATE_SCALE = 10  # `_rate` (currency.py) counts 10^-RATE_SCALE units, unless `_rate__scale`
MAX_AMOUNT = 10**12  # an amount this large per unit is a misread unit, not a price
MAX_TOTAL_MRR = 2**62  # one row, or all rows together; Int64 sums never overflow below it
OVERFLOW = 2.0**126  # a bound this large could pass Int128's 2^127 − 1
MONEY = pl.Int128()
NARROW = pl.Int64()

# Optional number columns of a price (read when the amount is not already monthly).
PRICE_NUMBERS = ("quantity", "discount_percent", "discount_amount", "addons_amount")


def _decimal(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """A column (text or number) as Decimal(38, scale); unreadable text becomes null."""
    col = pl.col(column)
    if dtype == pl.String:
        text = col.str.strip_chars().str.strip_prefix("$")
        # grouped thousands never lead with 0: "0,007" is a decimal comma, not 7
        grouped = text.str.contains(r"^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
        text = pl.when(grouped).then(text.str.replace_all(",", "", literal=True)).otherwise(text)
        decimal: pl.Expr = text.str.to_decimal(scale=scale)
        return decimal
    return col.cast(pl.Decimal(38, scale), strict=False)


def scaled(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """The column `column` of type `dtype` as an Int128 count of 10^-scale units (null where
    unreadable); further decimals are cut off. (FX rates, currency.py.)"""
    if dtype.is_integer():
        whole: pl.Expr = pl.col(column).cast(pl.Int128) * 10**scale
        return whole
    if isinstance(dtype, pl.Decimal):
        return pl.col(column).cast(pl.Decimal(38, scale), strict=False).to_physical()
    value: pl.Expr = _decimal(column, dtype, scale) * (10**scale)
    return value.cast(pl.Int128, strict=False)


def with_number_columns(
    frame: pl.DataFrame, amount_column: str, already_monthly: bool
) -> pl.DataFrame:
    """`frame` with `_amount` and, unless the amount is `already_monthly`, `_quantity`,
    `_discount_percent`, `_discount_amount`, `_addons_amount` (those in the frame): exact
    Int128 mantissas with their scales (read.numbers.scale_column); and `_interval_count`,
    a whole number (null where it is not one)."""
    columns = {amount_column: "_amount"}
    if not already_monthly:
        columns |= {c: f"_{c}" for c in (*PRICE_NUMBERS, "interval_count") if c in frame.columns}
    counts = frame.schema.get("interval_count")
    frame = with_numbers(frame, columns)
    if "_interval_count" not in frame.columns:
        return frame
    if counts is not None and counts.is_integer():  # whole already: no division
        return frame.drop(scale_column("_interval_count"))
    count, places = pl.col("_interval_count"), pl.col(scale_column("_interval_count"))
    unit = power_of_ten(places.cast(pl.Int32))
    return frame.with_columns(
        pl.when(count % unit == 0).then(count // unit).alias("_interval_count")
    ).drop(scale_column("_interval_count"))


@dataclass(frozen=True)
class Division:
    """What decides how a row's price becomes MRR in reporting minor units."""

    exponent: int  # the reporting currency's minor unit
    amount_unit: Literal["major", "minor"]
    days_per_month: Fraction
    already_monthly: bool  # the amount is MRR already: no quantity, discounts or interval
    foreign: bool  # some rows are in other currencies: multiply by `_rate`
    # Every integer of every row's MRR fits Int64 (narrow_division): Int64 arithmetic, no
    # per-row bounds; `scales` holds the one scale all rows of a number column share.
    narrow: bool = False
    scales: Mapping[str, int] = field(default_factory=dict)
    rate_zeros: int = 0  # narrow: trailing zeros all `_rate`s share, divided out

    @property
    def money(self) -> pl.DataType:
        """The integer type of the arithmetic."""
        return NARROW if self.narrow else MONEY


@dataclass(frozen=True)
class _Exact:
    """An exact number being worked out: value ÷ 10^scale, with a bound of every integer its
    computation went through (a Float64 expression, of magnitudes at least 1; not computed
    when narrow). A narrow number's scale is an int when all rows share it."""

    value: pl.Expr  # Int128, or Int64 when narrow
    scale: pl.Expr | int  # Int32
    bound: pl.Expr  # Float64


def _read(name: str, default: int, division: Division) -> _Exact:
    """The number read into `name` (and its scale), `default` where absent."""
    shared = division.scales.get(name) if division.narrow else None
    if shared is not None:  # default × 10^shared is `default` at the shared scale
        value = pl.col(name).cast(NARROW).fill_null(default * 10**shared)
        return _Exact(value, shared, _magnitude(value))
    value = pl.col(name).cast(division.money).fill_null(default)
    scale = pl.col(scale_column(name)).cast(pl.Int32)
    scale = pl.when(pl.col(name).is_null()).then(0).otherwise(scale)
    return _Exact(value, scale, _magnitude(value))


def _magnitude(value: pl.Expr) -> pl.Expr:
    return pl.max_horizontal(value.cast(pl.Float64).abs(), pl.lit(1.0))


def _times(left: _Exact, right: _Exact) -> _Exact:
    return _Exact(left.value * right.value, left.scale + right.scale, left.bound * right.bound)


def _plus(left: _Exact, right: _Exact, sign: Literal[1, -1], money: pl.DataType) -> _Exact:
    """left + sign × right, both brought to the larger of their scales."""
    if isinstance(left.scale, int) and isinstance(right.scale, int):
        scale: pl.Expr | int = max(left.scale, right.scale)
    else:
        scale = pl.max_horizontal(left.scale, right.scale)
    up_left, up_right = scale - left.scale, scale - right.scale
    shifted = right.value * _power(up_right, money)
    value = left.value * _power(up_left, money)
    value = value + shifted if sign == 1 else value - shifted
    bound = left.bound * pl.lit(10.0).pow(up_left) + right.bound * pl.lit(10.0).pow(up_right)
    return _Exact(value, scale, bound)


def _power(exponent: pl.Expr | int, money: pl.DataType) -> pl.Expr:
    """10^exponent in `money`: a constant for an int."""
    if isinstance(exponent, int):
        return pl.lit(10**exponent, dtype=money)
    return power_of_ten(exponent, money)


def _percent_factor(division: Division) -> _Exact:
    """1 − discount_percent/100, exactly: (100 × 10^s − p) ÷ 10^(s+2) for a percentage p at
    scale s, and plain 1 without a discount (the common case keeps its small scale; narrow,
    the same (100 × 10^s − 0) ÷ 10^(s+2), so that a shared scale stays shared)."""
    percent = pl.col("_discount_percent")
    if division.narrow:
        shared = division.scales.get("_discount_percent")
        s = shared if shared is not None else pl.col(scale_column("_discount_percent"))
        s = s if isinstance(s, int) else s.cast(pl.Int32).fill_null(0)
        value = 100 * _power(s, NARROW) - percent.cast(NARROW).fill_null(0)
        return _Exact(value, s + 2, _magnitude(value))
    # (An empty percentage may have no scale: a column written in exponent form scales each
    # row apart. It is no discount, and its bound must not be null, which reads as overflow.)
    places = pl.col(scale_column("_discount_percent")).cast(pl.Int32).fill_null(0)
    none = percent.is_null() | (percent == 0)
    value = pl.lit(100, dtype=MONEY) * power_of_ten(places) - percent
    value = pl.when(none).then(pl.lit(1, dtype=MONEY)).otherwise(value)
    scale = pl.when(none).then(0).otherwise(places + 2)
    return _Exact(value, scale, _magnitude(value) + pl.lit(100.0) * pl.lit(10.0).pow(places))


def exact_price(columns: list[str], division: Division) -> _Exact:
    """The exact price per interval in the file's unit, (amount × quantity + addons) ×
    (1 − discount_percent/100) − discount_amount, from the numbers read among `columns` (only
    the amount when it is `division.already_monthly`)."""
    price = _read("_amount", 0, division)
    if not division.already_monthly:
        money = division.money
        if "_quantity" in columns:
            price = _times(price, _read("_quantity", 1, division))
        if "_addons_amount" in columns:
            # Add-ons priced per interval for the whole subscription (Recurly add_ons_total).
            price = _plus(price, _read("_addons_amount", 0, division), 1, money)
        if "_discount_percent" in columns:
            price = _times(price, _percent_factor(division))
        if "_discount_amount" in columns:
            price = _plus(price, _read("_discount_amount", 0, division), -1, money)
    return price


def price_columns(columns: list[str], division: Division) -> list[pl.Expr]:
    """Expressions of `_price` (see exact_price), its scale and `_price__bound`, from the numbers
    read among `columns`; negative when the discount is larger than the price. Narrow, there
    is no bound, nor a scale all rows share (with_mrr works it out again)."""
    price = exact_price(columns, division)
    if division.narrow:
        if isinstance(price.scale, int):
            return [price.value.alias("_price")]
        return [price.value.alias("_price"), price.scale.alias(scale_column("_price"))]
    assert isinstance(price.scale, pl.Expr)
    return [
        price.value.alias("_price"),
        price.scale.alias(scale_column("_price")),
        price.bound.alias("_price__bound"),
    ]


def with_mrr(frame: pl.DataFrame, division: Division) -> pl.DataFrame:
    """`frame` (with `_price`, price_columns) with `_mrr_exact`, each row's MRR in reporting
    minor units rounded half away from zero (Int128; 0 for a discount larger than the price,
    null where it overflows), `_over_discount` and `_overflow` (the row's integers could pass
    Int128). Computed in steps: Polars evaluates a shared subexpression once per use."""
    columns = frame.columns
    # months(interval, count) = count × per_month_num ÷ per_month_den
    per_month_num, per_month_den, count = _interval(columns, division)
    # Powers of ten: reporting minor units, less the price's scale, the file's unit and the
    # rate's scale. Only the reporting exponent raises it, so `up` is at most 4.
    places = pl.col(scale_column("_price")).cast(pl.Int32) + unit_places(division.amount_unit)
    rate, rate_places = _rate(columns, division.foreign)
    net = division.exponent - places - rate_places
    up, down = net.clip(lower_bound=0), (-net).clip(lower_bound=0)
    numerator = pl.max_horizontal(pl.col("_price"), pl.lit(0, dtype=MONEY)) * per_month_den
    numerator = numerator * rate * power_of_ten(up)
    bound = pl.col("_price__bound") * per_month_den.cast(pl.Float64) * _magnitude(rate)
    frame = frame.with_columns(
        numerator.alias("_numerator"),
        (per_month_num * count * power_of_ten(down)).alias("_denominator"),
        (
            2 * bound * pl.lit(10.0).pow(up)
            + 2 * per_month_num.cast(pl.Float64) * _magnitude(count) * pl.lit(10.0).pow(down)
        ).alias("_bound"),
    )
    numerator, denominator = pl.col("_numerator"), pl.col("_denominator")
    frame = frame.with_columns(
        ((2 * numerator + denominator) // (2 * denominator)).alias("_mrr_exact")
    )
    good = ~pl.col("_bad")
    overflow = good & ((pl.col("_bound") >= OVERFLOW) | pl.col("_mrr_exact").is_null())
    frame = frame.with_columns(overflow.fill_null(True).alias("_overflow"))
    return frame.with_columns(
        pl.when(pl.col("_overflow")).then(None).otherwise(pl.col("_mrr_exact")).alias("_mrr_exact"),
        (good & ~pl.col("_overflow") & (pl.col("_price") < 0))
        .fill_null(False)
        .alias("_over_discount"),
    ).drop(
        "_numerator", "_denominator", "_bound", "_price", scale_column("_price"), "_price__bound"
    )


def unit_places(amount_unit: Literal["major", "minor"]) -> pl.Expr | int:
    """Decimal places of the file's amounts: none in major units, the row currency's exponent
    in minor units."""
    if amount_unit != "minor":
        return 0
    return pl.col("currency").replace_strict(currencies.EXPONENTS, default=2, return_dtype=pl.Int32)


def _rate(columns: list[str], foreign: bool) -> tuple[pl.Expr, pl.Expr]:
    """The FX rate of each row as a mantissa and its decimal places (1 and 0 without)."""
    if not foreign:
        return pl.lit(1, dtype=MONEY), pl.lit(0, dtype=pl.Int32)
    places = (
        pl.col("_rate__scale").cast(pl.Int32)
        if "_rate__scale" in columns
        else pl.lit(RATE_SCALE, dtype=pl.Int32)
    )
    return pl.col("_rate").cast(MONEY), places


def _interval(columns: list[str], division: Division) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The months of each row's interval (from `_interval` and `_interval_count` where in
    `columns`) as count × per_month_num ÷ per_month_den: those three Int128 expressions."""
    one = pl.lit(1, dtype=MONEY)
    if division.already_monthly:
        return one, one, one
    dpm = division.days_per_month
    per_month_num, per_month_den = one, one
    if "_interval" in columns:
        numerators, denominators = per_month(dpm)
        code = pl.col("_interval").fill_null(MONTH_CODE)
        # (a recoding keeps the data's chunks; a gather would not, and a later operation
        # would then copy every column to align them.)
        per_month_num = recoded(code, dict(enumerate(numerators)), MONEY)
        per_month_den = recoded(code, dict(enumerate(denominators)), MONEY)
    count = (
        pl.col("_interval_count").cast(MONEY).fill_null(1) if "_interval_count" in columns else one
    )
    return per_month_num, per_month_den, count


def per_month(days_per_month: Fraction) -> tuple[list[int], list[int]]:
    """Per interval code (day, week, month, quarter, year), the numerator and denominator of
    its months: 16 ÷ 487 for a day of 30.4375 = 487/16 days a month."""
    dpm = days_per_month
    return [dpm.denominator, 7 * dpm.denominator, 1, 3, 12], [dpm.numerator, dpm.numerator, 1, 1, 1]


def bound_mrr(
    frame: pl.DataFrame,
    findings: Findings,
    amount_column: str,
    files: list[str],
    columns: list[str],
) -> pl.DataFrame:
    """`frame` with `mrr` (Int64): its `_mrr`, null on rows that are `_bad`, `_overflow` or
    above MAX_TOTAL_MRR. Such rows are reported to `findings` (under `amount_column`, or
    quantity among the frame's `columns`), and an MRR of all rows together above
    MAX_TOTAL_MRR fails the run (for `files`)."""
    culprit = "quantity" if "quantity" in columns else amount_column
    too_large = pl.col("_mrr") > MAX_TOTAL_MRR
    findings.check(
        frame,
        [
            Check(
                culprit,
                pl.col("_overflow"),
                lambda v: (
                    f"the MRR of this row ({culprit} {v!r}) overflows the exact "
                    "arithmetic (128-bit integers): a value or its decimal places are too large"
                ),
            ),
            Check(
                amount_column,
                too_large,
                lambda v: (
                    f"the MRR of this row (amount {v!r}) is too large to add up exactly: it "
                    "would overflow the reports' 64-bit sums (limit 2^62 minor units); check "
                    "the amount unit (--amount-unit) and quantities"
                ),
            ),
        ],
    )
    within = pl.col("_mrr").filter(pl.col("_mrr") <= MAX_TOTAL_MRR)
    total = frame.select(within.cast(pl.Int128).sum()).item()
    if total is not None and total > MAX_TOTAL_MRR:
        findings.fail(
            f"the MRR of all rows together ({total:,} minor units) is too large to add up "
            "exactly: it would overflow the reports' 64-bit sums (limit 2^62 minor units); "
            "check the amount unit (--amount-unit) and quantities",
            ", ".join(files),
            fatal=True,
        )
    return frame.with_columns(
        pl.when(~too_large & ~pl.col("_bad") & ~pl.col("_overflow"))
        .then(pl.col("_mrr"))
        .cast(pl.Int64)
        .alias("mrr")
    )
