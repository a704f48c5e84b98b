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

Int128 arithmetic is slow, and most exports never need it: when the largest value and scale
of each number column show that no row's integers can reach NARROW_LIMIT (narrow_division,
one pass of aggregates per frame), the same arithmetic is done in Int64 without the per-row
bounds. Both paths give the same numbers, messages and errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.normalize.text import MONTH_CODE
from mrrcli.read.numbers import power_of_ten, scale_column, with_numbers
from mrrcli.read.problems import Check, Findings

RATE_SCALE = 10  # `_rate` (currency.py) counts 10^-RATE_SCALE units, unless `_rate__scale`
MAX_AMOUNT = 10**12  # an amount this large per unit is a misread unit, not a price
MAX_TOTAL_MRR = 2**62  # one row, or all rows together; Int64 sums never overflow below it
OVERFLOW = 2.0**126  # a bound this large could pass Int128's 2^127 − 1
MONEY = pl.Int128()
NARROW = pl.Int64()
NARROW_LIMIT = 2**62  # a narrow row's 2 × (numerator + denominator) stays below: half of Int64
# For tests only: "narrow" or "wide" forces that path whatever the data's bounds.
FORCE_PATH: Literal["narrow", "wide"] | None = None

# Optional number columns of a price (read when the amount is not already monthly).
PRICE_NUMBERS = ("quantity", "discount_percent", "discount_amount", "addons_amount")


