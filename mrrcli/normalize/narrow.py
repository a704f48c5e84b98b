"""The MRR of a row in Int64 (numbers.py works it out in Int128), for a frame whose bounds
allow it: Int128 arithmetic is slow, and most exports never need it.

Whether a frame is narrow is decided once, from one pass of aggregates: the largest magnitude
and scale of each number column bound every row's integers, as the price and its division
would compute them (the products of column maxima bound each row's products). When
2 × (numerator + denominator) stays below NARROW_LIMIT, half of Int64's range, every row's
MRR is worked out in Int64 without the per-row bounds of the Int128 path; otherwise the
Int128 path runs. Both give the same numbers, flags and errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.normalize.numbers import (
    NARROW,
    RATE_SCALE,
    Division,
    exact_price,
    per_month,
    unit_places,
)
from mrrcli.normalize.text import MONTH_CODE
from mrrcli.read.numbers import power_of_ten, scale_column

NARROW_LIMIT = 2**62  # a narrow row's 2 × (numerator + denominator) stays below: half of Int64
# For tests only: "narrow" or "wide" forces that path whatever the data's bounds.
FORCE_PATH: Literal["narrow", "wide"] | None = None

# The number columns of a price and their value where empty (exact_price, interval).
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
    rate, zeros = _largest_rate(rates) if division.foreign else (1, 0)
    # Rates are divided by 10^zeros (after a cast to Int64: `rate` must fit).
    reduced = _Most(rate // 10**zeros, RATE_SCALE - zeros) if division.foreign else _Most(1, 0)
    numerator, denominator = _most_mrr(most, division, reduced, _per_month_most(found, division))
    fits = 2 * (numerator + denominator) < NARROW_LIMIT and rate < NARROW_LIMIT
    if not fits and FORCE_PATH != "narrow":
        return division
    # A column whose rows share one scale (or that is empty): its powers of ten are constants.
    scales = {
        n: found.get(f"{n}.most_scale") or 0
        for n in names
        if found.get(f"{n}.least_scale") == found.get(f"{n}.most_scale")
    }
    return replace(division, narrow=True, scales=scales, rate_zeros=zeros)


def _extremes(columns: list[str], names: list[str]) -> list[pl.Expr]:
    """The least and most value, and scale where there is one, of each of `names`."""
    found = []
    if "_interval" in columns:
        interval = pl.col("_interval")
        found += [interval.min().alias("_interval.least"), interval.max().alias("_interval.most")]
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
    scale at most `places`. Built as exact_price builds the number itself."""

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


def _largest_rate(rates: pl.Series | None) -> tuple[int, int]:
    """The most a row's rate mantissa (RATE_SCALE places) can be, of `rates` or 10^RATE_SCALE
    (the reporting currency's rate, attach_rates); and how many trailing zeros all of them
    share (at most RATE_SCALE): a rate of 1.0850 is 10,850,000,000, or 10,850 at 4 places."""
    held = [abs(v) for v in rates.unique().drop_nulls()] if rates is not None else []
    zeros = RATE_SCALE
    for value in held:
        while zeros and value % 10**zeros:
            zeros -= 1
    return max([10**RATE_SCALE, *held]), zeros


def _per_month_most(found: dict[str, int | None], division: Division) -> tuple[int, int]:
    """The most per_month_num and per_month_den can be (numbers._interval), over the interval
    codes between the least and most `found` (_extremes; none, or empty, is a month: 1)."""
    if division.already_monthly:
        return 1, 1
    least, most = found.get("_interval.least"), found.get("_interval.most")
    codes = range(least, most + 1) if least is not None and most is not None else range(0)
    numerators, denominators = per_month(division.days_per_month)
    return max([1, *(numerators[c] for c in codes)]), max([1, *(denominators[c] for c in codes)])


def _most_mrr(
    most: dict[str, _Most], division: Division, rate: _Most, months: tuple[int, int]
) -> tuple[int, int]:
    """The most the numerator and the denominator of any row's MRR can be (with_mrr), every
    integer on their way included, from the most of each number column (`most`), of the rate
    (its mantissa and places) and of per_month_num and per_month_den (`months`)."""
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
    per_month_num, per_month_den = months
    count = most["_interval_count"].bound if "_interval_count" in most else 1
    if division.already_monthly:
        count = 1
    unit = max(2, *currencies.EXPONENTS.values()) if division.amount_unit == "minor" else 0
    # net = exponent − price places − unit − rate places, where no places are negative:
    # up = max(net, 0) ≤ max(exponent − rate places, 0), down = max(−net, 0) ≤ the places.
    up = max(division.exponent - rate.places, 0)
    numerator = price.bound * per_month_den * rate.bound * 10**up
    denominator = per_month_num * count * 10 ** (price.places + unit + rate.places)
    return numerator, denominator


def with_narrow_mrr(frame: pl.DataFrame, division: Division) -> pl.DataFrame:
    """numbers.with_mrr for a `division` narrow_division found narrow: the same arithmetic in Int64,
    without bounds. No row can overflow: `_overflow` marks only good rows whose MRR is null
    (a foreign row without a rate), as with_mrr does."""
    columns = frame.columns
    assert "_rate__scale" not in columns  # narrow_division took rates at RATE_SCALE
    per_month_num, per_month_den, count = _narrow_interval(columns, division)
    scale = exact_price(columns, division).scale
    places = scale if isinstance(scale, int) else pl.col(scale_column("_price")).cast(pl.Int32)
    net = division.exponent - (places + unit_places(division.amount_unit))
    rate: pl.Expr | int = 1
    if division.foreign:  # the zeros all rates share divided out (narrow_division)
        rate = pl.col("_rate").cast(NARROW)
        if division.rate_zeros:
            rate = rate // 10**division.rate_zeros
        net = net - (RATE_SCALE - division.rate_zeros)
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
    """numbers._interval's per_month_num, per_month_den and count in Int64, or ints when the same on
    every row."""
    if division.already_monthly:
        return 1, 1, 1
    per_month_num: pl.Expr | int = 1
    per_month_den: pl.Expr | int = 1
    if "_interval" in columns:
        numerators, denominators = per_month(division.days_per_month)
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
