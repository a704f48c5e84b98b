"""Exact ratios: a quotient of integers rounded to a number of decimal places, half away from
zero, as every rounding of mrrcli (SPEC §3, §7.1).

The quotient is rounded in integers, then written as the float nearest to that decimal. A float
quotient would round a tie by its binary error instead: 657 ÷ 640 = 1.0265625 is
1.02656250000000004 as a float, which rounds to 1.026562, and 0.0913125 (9 cents of expansion
over a 30-day month, day-normalized) is 0.09131249999999999, which rounds to 0.091312; exactly,
they are 1.026563 and 0.091313.
"""

from __future__ import annotations

import polars as pl


def rounded_quotient(numerator: pl.Expr, denominator: pl.Expr, places: int) -> pl.Expr:
    """numerator ÷ denominator (integer expressions) rounded to `places` decimals, half away from
    zero, as a float; null when the denominator is 0. Never -0.0."""
    scale = 10**places
    n, d = numerator.cast(pl.Int128), denominator.cast(pl.Int128)
    size = (2 * n.abs() * scale + d.abs()) // (2 * d.abs())
    value = (size.cast(pl.Float64) / scale).round(places)
    negative = ((n < 0) != (d < 0)) & (size != 0)
    return pl.when(d == 0).then(None).when(negative).then(-value).otherwise(value)
