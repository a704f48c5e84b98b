"""Numbers as exports write them, read exactly (SPEC §2.5): each value becomes an integer
mantissa and a count of decimal places, value = mantissa ÷ 10^scale, never rounded.

`0.0000125` is 125 at scale 7, `1e3` is 1000 at scale 0. The mantissa is an Int128 (38
digits); a value that needs more digits, or more than MAX_SCALE decimal places, cannot be read
(null), nor can text that is no number. Parquet integers, decimals and floats work too: a float
is read as the shortest decimal that gives it back (`0.1`, not 0.1000000000000000055…), as
Python and Polars print it.

Reading is done in a few passes over whole columns (`with_numbers`), each a handful of Polars
string or integer kernels: one expression tree for it all would be evaluated many times over.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

MAX_SCALE = 36  # decimal places a value may have (10^36 × 100 still fits in Int128)
MAX_DIGITS = 38  # every 38-digit integer fits in Int128 (< 1.7 × 10^38)
# A column with at most this many decimal places keeps one scale for all its rows (cheap, and
# the MRR arithmetic has room); beyond it each row drops its own trailing zeros.
SHARED_SCALE = 6
SCALE_TYPE = pl.Int8
INT128 = pl.Int128()

# sign, whole digits, decimals, exponent (at least one digit, checked apart)
_NUMBER = r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,6}))?$"
# "1,200.50" as spreadsheets write it; a decimal comma ("12,50") is never guessed.
# Grouped thousands never lead with 0: "0,125" is a decimal comma (0.125), not 125.
_GROUPED = r"^[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?$"


def scale_column(name: str) -> str:
    """The column holding the scale of the mantissa column `name`."""
    return f"{name}__scale"


def number_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """The column as the text of a number: stripped, a leading `$` and thousands separators
    dropped; a float as its shortest decimal text."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    if dtype == pl.String:
        text = text.str.strip_prefix("$")
        grouped = text.str.contains(_GROUPED)
        text = pl.when(grouped).then(text.str.replace_all(",", "", literal=True)).otherwise(text)
    return text


def power_of_ten(exponent: pl.Expr, dtype: pl.DataType = INT128) -> pl.Expr:
    """10^exponent as an Int128 (or an Int64, `dtype`), for an integer expression `exponent`;
    null outside 0…38 (0…18 for an Int64)."""
    top = MAX_DIGITS if dtype == INT128 else 18
    powers = pl.Series([10**i for i in range(top + 1)], dtype=dtype)
    powered: pl.Expr = exponent.replace_strict(
        list(range(top + 1)), powers, default=None, return_dtype=dtype
    )
    return powered


