"""Per customer (or subscription): the days its MRR changes, classified (SPEC §4).

The changes come from engine.runs (each key's MRR after each day it changes, in one sort);
here each is classified (new, expansion, reactivation, contraction, churn) and dated.

"""

from __future__ import annotations

from datetime import date

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY, with_key
from mrrcli.engine.runs import POS, KeyCollision, key_runs
from mrrcli.engine.totals import IdentityError
from mrrcli.vocabulary import MOVEMENTS, Scope, Settings

MOVEMENT = pl.Enum(MOVEMENTS)  # far cheaper to build than a text column of 10M names


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
    return changes.with_columns(_calendar(low or 0, high or 0, settings))


def _calendar(low: int, high: int, settings: Settings) -> list[pl.Expr]:
    """`date` and `month` of a position from `low` to `high` (see _with_calendar)."""
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
    return [
        pl.lit(calendar.get_column("date")).gather(index).alias("date"),
        pl.lit(calendar.get_column("month")).gather(index).alias("month"),
    ]


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
    runs = key_runs(rows, settings)
    low, high = runs.select(pl.col(POS).min().alias("lo"), pl.col(POS).max().alias("hi")).row(0)
    first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
    after = pl.col("_after")
    # One lazy query from the runs to the classified changes (collected in one streaming pass,
    # unless broad scope needs the changes first to find conversions).
    changes = (
        runs.lazy()
        .with_columns(
            pl.when(first).then(0).otherwise(after.shift(1)).alias("mrr_before"),
        )
        .rename({"_after": "mrr_after"})
        .with_columns((pl.col("mrr_after") - pl.col("mrr_before")).alias("delta"))
        .filter(pl.col("delta") != 0)
        # A key's first change is its first arrival from 0 (MRR is never negative), and every
        # later arrival from 0 a return: "had MRR before" is "not the key's first change".
        .with_columns(first.alias("_first"))
        .with_columns(_calendar(low or 0, high or 0, settings))
    )
    if settings.scope == "broad":
        found = changes.collect()
        conversions = _conversions(rows, settings, found)
        changes = (
            found.lazy()
            .join(conversions.lazy(), on=KEY, how="left", maintain_order="left")
            .with_columns(pl.col("_conversion").fill_null(False))
        )
    if settings.level == "customer":
        changes = changes.with_columns(pl.col(KEY).alias(CUSTOMER))
    columns = [KEY, CUSTOMER, "date", "month", "movement", "mrr_before", "mrr_after"]
    columns += ["amount", "delta"]
    classified = (
        changes.with_columns(
            _movement(settings.scope),
            (pl.col("mrr_after") - pl.col("mrr_before")).abs().alias("amount"),
        )
        .select(columns)
        .collect(engine="streaming")
    )
    if not ids:
        return classified
    id_columns = with_key(rows, settings).select(KEY, *settings.keys).unique(KEY).collect()
    return classified.join(id_columns, on=KEY, how="left", maintain_order="left").select(
        *settings.keys, *columns
    )
