"""Columns of few distinct values (currency, interval, status) mapped value by value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

# Up to this many values a chain of comparisons is used: each compares a few bytes of every
# row, where replace_strict builds a hash table and joins every row to it (about three times
# the cost for the four intervals of a 10M-row export).
_CHAINED = 16


def recoded(
    column: pl.Expr, mapping: Mapping[Any, Any], dtype: pl.DataType | type[pl.DataType]
) -> pl.Expr:
    """`column` with each value replaced by its value in `mapping`: null where the value is
    null or not in `mapping` (replace_strict with default None). Named as `column` is."""
    if len(mapping) > _CHAINED or not mapping:
        return column.replace_strict(dict(mapping), default=None, return_dtype=dtype)
    recode: pl.Expr = pl.lit(None, dtype=dtype)
    for value, code in reversed(list(mapping.items())):
        recode = pl.when(column == value).then(pl.lit(code, dtype=dtype)).otherwise(recode)
    return recode.alias(column.meta.output_name())