def with_numbers(frame: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """`frame` with, for each `column: name` of `columns`, `name` (an Int128 mantissa, Int64
    from an integer column) and `scale_column(name)` (Int8): the value of `column` is exactly
    name ÷ 10^scale. Both are null where the value is missing or cannot be read."""
    if not columns:
        return frame
    schema = frame.schema
    texts = {c: n for c, n in columns.items() if not _typed(schema[c])}
    places, exponents = _how_written(frame, texts)
    # A column of many decimal places is read row by row at each value's own places (as
    # numbers with exponents are): read at the column's most places, an amount of 11 digits
    # passed 38 digits beside one of 28 places, and could not be read in one file where it
    # was read in a run in parts (SPEC §13). So is a value of more than MAX_SCALE places,
    # as beside an exponent: readable when its trailing zeros leave at most MAX_SCALE.
    long = {c for c in texts if not exponents[c] and places[c] > SHARED_SCALE}
    # Plain digits with a point are read by one fast kernel at the column's most decimal
    # places (so exactly). A column where that leaves values unread is tidied first (spaces,
    # `$`, separators) and read again; exponents take a slower path.
    plain = {c: n for c, n in texts.items() if not exponents[c] and c not in long}
    frame = frame.with_columns(
        *(
            expression
            for c, n in columns.items()
            if _typed(schema[c])
            for expression in _typed_number(c, schema[c], n)
        ),
        *(e for c, n in plain.items() for e in _plain_number(pl.col(c), n, places[c])),
    )
    untidy = {
        c: n
        for c, n in texts.items()
        if exponents[c]
        or c in long
        or frame.get_column(n).null_count() > frame.get_column(c).null_count()
    }
    lazy = (
        _tidied(frame.lazy(), schema, untidy, places, exponents, long) if untidy else frame.lazy()
    )
    if untidy:
        # A value still unread at the column's places may be read at its own (33 digits
        # beside 6 places pass 38 digits, not alone): so it is, as alone (SPEC §13).
        read = lazy.collect()
        unread = {
            c
            for c, n in untidy.items()
            if read.get_column(n).null_count() > read.get_column(c).null_count()
        }
        if unread - long - {c for c in texts if exponents[c]}:
            long |= unread
            read = _tidied(frame.lazy(), schema, untidy, places, exponents, long).collect()
        lazy = read.lazy()
    shared = {
        n: _shared_scale(schema[c], places.get(c, 0))
        for c, n in columns.items()
        if not exponents.get(c) and c not in long
    }
    return _own_scales(lazy, {n: s for n, s in shared.items() if s > SHARED_SCALE}).collect()


def _tidied(
    lazy: pl.LazyFrame,
    schema: pl.Schema,
    untidy: Mapping[str, str],
    places: Mapping[str, int],
    exponents: Mapping[str, bool],
    long: set[str],
) -> pl.LazyFrame:
    """`lazy` with the columns `untidy` (`column: name`) read again from their tidied text
    (number_text); those with exponents, and the `long` ones, row by row."""
    lazy = lazy.with_columns(
        number_text(c, schema[c]).alias(f"{n}__text") for c, n in untidy.items()
    )
    lazy = lazy.with_columns(
        expression
        for c, n in untidy.items()
        if not exponents[c] and c not in long
        for expression in _plain_number(pl.col(f"{n}__text"), n, places[c])
    )
    for column, name in untidy.items():
        if exponents[column] or column in long:
            lazy = _parse_exponents(lazy, name)
    return lazy.drop(f"{n}__text" for n in untidy.values())


def _how_written(
    frame: pl.DataFrame, texts: Mapping[str, str]
) -> tuple[dict[str, int], dict[str, bool]]:
    """For each text column of `texts`: the most decimal places a value is written with (an
    upper bound: counted from the point to the end), and whether some value has an exponent
    (1e-7, as floats print small values)."""
    if not texts:
        return {}, {}
    found = frame.select(
        expression
        for column in texts
        for expression in (
            _places(pl.col(column).cast(pl.String)).max().alias(f"{column}.places"),
            pl.col(column).cast(pl.String).str.contains("[eE]").any().alias(f"{column}.exp"),
        )
    ).row(0, named=True)
    return (
        {c: int(found[f"{c}.places"] or 0) for c in texts},
        {c: bool(found[f"{c}.exp"]) for c in texts},
    )


def _shared_scale(dtype: pl.DataType, places: int) -> int:
    """The scale every row of a column of `dtype` shares after _typed_number or
    _plain_number (`places`: the most decimal places of a text column)."""
    if dtype.is_integer():
        return 0
    if isinstance(dtype, pl.Decimal) and dtype.scale is not None:
        return dtype.scale
    return min(places, MAX_SCALE)


def _plain_number(text: pl.Expr, name: str, places: int) -> list[pl.Expr]:
    """`text` (numbers without exponents) as mantissa at one scale for every row: `places`,
    the column's most decimal places (at most SHARED_SCALE: with_numbers), so no value is
    rounded."""
    mantissa = text.cast(pl.String).str.to_decimal(scale=places).to_physical().cast(pl.Int128)
    return [mantissa.alias(name), _scale(places, name)]


def _typed(dtype: pl.DataType) -> bool:
    """Whether a column of `dtype` holds its numbers' exact value without text: integers and
    decimals."""
    return dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale is not None)


def _places(text: pl.Expr) -> pl.Expr:
    """Characters after the decimal point of `text` (0 without one)."""
    point = text.str.find(".", literal=True)
    return (text.str.len_bytes().cast(pl.Int32) - point.cast(pl.Int32) - 1).fill_null(0)


def _typed_number(column: str, dtype: pl.DataType, name: str) -> list[pl.Expr]:
    """An integer or Decimal column as mantissa and scale. Integers that fit in an Int64 stay
    there (the MRR's arithmetic is Int64 when it can be, normalize/numbers.py)."""
    if dtype.is_integer():
        wide = dtype in (pl.UInt64, pl.Int128, pl.UInt128)
        return [pl.col(column).cast(pl.Int128 if wide else pl.Int64).alias(name), _scale(0, name)]
    assert isinstance(dtype, pl.Decimal) and dtype.scale is not None
    # A Decimal's physical value is the count of units of its scale.
    mantissa = pl.col(column).to_physical().cast(pl.Int128)
    return [mantissa.alias(name), _scale(dtype.scale, name)]


