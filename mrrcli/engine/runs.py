"""Per key (customer, or subscription): its MRR after each day (month) it changes, from the
price periods' events, in one sort (SPEC §4; classified in engine.timeline).

Each price period becomes two events, +MRR on its start day and −MRR on its (exclusive) end
day (in snapshot mode: its month); the ids are hashed once per row, and a row that starts and
ends on one day (month) nets out there and is left out. At customer level the events are sorted
once as a single Int128 column that packs the key's 64-bit hash, the day, a check hash and the
delta — a one-column sort moves no payload, several times faster than sorting a frame. (Other
levels, and deltas too wide to pack, sort a 64-bit integer packing the key's hash above the
day, with the rest as payload.) One global cumulative sum then gives every key's MRR after
each run of events of one day; the last event of a run is the day's net change, so a plan
change is one change. No month spine per customer: cost grows with the number of rows, never
customers × months.

Hashes are checked, not trusted: a second, independent 32-bit hash rides along the sort, and
two different ids meeting in one key are found by comparing neighbours (then the sort falls
back to the full 64-bit key and the day as two columns, or, if the 64-bit hashes themselves
collide, the run stops with an error).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from mrrcli.engine.keys import CHECK, CUSTOMER, KEY, key_columns
from mrrcli.vocabulary import Settings


class KeyCollision(AssertionError):
    """Two different ids share a 64-bit hash: never silently merge two customers."""


POS = "_pos"  # the day (days since 1970) or the month (months since year 0) of an event
PACKED = "_sk"


def _keyed(rows: pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """The paying rows up to the as-of date, hashed once: `_key`, `_check` (32 bits), [`_customer`,]
    `_start` and `_end` (positions; `_end` null unless it is on or before the as-of date) and
    `mrr`. A row that starts and ends at one position nets out there and is left out. (Worked
    out on every row and then filtered: filtering the id text first costs more.)"""
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    ids = key_columns(rows, settings)
    position = _position(rows, settings)
    start, end = pl.col("start_date"), pl.col("end_date")
    keyed = rows.select(
        *ids,
        position(start).alias("_start"),
        pl.when(end <= as_of).then(position(end)).alias("_end"),
        "mrr",
        ((pl.col("mrr") != 0) & (start <= as_of)).alias("_keep"),
    )
    lasting = pl.col("_end").is_null() | (pl.col("_end") != pl.col("_start"))
    return keyed.filter(pl.col("_keep") & lasting).drop("_keep").collect()


def _position(rows: pl.LazyFrame, settings: Settings) -> Callable[[pl.Expr], pl.Expr]:
    """A day's `_pos` as an expression: the day itself, or in snapshot mode its month,
    looked up in a small calendar of the days from the data's first to the as-of date (a
    gather is far cheaper than date arithmetic on every row). Days outside it are clipped:
    only days from a row's start to the as-of date are used."""
    if settings.mode != "snapshot":
        return lambda day: day.cast(pl.Int32)
    days = pl.concat_list(pl.col("start_date").min(), pl.col("end_date").min()).list.min()
    first: date | None = rows.select(days).collect().item()
    first = min(first or settings.as_of, settings.as_of)
    calendar = pl.date_range(first, settings.as_of, eager=True)
    months = calendar.dt.year().cast(pl.Int32) * 12 + calendar.dt.month().cast(pl.Int32) - 1
    low = (first - date(1970, 1, 1)).days

    def month(day: pl.Expr) -> pl.Expr:
        index = (day.cast(pl.Int32) - low).clip(0, len(months) - 1)
        return pl.lit(months).gather(index)

    return month