def _decimal(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """A column (text or number) as Decimal(38, scale); unreadable text becomes null."""
    col = pl.col(column)
    if dtype == pl.String:
        text = col.str.strip_chars().str.strip_prefix("$")
        grouped = text.str.contains(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
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
    places = pl.col(scale_column("_discount_percent")).cast(pl.Int32)
    none = percent.is_null() | (percent == 0)
    value = pl.lit(100, dtype=MONEY) * power_of_ten(places) - percent
    value = pl.when(none).then(pl.lit(1, dtype=MONEY)).otherwise(value)
    scale = pl.when(none).then(0).otherwise(places + 2)
    return _Exact(value, scale, _magnitude(value) + pl.lit(100.0) * pl.lit(10.0).pow(places))


def _price(columns: list[str], division: Division) -> _Exact:
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
    """Expressions of `_price` (see _price), its scale and `_price__bound`, from the numbers
    read among `columns`; negative when the discount is larger than the price. Narrow, there
    is no bound, nor a scale all rows share (with_mrr works it out again)."""
    price = _price(columns, division)
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
    if division.narrow:
        return _narrow_mrr(frame, division)
    columns = frame.columns
    # months(interval, count) = count × per_month_num ÷ per_month_den
    per_month_num, per_month_den, count = _interval(columns, division)
    # Powers of ten: reporting minor units, less the price's scale, the file's unit and the
    # rate's scale. Only the reporting exponent raises it, so `up` is at most 4.
    places = pl.col(scale_column("_price")).cast(pl.Int32) + _unit_places(division.amount_unit)
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


def _unit_places(amount_unit: Literal["major", "minor"]) -> pl.Expr | int:
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
        numerators, denominators = _per_month(dpm)
        code = pl.col("_interval").fill_null(MONTH_CODE)
        # (replace_strict keeps the data's chunks; a gather would not, and a later
        # operation would then copy every column to align them.)
        per_month_num = code.replace_strict(dict(enumerate(numerators)), return_dtype=MONEY)
        per_month_den = code.replace_strict(dict(enumerate(denominators)), return_dtype=MONEY)
    count = (
        pl.col("_interval_count").cast(MONEY).fill_null(1) if "_interval_count" in columns else one
    )
    return per_month_num, per_month_den, count


def _per_month(days_per_month: Fraction) -> tuple[list[int], list[int]]:
    """Per interval code (day, week, month, quarter, year), the numerator and denominator of
    its months: 16 ÷ 487 for a day of 30.4375 = 487/16 days a month."""
    dpm = days_per_month
    return [dpm.denominator, 7 * dpm.denominator, 1, 3, 12], [dpm.numerator, dpm.numerator, 1, 1, 1]


# --- The Int64 path ---------------------------------------------------------------------------

# The number columns of a price and their value where empty (_price, _interval).
_DEFAULTS = {
    "_amount": 0,
    "_quantity": 1,
    "_addons_amount": 0,
    "_discount_percent": 0,
    "_discount_amount": 0,
    "_interval_count": 1,
}


def narrow_division(frame: pl.DataFrame, division: Division, rates: pl.Series | None) -> Division:
    """`division`, narrow when no integer that any row's MRR goes through (price_columns,
    with_mrr) can reach NARROW_LIMIT. Decided once for the frame from one pass of aggregates,
    the largest magnitude and scale of each number column (their products bound every row's),
    and, when foreign, of the `rates` (at RATE_SCALE, attach_rates) its rows may be given."""
    if FORCE_PATH == "wide":
        return division
    names = [n for n in _DEFAULTS if n in frame.columns]
    found = frame.select(_extremes(frame.columns, names)).row(0, named=True)
    most = {n: _largest(found, n) for n in names}
    numerator, denominator = _most_mrr(most, division, rates)
    if 2 * (numerator + denominator) >= NARROW_LIMIT and FORCE_PATH != "narrow":
        return division
    # A column whose rows share one scale (or that is empty): its powers of ten are constants.
    scales = {
        n: found.get(f"{n}.most_scale") or 0
        for n in names
        if found.get(f"{n}.least_scale") == found.get(f"{n}.most_scale")
    }
    return replace(division, narrow=True, scales=scales)


def _extremes(columns: list[str], names: list[str]) -> list[pl.Expr]:
    """The least and most value, and scale where there is one, of each of `names`."""
    found = []
    for name in names:
        found += [
            pl.col(name).min().alias(f"{name}.least"),
            pl.col(name).max().alias(f"{name}.most"),
        ]
        if scale_column(name) in columns:
            scale = pl.col(scale_column(name))
            found += [
                scale.min().alias(f"{name}.least_scale"),
                scale.max().alias(f"{name}.most_scale"),
            ]
    return found


@dataclass(frozen=True)
class _Most:
    """The most a number worked out from a frame's number columns can be: every integer its
    computation goes through on any row is at most `bound` in magnitude (and at least 1), its
    scale at most `places`. Built as _price builds the number itself."""

    bound: int
    places: int


def _largest(found: dict[str, int | None], name: str) -> _Most:
    """The number read into `name` (its value `_DEFAULTS[name]` where empty), by the least and
    most of its values and scales `found` (_extremes)."""
    places = found.get(f"{name}.most_scale") or 0
    value = max(abs(found[f"{name}.least"] or 0), abs(found[f"{name}.most"] or 0))
    return _Most(max(value, _DEFAULTS[name] * 10**places, 1), places)


def _most_times(left: _Most, right: _Most) -> _Most:
    return _Most(left.bound * right.bound, left.places + right.places)


def _most_plus(left: _Most, right: _Most) -> _Most:
    """left ± right: each moved up to the larger scale by at most the other's most places."""
    bound = left.bound * 10**right.places + right.bound * 10**left.places
    return _Most(bound, max(left.places, right.places))


def _most_mrr(
    most: dict[str, _Most], division: Division, rates: pl.Series | None
) -> tuple[int, int]:
    """The most the numerator and the denominator of any row's MRR can be (with_mrr), every
    integer on their way included, from the most of each number column (`most`)."""
    price = most["_amount"]
    if not division.already_monthly:
        if "_quantity" in most:
            price = _most_times(price, most["_quantity"])
        if "_addons_amount" in most:
            price = _most_plus(price, most["_addons_amount"])
        if "_discount_percent" in most:  # 100 × 10^s − p
            percent = most["_discount_percent"]
            factor = _Most(100 * 10**percent.places + percent.bound, percent.places + 2)
            price = _most_times(price, factor)
        if "_discount_amount" in most:
            price = _most_plus(price, most["_discount_amount"])
    rate, rate_places = 1, 0
    if division.foreign:
        extremes = (rates.min(), rates.max()) if rates is not None else ()
        held = [abs(v) for v in extremes if isinstance(v, int)]
        rate, rate_places = max([10**RATE_SCALE, *held]), RATE_SCALE
    numerators, denominators = _per_month(division.days_per_month)
    per_month_num, per_month_den = max(numerators), max(denominators)
    count = most["_interval_count"].bound if "_interval_count" in most else 1
    if division.already_monthly:
        per_month_num, per_month_den, count = 1, 1, 1
    unit = max(2, *currencies.EXPONENTS.values()) if division.amount_unit == "minor" else 0
    # Scales are never negative: up = max(exponent − places, 0) ≤ exponent, and down ≤ places.
    numerator = price.bound * per_month_den * rate * 10**division.exponent
    denominator = per_month_num * count * 10 ** (price.places + unit + rate_places)
    return numerator, denominator


def _narrow_mrr(frame: pl.DataFrame, division: Division) -> pl.DataFrame:
    """with_mrr for a `division` narrow_division found narrow: the same arithmetic in Int64,
    without bounds. No row can overflow: `_overflow` marks only good rows whose MRR is null
    (a foreign row without a rate), as with_mrr does."""
    columns = frame.columns
    assert "_rate__scale" not in columns  # narrow_division took rates at RATE_SCALE
    per_month_num, per_month_den, count = _narrow_interval(columns, division)
    scale = _price(columns, division).scale
    places = scale if isinstance(scale, int) else pl.col(scale_column("_price")).cast(pl.Int32)
    net = division.exponent - (places + _unit_places(division.amount_unit))
    rate: pl.Expr | int = 1
    if division.foreign:
        rate, net = pl.col("_rate").cast(NARROW), net - RATE_SCALE
    price = pl.max_horizontal(pl.col("_price"), pl.lit(0, dtype=NARROW))
    numerator = _product(price, per_month_den, rate, _ten_to(_at_least_0(net)))
    denominator = _product(per_month_num, count, _ten_to(_at_least_0(-net)))
    mrr = (2 * numerator + denominator) // (2 * denominator)  # numerator ≥ 0
    # (Eager: a lazy query would hand back the frame in other chunks, and the next operation
    # would copy every column to align them.)
    frame = frame.with_columns(mrr.alias("_mrr_exact"))
    good, missing = ~pl.col("_bad"), pl.col("_mrr_exact").is_null()
    return frame.with_columns(
        (good & missing).alias("_overflow"),
        (good & ~missing & (pl.col("_price") < 0)).fill_null(False).alias("_over_discount"),
    ).drop("_price", scale_column("_price"), strict=False)


def _narrow_interval(
    columns: list[str], division: Division
) -> tuple[pl.Expr | int, pl.Expr | int, pl.Expr | int]:
    """_interval's per_month_num, per_month_den and count in Int64, or ints when the same on
    every row."""
    if division.already_monthly:
        return 1, 1, 1
    per_month_num: pl.Expr | int = 1
    per_month_den: pl.Expr | int = 1
    if "_interval" in columns:
        numerators, denominators = _per_month(division.days_per_month)
        per_month_num, per_month_den = _by_code(numerators), _by_code(denominators)
    count: pl.Expr | int = 1
    if "_interval_count" in columns:
        count = pl.col("_interval_count").cast(NARROW).fill_null(1)
    return per_month_num, per_month_den, count


def _by_code(values: list[int]) -> pl.Expr | int:
    """values[code] of each row's `_interval` code (the month's where null) in Int64: a
    when/then per code apart from the month's, far cheaper than replace_strict for five codes
    (and in the data's chunks); an int when all are the month's."""
    month = values[MONTH_CODE]
    chosen: pl.Expr | int = month
    for code, value in enumerate(values):
        if value != month:
            chosen = (
                pl.when(pl.col("_interval") == code)
                .then(pl.lit(value, dtype=NARROW))
                .otherwise(chosen if isinstance(chosen, pl.Expr) else pl.lit(chosen, dtype=NARROW))
            )
    return chosen


def _at_least_0(value: pl.Expr | int) -> pl.Expr | int:
    return max(value, 0) if isinstance(value, int) else value.clip(lower_bound=0)


def _ten_to(exponent: pl.Expr | int) -> pl.Expr | int:
    return 10**exponent if isinstance(exponent, int) else power_of_ten(exponent, NARROW)


def _product(*factors: pl.Expr | int) -> pl.Expr:
    """The product of `factors` in Int64, the ints multiplied together first (none when 1)."""
    constant = 1
    columns: list[pl.Expr] = []
    for factor in factors:
        if isinstance(factor, int):
            constant *= factor
        else:
            columns.append(factor)
    if not columns:
        return pl.lit(constant, dtype=NARROW)
    product = columns[0]
    for factor in columns[1:]:
        product = product * factor
    return product if constant == 1 else product * pl.lit(constant, dtype=NARROW)


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
