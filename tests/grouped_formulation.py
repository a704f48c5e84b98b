"""A second formulation of the engine, kept to check the first (issue 5).

This is how `mrrcli.engine.timeline` computed changes before it was made fast: events netted per key
and day with a group_by on two columns, re-grouped per month in snapshot mode, sorted by key
and day, running totals per key. Slower, but written independently of the packed one-column
sort, the run detection and the calendar gather; tests/test_formulations.py compares every
column of both.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY, with_key
from mrrcli.vocabulary import MOVEMENTS, Scope, Settings

# Shared with the engine: Settings, the key hash (with_key) and the movement names. The rest
# below is the independent formulation.


def _group_keys(settings: Settings) -> list[str]:
    return [KEY] if settings.level == "customer" else [KEY, CUSTOMER]


def daily_changes(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Net MRR change per key and day: `_key, day, delta` (delta != 0), up to the as-of date.

    Nothing after the as-of date counts: a row starting later is ignored and an end after it
    is not yet an end. `rows` must carry `_key` (see with_key).
    """
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    keys = _group_keys(settings)
    paying = rows.filter((pl.col("mrr") != 0) & (pl.col("start_date") <= as_of))
    starts = paying.select(*keys, pl.col("start_date").alias("day"), pl.col("mrr").alias("delta"))
    ends = paying.filter(pl.col("end_date").is_not_null() & (pl.col("end_date") <= as_of)).select(
        *keys, pl.col("end_date").alias("day"), (-pl.col("mrr")).alias("delta")
    )
    return (
        pl.concat([starts, ends])
        .group_by(*keys, "day")
        .agg(pl.col("delta").sum())
        .filter(pl.col("delta") != 0)
    )


def first_seen(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """The first start day of any row of each key (paying or not), up to the as-of date."""
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    return (
        rows.filter(pl.col("start_date") <= as_of)
        .group_by(KEY)
        .agg(pl.col("start_date").min().alias("first_seen"))
    )


def free_at_eve(rows: pl.LazyFrame, monthly: pl.LazyFrame) -> pl.LazyFrame:
    """`_key, _conversion` (snapshot mode): keys with a 0-MRR row in force on the last day of
    the month before their first month with a month-end change. A row is in force that day
    when it started in an earlier month and ends (exclusively) in that month or later."""
    first_month = monthly.group_by(KEY).agg(pl.col("month").min().alias("_first_month"))
    zero = rows.filter(pl.col("mrr") == 0).join(first_month, on=KEY)
    in_force = (pl.col("start_date").dt.month_start() < pl.col("_first_month")) & (
        pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("_first_month"))
    )
    return zero.filter(in_force).group_by(KEY).agg(pl.lit(True).alias("_conversion"))


def _classify(changes: pl.LazyFrame, scope: Scope) -> pl.LazyFrame:
    """Add mrr_before, mrr_after, movement, amount to changes sorted by `_key` and period.

    Running columns are computed on the sorted rows, before any aggregation. MRR is never
    negative, so a key's first change is always its first arrival from 0 and every later
    arrival from 0 is a return: "had MRR > 0 before" is simply "not the key's first change".
    """
    first = pl.col(KEY) != pl.col(KEY).shift(1)
    running = pl.col("delta").cum_sum()
    # after = running total − running total just before the key's first change.
    base = pl.when(pl.col("_first")).then(running - pl.col("delta")).forward_fill()
    ranked = (
        changes.with_columns(first.fill_null(True).alias("_first"))
        .with_columns((running - base).alias("mrr_after"))
        .with_columns((pl.col("mrr_after") - pl.col("delta")).alias("mrr_before"))
    )
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    arrives = (before == 0) & (after > 0)
    movement = (
        pl.when(arrives & pl.col("_first"))
        .then(pl.lit("new"))
        .when(arrives)
        .then(pl.lit("reactivation"))
        .when(after > before)
        .then(pl.lit("expansion"))
        .when(after > 0)
        .then(pl.lit("contraction"))
        .otherwise(pl.lit("churn"))
    )
    if scope == "broad":
        # Reactivations and free-to-paid conversions (`_conversion`) count as expansion.
        conversion = pl.col("_first") & pl.col("_conversion")
        movement = (
            pl.when(arrives & (~pl.col("_first") | conversion))
            .then(pl.lit("expansion"))
            .otherwise(movement)
        )
    movement = movement.cast(pl.Enum(MOVEMENTS))  # the type the fast engine gives
    return ranked.with_columns(movement.alias("movement"), (after - before).abs().alias("amount"))


def _month_end(day: pl.Expr, as_of: date) -> pl.Expr:
    """The snapshot day of a month: its last day, or the as-of day in the as-of month."""
    end = day.dt.month_end()
    return pl.when(end > pl.lit(as_of)).then(pl.lit(as_of)).otherwise(end)


def classified_changes(rows: pl.LazyFrame, settings: Settings, ids: bool = True) -> pl.LazyFrame:
    """Every movement: `_key, _customer, date, month, movement, mrr_before, mrr_after, amount,
    delta`, and the id columns (customer_id[, subscription_id]) when `ids`.

    In event mode a row per key and day the MRR changed; in snapshot mode a row per key and
    month whose month-end MRR differs from the previous month-end (`date` = the snapshot day).
    Totals need no ids: leaving them out saves a join of strings.
    """
    keyed = with_key(rows, settings)
    group_keys = _group_keys(settings)
    daily = daily_changes(keyed, settings)
    if settings.scope == "broad":
        # The first day the key paid, judged day by day in both modes (a conversion test).
        daily = daily.with_columns(pl.col("day").min().over(KEY).alias("_first_day"))
    else:
        daily = daily.with_columns(pl.lit(None, dtype=pl.Date).alias("_first_day"))
    if settings.mode == "snapshot":
        daily = (
            daily.with_columns(pl.col("day").dt.month_start().alias("month"))
            .group_by(*group_keys, "month")
            .agg(pl.col("delta").sum(), pl.col("_first_day").first())
            .filter(pl.col("delta") != 0)
            .with_columns(_month_end(pl.col("month"), settings.as_of).alias("date"))
        )
        order = "month"
    else:
        daily = daily.rename({"day": "date"}).with_columns(
            pl.col("date").dt.month_start().alias("month")
        )
        order = "date"
    if settings.scope == "broad" and settings.mode == "snapshot":
        daily = daily.join(free_at_eve(keyed, daily), on=KEY, how="left").with_columns(
            pl.col("_conversion").fill_null(False)
        )
    elif settings.scope == "broad":
        # A key that had rows before the first day it paid (all of them at 0 MRR).
        daily = daily.join(first_seen(keyed, settings), on=KEY, how="left").with_columns(
            (pl.col("_first_day") > pl.col("first_seen")).alias("_conversion")
        )
    # Joins and group_by keep no order: sort right before the running columns.
    classified = _classify(daily.sort(KEY, order), settings.scope)
    if settings.level == "customer":
        classified = classified.with_columns(pl.col(KEY).alias(CUSTOMER))
    columns = [KEY, CUSTOMER, "date", "month", "movement", "mrr_before", "mrr_after"]
    columns += ["amount", "delta"]
    if not ids:
        return classified.select(columns)
    id_columns = keyed.select(KEY, *settings.keys).unique(KEY)
    return classified.join(id_columns, on=KEY, how="left").select(*settings.keys, *columns)
