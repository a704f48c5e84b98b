"""Per customer (or subscription): the days its MRR changes, classified (SPEC §4).

Each price period becomes two events, +MRR on its start day and −MRR on its (exclusive) end
day. Events of one key and day net first, so a plan change is one change. One sort by key and
day, cumulative sums over the key, and every change knows the MRR before and after it — no
month spine per customer, so cost grows with the number of rows, never customers × months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Literal

import polars as pl

Mode = Literal["event", "snapshot"]
Level = Literal["customer", "subscription"]
Scope = Literal["strict", "broad"]
MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")


@dataclass(frozen=True)
class Settings:
    """What a report covers and how movements are classified."""

    as_of: date
    mode: Mode = "event"
    level: Level = "customer"
    scope: Scope = "strict"
    month_from: date | None = None  # first day of the first month reported
    month_to: date | None = None  # first day of the last month reported
    days_per_month: Fraction = field(default=Fraction(36525, 1200))

    @property
    def keys(self) -> list[str]:
        return ["customer_id"] if self.level == "customer" else ["customer_id", "subscription_id"]


def daily_changes(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Net MRR change per key and day: `key..., day, delta` (delta != 0), up to the as-of date.

    Nothing after the as-of date counts: a row starting later is ignored and an end after it
    is not yet an end.
    """
    keys = settings.keys
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
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
        .group_by(settings.keys)
        .agg(pl.col("start_date").min().alias("first_seen"))
    )


def _classify(changes: pl.LazyFrame, keys: list[str], scope: Scope) -> pl.LazyFrame:
    """Add mrr_before, mrr_after, movement, amount to changes sorted by key and period.

    Running columns are computed over the key on sorted rows before any aggregation.
    """
    after = pl.col("delta").cum_sum().over(keys)
    ranked = changes.with_columns(after.alias("mrr_after")).with_columns(
        (pl.col("mrr_after") - pl.col("delta")).alias("mrr_before"),
        # "had MRR > 0 before": the highest MRR of any earlier change of the key.
        (pl.col("mrr_after").cum_max().shift(1).over(keys).fill_null(0) > 0).alias("_had_mrr"),
        (pl.col("_first_change") > pl.col("first_seen")).alias("_conversion"),
    )
    before, after_ = pl.col("mrr_before"), pl.col("mrr_after")
    arrives = (before == 0) & (after_ > 0)
    movement = (
        pl.when(arrives & ~pl.col("_had_mrr"))
        .then(pl.lit("new"))
        .when(arrives)
        .then(pl.lit("reactivation"))
        .when(after_ > before)
        .then(pl.lit("expansion"))
        .when(after_ > 0)
        .then(pl.lit("contraction"))
        .otherwise(pl.lit("churn"))
    )
    if scope == "broad":
        # Reactivations and free-to-paid conversions count as expansion.
        movement = (
            pl.when(arrives & (pl.col("_had_mrr") | pl.col("_conversion")))
            .then(pl.lit("expansion"))
            .otherwise(movement)
        )
    return ranked.with_columns(
        movement.alias("movement"), (after_ - before).abs().alias("amount")
    ).drop("_had_mrr", "_conversion", "_first_change", "first_seen")


def _month_end(day: pl.Expr, as_of: date) -> pl.Expr:
    """The snapshot day of a month: its last day, or the as-of day in the as-of month."""
    end = day.dt.month_end()
    return pl.when(end > pl.lit(as_of)).then(pl.lit(as_of)).otherwise(end)


def classified_changes(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Every movement: `key..., date, month, movement, mrr_before, mrr_after, amount, delta`.

    In event mode a row per key and day the MRR changed; in snapshot mode a row per key and
    month whose month-end MRR differs from the previous month-end (`date` = the snapshot day).
    """
    keys = settings.keys
    daily = daily_changes(rows, settings)
    if settings.mode == "snapshot":
        daily = (
            daily.with_columns(pl.col("day").dt.month_start().alias("month"))
            .group_by(*keys, "month")
            .agg(pl.col("delta").sum(), pl.col("day").min().alias("_first_day"))
            .filter(pl.col("delta") != 0)
            .with_columns(_month_end(pl.col("month"), settings.as_of).alias("date"))
        )
        order = "month"
    else:
        daily = daily.rename({"day": "date"}).with_columns(
            pl.col("date").dt.month_start().alias("month"),
            pl.col("date").alias("_first_day"),
        )
        order = "date"
    with_first = daily.with_columns(pl.col("_first_day").min().over(keys).alias("_first_change"))
    with_first = with_first.join(first_seen(rows, settings), on=keys, how="left")
    # Joins keep no order: sort right before the running columns.
    ordered = with_first.drop("_first_day").sort(*keys, order)
    classified = _classify(ordered, keys, settings.scope)
    return classified.select(
        *keys, "date", "month", "movement", "mrr_before", "mrr_after", "amount", "delta"
    )