def _events(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """`_key, _check, [_customer,] _pos, delta`: +MRR at the start, −MRR at the end, up to
    the as-of date. Nothing after it counts: a row starting later is ignored and an end after it
    is not yet an end."""
    keyed = _keyed(rows, settings).lazy()
    ids = [KEY, CHECK, *([CUSTOMER] if settings.level == "subscription" else [])]
    starts = keyed.select(*ids, pl.col("_start").alias(POS), pl.col("mrr").alias("delta"))
    ends = keyed.filter(pl.col("_end").is_not_null())
    ends = ends.select(*ids, pl.col("_end").alias(POS), (-pl.col("mrr")).alias("delta"))
    return pl.concat([starts, ends])


def position_of(day: date, settings: Settings) -> int:
    """A day's `_pos` (see _events), in Python."""
    if settings.mode == "snapshot":
        return day.year * 12 + day.month - 1
    return (day - date(1970, 1, 1)).days


def wide_runs(rows: pl.LazyFrame, settings: Settings) -> tuple[pl.DataFrame, bool] | None:
    """sorted_runs at customer level through one sort of a single Int128 column: the key's
    full 64-bit hash above the position, as many bits of the check hash as fit (32, at least
    16), and the biased delta. A one-column sort carries no payload to move, so it is several
    times faster than sorting a frame. None when it does not apply (subscription level, or
    deltas too wide to leave 16 check bits): the caller sorts as sorted_runs does."""
    if settings.level != "customer":
        return None
    events = _events(rows, settings)
    low, bits, widest = _bounds(events, settings)
    delta_bits = widest.bit_length() + 1
    check_bits = min(32, 64 - bits - delta_bits)
    if check_bits < 16:
        return None
    below_pos = 64 - bits  # the position at the top of the low 64 bits
    # Int128 arithmetic is slow: the low half (position, check, delta) is built in 64 bits and
    # joined to the key in one Int128 step. The key goes in signed (its top bit flipped), in
    # the same order, so that the Int128 sorts as (key, low half) both unsigned.
    low_half = (
        (pl.col(POS) - low).cast(pl.UInt64, wrap_numerical=True) * _u64(1 << below_pos)
        + (pl.col(CHECK).cast(pl.UInt64) & _u64((1 << check_bits) - 1)) * _u64(1 << delta_bits)
        + (pl.col("delta") + (1 << (delta_bits - 1))).cast(pl.UInt64, wrap_numerical=True)
    )
    signed_key = (pl.col(KEY) ^ _u64(1 << 63)).reinterpret(signed=True)
    wide = signed_key.cast(pl.Int128) * pl.lit(1 << 64, dtype=pl.Int128) + low_half.cast(pl.Int128)
    ordered = events.select(wide.alias("_wide")).collect().to_series().sort()
    return _runs_of_wide(ordered, low, below_pos, check_bits, delta_bits)


def _runs_of_wide(
    ordered: pl.Series, low: int, below_pos: int, check_bits: int, delta_bits: int
) -> tuple[pl.DataFrame, bool]:
    """The runs of the sorted Int128 events of wide_runs, and whether they are clean."""
    # Split into the key and the low half (wrapping casts take the low 64 bits, far cheaper
    # than a checked cast), check, sum and keep each run's last event in one streaming query:
    # it never holds the intermediate columns of all events at once.
    x = pl.col("_wide")
    key = ((x // pl.lit(1 << 64, dtype=pl.Int128)).cast(pl.UInt64, wrap_numerical=True)) ^ _u64(
        1 << 63
    )
    below = pl.col("_low")
    checked = (below // _u64(1 << delta_bits)) & _u64((1 << check_bits) - 1)
    same_key = pl.col(KEY) == pl.col(KEY).shift(1)
    delta = (below & _u64((1 << delta_bits) - 1)).cast(pl.Int64) - (1 << (delta_bits - 1))
    # The last event of a (key, position) run: the next has another key or a higher position.
    moves = (below ^ below.shift(-1)) >= _u64(1 << below_pos)
    last = ((pl.col(KEY) != pl.col(KEY).shift(-1)) | moves).fill_null(True)
    runs = (
        ordered.to_frame()
        .lazy()
        .select(key.alias(KEY), x.cast(pl.UInt64, wrap_numerical=True).alias("_low"))
        .with_columns(
            delta.cum_sum().alias("_total"),
            (same_key & (checked != checked.shift(1))).alias("_mixed"),
            last.alias("_last"),
        )
        .with_columns(_after())
        .filter(pl.col("_last") | pl.col("_mixed"))
        .select(
            KEY,
            ((below // _u64(1 << below_pos)).cast(pl.Int32) + low).alias(POS),
            "_after",
            "_mixed",
        )
        .collect(engine="streaming")
    )
    del ordered
    if runs.get_column("_mixed").any():  # two ids met in one key
        return runs.clear(), False
    return runs.drop("_mixed"), True


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def _bounds(events: pl.LazyFrame, settings: Settings) -> tuple[int, int, int]:
    """The lowest position of `events` (the as-of date's if none), how many low bits the
    positions from it to the as-of date take, and the widest delta (0 if none)."""
    first, widest = events.select(pl.col(POS).min(), pl.col("delta").abs().max()).collect().row(0)
    low = first if first is not None else position_of(settings.as_of, settings)
    span = max(position_of(settings.as_of, settings) - low, 0)
    return low, max(span.bit_length(), 1), int(widest or 0)


def sorted_runs(rows: pl.LazyFrame, settings: Settings, packed: bool) -> tuple[pl.DataFrame, bool]:
    """Events sorted by key and position, reduced to the last event of each (key, position)
    run with `_after`, the key's MRR after it. Returns (runs, clean): `clean` is False when two
    different ids met in one sort key (the caller must not use the runs)."""
    events = _events(rows, settings)
    payload = [KEY, CHECK, *([CUSTOMER] if settings.level == "subscription" else []), "delta"]
    if packed:
        # Positions run from the first paying start to the as-of date: their span decides
        # how many low bits of the key they take.
        low, bits, _ = _bounds(events, settings)
        mask = (1 << 64) - (1 << bits)
        packed_key = (pl.col(KEY) & pl.lit(mask, dtype=pl.UInt64)) | (pl.col(POS) - low).cast(
            pl.UInt64
        )
        ordered = events.select(packed_key.alias(PACKED), *payload).sort(PACKED).collect()
        block = pl.col(PACKED) & pl.lit(mask, dtype=pl.UInt64)
        last_of_run = (pl.col(PACKED) != pl.col(PACKED).shift(-1)).fill_null(True)
        position = (pl.col(PACKED) & pl.lit((1 << bits) - 1, dtype=pl.UInt64)).cast(pl.Int32) + low
    else:
        ordered = events.select(POS, *payload).sort(KEY, POS).collect()
        block = pl.col(KEY)
        last_of_run = (
            (pl.col(KEY) != pl.col(KEY).shift(-1)) | (pl.col(POS) != pl.col(POS).shift(-1))
        ).fill_null(True)
        position = pl.col(POS)
    same_block = block == block.shift(1)
    # Neighbours in one key must be one id: both hashes agree.
    mixed = same_block & (
        (pl.col(KEY) != pl.col(KEY).shift(1)) | (pl.col(CHECK) != pl.col(CHECK).shift(1))
    )
    if ordered.select(mixed.any()).item():
        return ordered.clear(), False
    total = pl.col("delta").cum_sum()
    runs = ordered.with_columns(total.alias("_total")).filter(last_of_run)
    runs = runs.select(
        KEY,
        *([CUSTOMER] if settings.level == "subscription" else []),
        position.alias(POS),
        "_total",
    )
    return _with_after(runs), True


def _with_after(runs: pl.DataFrame) -> pl.DataFrame:
    """Runs with `_after`, the key's MRR after each: the running total (`_total`, dropped)
    less the total at the end of the key before."""
    return runs.with_columns(_after()).drop("_total")


def _after() -> pl.Expr:
    """`_after` of sorted events or runs with their running total `_total` (see _with_after)."""
    first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
    base = pl.when(first).then(pl.col("_total").shift(1).fill_null(0)).forward_fill()
    return (pl.col("_total") - base).alias("_after")


def key_runs(rows: pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """`_key, [_customer,] _pos, _after`: each key's MRR after each position it changed at
    (the last event of each run of one key and position), sorted by key and position. The
    cheapest sort that applies is tried first; a collision of the check hash falls back to a
    wider sort. Raises KeyCollision if two different ids share a 64-bit hash."""
    runs, clean = wide_runs(rows, settings) or (pl.DataFrame(), False)
    if not clean:
        runs, clean = sorted_runs(rows, settings, packed=True)
    if not clean:
        runs, clean = sorted_runs(rows, settings, packed=False)
    if not clean:
        raise KeyCollision("two different customer ids share one hash key; please report this")
    return runs
