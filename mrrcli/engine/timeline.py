"""Per customer (or subscription): the days its MRR changes, classified (SPEC §4).

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

from mrrcli.engine.keys import CHECK, CHECK_SEED, CUSTOMER, KEY, customer_hash, id_hash, with_key
from mrrcli.engine.totals import IdentityError
from mrrcli.vocabulary import MOVEMENTS, Scope, Settings

MOVEMENT = pl.Enum(MOVEMENTS)  # far cheaper to build than a text column of 10M names


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
    keys = settings.keys
    check = id_hash(keys, CHECK_SEED).cast(pl.UInt32, wrap_numerical=True)
    ids = [id_hash(keys).alias(KEY), check.alias(CHECK)]
    if settings.level == "subscription":
        ids.append(customer_hash(pl.col("customer_id")).alias(CUSTOMER))
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


def _position_of(day: date, settings: Settings) -> int:
    """A day's `_pos` (see _events), in Python."""
    if settings.mode == "snapshot":
        return day.year * 12 + day.month - 1
    return (day - date(1970, 1, 1)).days


def _wide_runs(rows: pl.LazyFrame, settings: Settings) -> tuple[pl.DataFrame, bool] | None:
    """_sorted_runs at customer level through one sort of a single Int128 column: the key's
    full 64-bit hash above the position, as many bits of the check hash as fit (32, at least
    16), and the biased delta. A one-column sort carries no payload to move, so it is several
    times faster than sorting a frame. None when it does not apply (subscription level, or
    deltas too wide to leave 16 check bits): the caller sorts as _sorted_runs does."""
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
    # Split once into two 64-bit columns: the key, and the low half. (Wrapping casts take
    # the low 64 bits, far cheaper than a checked cast.)
    x = pl.col("_wide")
    high = (x // pl.lit(1 << 64, dtype=pl.Int128)).cast(pl.UInt64, wrap_numerical=True)
    halves = ordered.to_frame().select(
        (high ^ _u64(1 << 63)).alias(KEY), x.cast(pl.UInt64, wrap_numerical=True).alias("_low")
    )
    del ordered
    below = pl.col("_low")
    checked = (below // _u64(1 << delta_bits)) & _u64((1 << check_bits) - 1)
    same_key = pl.col(KEY) == pl.col(KEY).shift(1)
    if halves.select((same_key & (checked != checked.shift(1))).any()).item():
        return halves.clear(), False
    delta = (below & _u64((1 << delta_bits) - 1)).cast(pl.Int64) - (1 << (delta_bits - 1))
    # The last event of a (key, position) run: the next has another key or a higher position.
    moves = (below ^ below.shift(-1)) >= _u64(1 << below_pos)
    last = ((pl.col(KEY) != pl.col(KEY).shift(-1)) | moves).fill_null(True)
    runs = (
        halves.lazy()
        .with_columns(delta.cum_sum().alias("_total"))
        .filter(last)
        .select(KEY, ((below // _u64(1 << below_pos)).cast(pl.Int32) + low).alias(POS), "_total")
        .collect()
    )
    return _with_after(runs), True


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


def _bounds(events: pl.LazyFrame, settings: Settings) -> tuple[int, int, int]:
    """The lowest position of `events` (the as-of date's if none), how many low bits the
    positions from it to the as-of date take, and the widest delta (0 if none)."""
    first, widest = events.select(pl.col(POS).min(), pl.col("delta").abs().max()).collect().row(0)
    low = first if first is not None else _position_of(settings.as_of, settings)
    span = max(_position_of(settings.as_of, settings) - low, 0)
    return low, max(span.bit_length(), 1), int(widest or 0)


def _sorted_runs(rows: pl.LazyFrame, settings: Settings, packed: bool) -> tuple[pl.DataFrame, bool]:
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
    first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
    base = pl.when(first).then(pl.col("_total").shift(1).fill_null(0)).forward_fill()
    return runs.with_columns((pl.col("_total") - base).alias("_after")).drop("_total")


def first_paying_day(rows: pl.DataFrame | pl.LazyFrame, settings: Settings) -> date | None:
    """The first day, up to the as-of date, on which any key has MRR > 0 (judged day by day in
    both modes, §5): the first start of a paying row of non-zero length (see _first_days)."""
    start, end = pl.col("start_date"), pl.col("end_date")
    pays = (pl.col("mrr") != 0) & (end.is_null() | (end != start))
    pays &= start <= pl.lit(settings.as_of, dtype=pl.Date)
    first: date | None = rows.lazy().select(start.filter(pays).min()).collect().item()
    return first


def _first_days(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Per key: `first_seen`, the first start of any row (paying or not), and `_first_day`,
    the first day it paid — judged day by day — up to the as-of date (event-mode conversions).

    A row of zero length nets out on its day; any other paying row adds MRR on its start day
    that nothing can take back that day (MRR is never negative), so the first paying day is
    the first start of a paying row of non-zero length."""
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    start, end = pl.col("start_date"), pl.col("end_date")
    pays = (pl.col("mrr") != 0) & (end.is_null() | (end != start))
    return (
        with_key(rows, settings)
        .filter(start <= as_of)
        .group_by(KEY)
        .agg(start.min().alias("first_seen"), start.filter(pays).min().alias("_first_day"))
    )


def _conversions(rows: pl.LazyFrame, settings: Settings, changes: pl.DataFrame) -> pl.DataFrame:
    """`_key, _conversion`: whether a key's first arrival is a free-to-paid conversion (§4.4).

    Event mode: the key had rows before the first day it paid (all of them necessarily at 0
    MRR). Snapshot mode (settled): a 0-MRR row (free or trial) of the key was in force at
    the end of the month before its first month-end arrival, so a trial that starts and
    converts within one month is new. Only keys whose first change falls in `changes`."""
    if settings.mode != "snapshot":
        firsts = _first_days(rows, settings).collect()
        return firsts.select(
            KEY, (pl.col("_first_day") > pl.col("first_seen")).alias("_conversion")
        )
    # The eve of each key's first month-end arrival: the last day of the month before.
    eves = (
        changes.lazy()
        .filter(pl.col("_first"))
        .select(KEY, pl.col("month").dt.offset_by("-1d").alias("_eve"))
    )
    start, end, eve = pl.col("start_date"), pl.col("end_date"), pl.col("_eve")
    return (
        with_key(rows.filter(pl.col("mrr") == 0), settings)
        .select(KEY, "start_date", "end_date")
        .join(eves, on=KEY)
        .filter((start <= eve) & (end.is_null() | (end > eve)))
        .select(KEY, pl.lit(True).alias("_conversion"))
        .unique(KEY)
        .collect()
    )


def _name(movement: str) -> pl.Expr:
    return pl.lit(movement, dtype=MOVEMENT)


def _movement(scope: Scope) -> pl.Expr:
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    arrives = (before == 0) & (after > 0)
    movement = (
        pl.when(arrives & pl.col("_first"))
        .then(_name("new"))
        .when(arrives)
        .then(_name("reactivation"))
        .when(after > before)
        .then(_name("expansion"))
        .when(after > 0)
        .then(_name("contraction"))
        .otherwise(_name("churn"))
    )
    if scope == "broad":
        # Reactivations and free-to-paid conversions (`_conversion`, see _conversions) count
        # as expansion.
        conversion = pl.col("_first") & pl.col("_conversion")
        movement = (
            pl.when(arrives & (~pl.col("_first") | conversion))
            .then(_name("expansion"))
            .otherwise(movement)
        )
    return movement.alias("movement")


def _month_end(day: pl.Expr, as_of: date) -> pl.Expr:
    """The snapshot day of a month: its last day, or the as-of day in the as-of month."""
    end = day.dt.month_end()
    return pl.when(end > pl.lit(as_of)).then(pl.lit(as_of)).otherwise(end)


def _with_calendar(changes: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """`date` and `month` of each change from its position, through a small calendar of every
    position in range (a gather is far cheaper than date arithmetic on every change)."""
    low, high = changes.select(pl.col(POS).min().alias("lo"), pl.col(POS).max().alias("hi")).row(0)
    low, high = low or 0, high or 0
    positions = pl.int_range(low, high + 1, dtype=pl.Int32, eager=True).alias(POS).to_frame()
    if settings.mode == "snapshot":
        calendar = positions.with_columns(
            pl.date(pl.col(POS) // 12, pl.col(POS) % 12 + 1, 1).alias("month")
        ).with_columns(_month_end(pl.col("month"), settings.as_of).alias("date"))
    else:
        calendar = positions.with_columns(pl.col(POS).cast(pl.Date).alias("date")).with_columns(
            pl.col("date").dt.month_start().alias("month")
        )
    index = pl.col(POS) - low
    return changes.with_columns(
        pl.lit(calendar.get_column("date")).gather(index).alias("date"),
        pl.lit(calendar.get_column("month")).gather(index).alias("month"),
    )


def classified_changes(
    rows: pl.DataFrame | pl.LazyFrame, settings: Settings, ids: bool = True
) -> pl.DataFrame:
    """Classified changes (see _classified), collected; with the id columns when `ids`.
    Raises IdentityError if two ids ever shared a hash key: never merge two customers."""
    try:
        return _classified(rows.lazy(), settings, ids)
    except KeyCollision as error:
        raise IdentityError(str(error)) from None


def _classified(rows: pl.LazyFrame, settings: Settings, ids: bool) -> pl.DataFrame:
    """Every movement: `_key, _customer, date, month, movement, mrr_before, mrr_after, amount,
    delta`, and the id columns (customer_id[, subscription_id]) first when `ids`.

    In event mode a row per key and day the MRR changed; in snapshot mode a row per key and
    month whose month-end MRR differs from the previous month-end (`date` = the snapshot day).
    Sorted by key and date. Totals need no ids: leaving them out saves a join of strings.
    Raises KeyCollision if two different ids share a 64-bit hash.
    """
    runs, clean = _wide_runs(rows, settings) or (pl.DataFrame(), False)
    if not clean:
        runs, clean = _sorted_runs(rows, settings, packed=True)
    if not clean:
        runs, clean = _sorted_runs(rows, settings, packed=False)
    if not clean:
        raise KeyCollision("two different customer ids share one hash key; please report this")
    first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
    after = pl.col("_after")
    changes = (
        runs.with_columns(
            pl.when(first).then(0).otherwise(after.shift(1)).alias("mrr_before"),
        )
        .rename({"_after": "mrr_after"})
        .with_columns((pl.col("mrr_after") - pl.col("mrr_before")).alias("delta"))
        .filter(pl.col("delta") != 0)
        # A key's first change is its first arrival from 0 (MRR is never negative), and every
        # later arrival from 0 a return: "had MRR before" is "not the key's first change".
        .with_columns(first.alias("_first"))
    )
    changes = _with_calendar(changes, settings)
    if settings.scope == "broad":
        changes = changes.join(
            _conversions(rows, settings, changes), on=KEY, how="left", maintain_order="left"
        ).with_columns(pl.col("_conversion").fill_null(False))
    if settings.level == "customer":
        changes = changes.with_columns(pl.col(KEY).alias(CUSTOMER))
    columns = [KEY, CUSTOMER, "date", "month", "movement", "mrr_before", "mrr_after"]
    columns += ["amount", "delta"]
    classified = changes.with_columns(
        _movement(settings.scope),
        (pl.col("mrr_after") - pl.col("mrr_before")).abs().alias("amount"),
    ).select(columns)
    if not ids:
        return classified
    id_columns = with_key(rows, settings).select(KEY, *settings.keys).unique(KEY).collect()
    return classified.join(id_columns, on=KEY, how="left", maintain_order="left").select(
        *settings.keys, *columns
    )
