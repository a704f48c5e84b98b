"""The changes of each key per segment (SPEC §9), for engine.segments: the paying rows read
once, their +MRR / −MRR events sorted once by key, position and segment, and reduced to
one row per (key, position, segment) with the change Δ_v. As in engine.timeline, the sort
is on one packed 64-bit integer (the key's high bits above the position and the segment),
checked for keys that meet in one packed block.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY, with_key
from mrrcli.engine.runs import POS
from mrrcli.vocabulary import Level, Settings

SEGMENT = "segment"


def _position(day: pl.Expr, settings: Settings) -> pl.Expr:
    """A day's position: days since 1970 (event mode) or months since year 0 (snapshot)."""
    if settings.mode == "snapshot":
        return (day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1).alias(POS)
    return day.cast(pl.Int32).alias(POS)


def _running(block: pl.Expr, value: pl.Expr) -> pl.Expr:
    """The running sum of `value` within blocks of consecutive rows (`block`: True on a
    block's first row): one global cumulative sum less its value before the block."""
    total = value.cum_sum()
    return total - pl.when(block).then(total - value).forward_fill()


def _changed(column: str) -> pl.Expr:
    return (pl.col(column) != pl.col(column).shift(1)).fill_null(True)


def _ends(column: str) -> pl.Expr:
    """True on the last row of a block of equal values of `column`."""
    return (pl.col(column) != pl.col(column).shift(-1)).fill_null(True)


PACKED_BITS = 40  # at most this many low bits of the key's hash make room for the minor columns


def _sorted(frame: pl.DataFrame, minor: list[tuple[pl.Expr, int]]) -> pl.DataFrame:
    """`frame` sorted by key, then by the `minor` values (expression, bits: integers in
    [0, 2**bits)). As in engine.timeline, through one packed 64-bit integer (the key's high
    bits above the minor values) when they fit, checked: if two keys meet in one packed
    block, or they do not fit, a sort on the values themselves."""
    bits = sum(b for _, b in minor)
    if bits <= PACKED_BITS:
        mask = pl.lit((1 << 64) - (1 << bits), pl.UInt64)
        packed = pl.col(KEY) & mask
        shift = bits
        for value, width in minor:
            shift -= width
            packed = packed | (value.cast(pl.UInt64) * pl.lit(1 << shift, pl.UInt64))
        ordered = frame.sort(packed)
        block = pl.col(KEY) & mask
        mixed = (block == block.shift(1)) & (pl.col(KEY) != pl.col(KEY).shift(1))
        if not ordered.select(mixed.any()).item():
            return ordered
    return frame.sort(pl.col(KEY), *(value for value, _ in minor))


@dataclass(frozen=True)
class SegmentRows:
    """The paying rows up to the as-of date, read once: `_key[, _customer], segment,
    start_date, end_date, mrr` (end_date null unless it falls on or before the as-of date),
    `segment` an Enum of the segments in sort order; `level`: the level of `_key`."""

    frame: pl.DataFrame
    level: Level


def segment_rows(rows: pl.LazyFrame, settings: Settings) -> SegmentRows:
    """The rows a segment allocation at `settings.level` reads (see SegmentRows)."""
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    keyed = with_key(rows, settings)
    paying = keyed.filter((pl.col("mrr") != 0) & (pl.col("start_date") <= as_of))
    names = paying.select(pl.col(SEGMENT).unique().sort()).collect().to_series()
    end = pl.col("end_date")
    frame = paying.select(
        *_ids(settings.level),
        pl.col(SEGMENT).cast(pl.Enum(names)),
        "start_date",
        pl.when(end <= as_of).then(end).alias("end_date"),
        "mrr",
    ).collect()
    return SegmentRows(frame, settings.level)


def _ids(level: Level) -> list[str]:
    """The key columns the allocation carries (at customer level the key is the customer)."""
    return [KEY, CUSTOMER] if level == Level.subscription else [KEY]


def _segment_code(frame: pl.DataFrame) -> tuple[pl.Expr, int]:
    """The segment's index in sort order and its bits."""
    size = len(frame.schema[SEGMENT].categories)  # type: ignore[attr-defined]
    return pl.col(SEGMENT).to_physical(), max(size, 1).bit_length()


def _relative(frame: pl.DataFrame) -> tuple[pl.Expr, int]:
    """The position less the first, and its bits."""
    low, high = frame.select(pl.col(POS).min().alias("lo"), pl.col(POS).max().alias("hi")).row(0)
    span = int(high or 0) - int(low or 0)
    return pl.col(POS) - (low or 0), max(span, 1).bit_length()


def segment_runs(paying: SegmentRows, settings: Settings) -> pl.DataFrame:
    """Per key, position and segment where the key's MRR in the segment changes: `_key[,
    _customer], _pos, segment, delta` (Δ_v ≠ 0), sorted by key, position and segment: the
    changes of a key on one day (or month end) are neighbours, so one sort serves the
    allocation. (a_v, the MRR in the segment after, is a running sum per key and segment:
    see _level_after.)"""
    ids = [*_ids(paying.level), SEGMENT]
    rows = paying.frame.lazy()
    starts = rows.select(*ids, _position(pl.col("start_date"), settings), "mrr")
    ends = rows.filter(pl.col("end_date").is_not_null()).select(
        *ids, _position(pl.col("end_date"), settings), -pl.col("mrr")
    )
    events = pl.concat([starts, ends]).rename({"mrr": "delta"}).collect()
    events = _sorted(events, [_relative(events), _segment_code(events)])
    first = _changed(KEY) | _changed(POS) | _changed(SEGMENT)
    last = _ends(KEY) | _ends(POS) | _ends(SEGMENT)
    return (
        events.with_columns(_running(first, pl.col("delta")).alias("delta"))
        .filter(last)
        .filter(pl.col("delta") != 0)
    )


def _level_after() -> pl.Expr:
    """a_v: the key's MRR in the segment after each change (rows in position order)."""
    return pl.col("delta").cum_sum().over(KEY, SEGMENT).alias("mrr_after")