def _scale(scale: int, name: str) -> pl.Expr:
    return pl.lit(scale, dtype=SCALE_TYPE).alias(scale_column(name))


def _own_scales(lazy: pl.LazyFrame, shared: Mapping[str, int]) -> pl.LazyFrame:
    """Columns `name: scale` read at one large scale, each row at its own: trailing zeros
    dropped (0.000000000001 keeps 12 places, 49.000000000000 none), so that the products of
    the MRR stay far from Int128's limit."""
    if not shared:
        return lazy
    zeros = {
        name: pl.sum_horizontal(
            (pl.col(name) % pl.lit(10**k, dtype=pl.Int128) == 0).cast(pl.Int32)
            for k in range(1, scale + 1)
        ).alias(f"{name}__zeros")
        for name, scale in shared.items()
    }
    lazy = lazy.with_columns(zeros.values())
    return lazy.with_columns(
        expression
        for name, scale in shared.items()
        for expression in (
            (pl.col(name) // power_of_ten(pl.col(f"{name}__zeros"))).alias(name),
            (scale - pl.col(f"{name}__zeros")).cast(SCALE_TYPE).alias(scale_column(name)),
        )
    ).drop(f"{name}__zeros" for name in shared)


def _parse_exponents(lazy: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """`name` and its scale from `{name}__text`, numbers with or without an exponent (see
    _NUMBER), each row at its own scale, trailing zeros dropped."""
    parts = pl.col(f"{name}__text").str.extract_groups(_NUMBER)
    lazy = lazy.with_columns(parts.alias(f"{name}__parts"))
    field = pl.col(f"{name}__parts").struct.field
    whole, decimals = field("2").fill_null(""), field("3").fill_null("")
    lazy = lazy.with_columns(
        (whole + decimals).str.strip_chars_start("0").alias(f"{name}__digits"),
        decimals.str.len_chars().cast(pl.Int32).alias(f"{name}__decimals"),
        field("4").cast(pl.Int32, strict=False).alias(f"{name}__exponent"),
        ((whole.str.len_chars() + decimals.str.len_chars()) > 0).alias(f"{name}__any"),
        field("1").alias(f"{name}__sign"),
    )
    digits = pl.col(f"{name}__digits")
    significant = digits.str.strip_chars_end("0")
    trailing = digits.str.len_chars().cast(pl.Int32) - significant.str.len_chars().cast(pl.Int32)
    exponent = pl.col(f"{name}__exponent").fill_null(0)
    # value = significant × 10^(trailing + exponent − decimals)
    scale = pl.col(f"{name}__decimals") - exponent - trailing
    lazy = lazy.with_columns(
        significant.alias(f"{name}__significant"),
        pl.when(significant == "").then(0).otherwise(scale).alias(f"{name}__scale0"),
    )
    return _exponent_mantissa(lazy, name).drop(
        f"{name}__{part}"
        for part in ("parts", "digits", "decimals", "exponent", "any", "sign", "significant")
    )


def _exponent_mantissa(lazy: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """The last step of _parse_exponents: mantissa and scale from the significant digits and
    the scale they need, null where they cannot be held."""
    significant = pl.col(f"{name}__significant")
    scale = pl.col(f"{name}__scale0")
    shift = (-scale).clip(lower_bound=0)
    written = (
        pl.col(f"{name}__exponent").is_not_null()
        | pl.col(f"{name}__parts").struct.field("4").is_null()
    )
    readable = (
        pl.col(f"{name}__sign").is_not_null()
        & pl.col(f"{name}__any")
        & written
        & (significant.str.len_chars().cast(pl.Int32) + shift <= MAX_DIGITS)
        & (scale <= MAX_SCALE)
    )
    mantissa = pl.when(significant == "").then(pl.lit(0, dtype=pl.Int128)).otherwise(
        significant.cast(pl.Int128, strict=False)
    ) * power_of_ten(shift.clip(upper_bound=MAX_DIGITS))
    # (Polars cannot negate an Int128; subtracting from 0 does the same.)
    negative = pl.col(f"{name}__sign") == "-"
    mantissa = pl.when(negative).then(pl.lit(0, dtype=pl.Int128) - mantissa).otherwise(mantissa)
    return lazy.with_columns(
        pl.when(readable).then(mantissa).alias(name),
        pl.when(readable)
        .then(scale.clip(lower_bound=0).cast(SCALE_TYPE))
        .alias(scale_column(name)),
    ).drop(f"{name}__scale0")
