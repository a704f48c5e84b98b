"""Months rolled up into calendar quarters or years (SPEC §5 `--period`), and the retention sums
between two month ends some months apart: a period's NRR/GRR and the trailing twelve months
(SPEC §10).

A period's row is the sum of its reported months: its flows and days are their sums, its
opening the opening of its first reported month and its closing the closing of its last, so the
identity holds per period. The months of the first reported period before `--from` are left out
of it (they only move its opening), and a period is cut at the last reported month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from mrrcli.engine.keys import CUSTOMER
from mrrcli.engine.totals import FLOW_COLUMNS, check_identity, last_month
from mrrcli.vocabulary import MOVEMENTS_COLUMNS, Period, Settings

TTM_MONTHS = 12  # the trailing twelve months of nrr_ttm and grr_ttm
LAGGED_COLUMNS = ("_base", "_kept", "_capped")


def month_index(month: pl.Expr) -> pl.Expr:
    """A month as a whole number of months (year × 12 + month − 1), so months subtract."""
    return (month.dt.year().cast(pl.Int32) * 12 + month.dt.month().cast(pl.Int32) - 1).alias("_m")


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of_index(index: pl.Expr) -> pl.Expr:
    """The first day of the month of a month index."""
    return pl.date(index // 12, index % 12 + 1, 1)


def period_start(month: pl.Expr, period: Period) -> pl.Expr:
    """The first day of the calendar period that holds a month (its first day)."""
    if period == Period.month:
        return month
    n = period.months
    return pl.date(month.dt.year(), (month.dt.month() - 1) // n * n + 1, 1)


def period_key(month: pl.Expr, settings: Settings) -> pl.Expr:
    """The period of a month (its first day); null for the months of the first reported period
    that come before --from and for those after the last reported month (--to), which belong
    to no reported period."""
    start = period_start(month, settings.period)
    if settings.period == Period.month:
        return start
    outside = month > pl.lit(last_month(settings))
    cut = settings.month_from
    if cut is not None:
        outside |= (month < pl.lit(cut)) & (start == period_start(pl.lit(cut), settings.period))
    return pl.when(outside).then(None).otherwise(start)


def rolled_up(movements: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Monthly movements (every month, those before --from included) → one row per period:
    the movements columns with `month` the period's first day, and `_first`, `_last` its first
    and last reported months. With --period month, each month is its own period."""
    if settings.period == Period.month:
        return movements.with_columns(
            pl.col("month").alias("_first"), pl.col("month").alias("_last")
        )
    month = pl.col("month")
    table = (
        movements.sort("month")
        .with_columns(period_key(month, settings).alias("_period"))
        .filter(pl.col("_period").is_not_null())
        .group_by("_period", maintain_order=True)
        .agg(
            pl.col("days").sum(),
            pl.col("opening_mrr").first(),
            *(pl.col(c).sum() for c in FLOW_COLUMNS),
            pl.col("closing_mrr").last(),
            month.first().alias("_first"),
            month.last().alias("_last"),
        )
        .rename({"_period": "month"})
        .select(*MOVEMENTS_COLUMNS, "_first", "_last")
    )
    check_identity(table)
    return table


def reported_rows(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The rows (months or periods) a report shows: from --from on."""
    if settings.month_from is None:
        return table
    return table.filter(pl.col("_first") >= pl.lit(settings.month_from))


def row_lag(settings: Settings) -> pl.Expr:
    """A period row's span in months, from its opening month end to its closing one: from its
    calendar start (or --from, when it cuts the period) to its last reported month."""
    start = period_start(pl.col("month"), settings.period)
    if settings.month_from is not None:
        cut = pl.lit(settings.month_from)
        start = pl.when(start < cut).then(cut).otherwise(start)
    return (month_index(pl.col("_last")) - month_index(start) + 1).alias("_lag")


def retention_lags(settings: Settings) -> tuple[int, ...]:
    """The spans (in months) whose retention sums a metrics report needs, decided from the
    settings alone so that every partial computes the same frames: twelve for the trailing
    twelve months and, with --period, every reported period's span (row_lag): a whole period,
    the first one cut by --from and the last one cut at the last reported month."""
    lags = {TTM_MONTHS}
    if settings.period != Period.month:
        n = settings.period.months
        last = _index(last_month(settings))
        first = _index(settings.month_from) if settings.month_from else None
        lags.add(n)
        lags.add(last - max(last - last % n, first if first is not None else 0) + 1)
        if first is not None:
            lags.add(min(first - first % n + n - 1, last) - first + 1)
    return tuple(sorted(lags))


def retention_between(
    month_ends: pl.DataFrame, lags: Sequence[int], settings: Settings
) -> pl.DataFrame:
    """Per span L and month m: the change at m of three sums over the customers c, with M_c(m)
    c's MRR at the end of month m (the as-of day for the as-of month):

        _base = Σ M_c(m − L)    _kept = Σ M_c(m) over c with M_c(m − L) > 0
        _capped = Σ min(M_c(m), M_c(m − L))

    `month_ends` are customer-level month-end changes (`_customer, month, mrr_after`). Each sum
    is, per customer, a step function of m that moves only at its change months and L months
    after them: 2 rows per change and span, never customers × months. Changes add up across
    partials; their running sum is the level (engine.metrics)."""
    last = _index(last_month(settings))
    steps = (
        month_ends.lazy()
        .select(CUSTOMER, month_index(pl.col("month")), pl.col("mrr_after").cast(pl.Int64))
        .filter(pl.col("_m") <= last)
        .sort(CUSTOMER, "_m")
        .collect()
    )
    if steps.height == 0 or not lags:
        return empty_lagged()
    # One sort for every span: each change gets a packed key, the customer's rank above its
    # month below, so that the changes and the same changes L months later are two sorted
    # streams merged in one pass (exact: ranks never collide, as hashes could).
    low: int = steps.get_column("_m").min()  # type: ignore[assignment]
    bits = (last - low + 1).bit_length()
    customer = pl.col(CUSTOMER)
    rank = (customer != customer.shift(1)).fill_null(True).cum_sum().cast(pl.UInt64)
    steps = steps.with_columns(
        (rank * (1 << bits) + (pl.col("_m") - low).cast(pl.UInt64)).alias("_packed"),
        rank.alias("_rank"),
    )
    return pl.concat([_lagged(steps.lazy(), lag, last) for lag in lags]).collect()


def _lagged(steps: pl.LazyFrame, lag: int, last: int) -> pl.LazyFrame:
    """retention_between for one span, from the packed changes."""

    def levels(now: ValueAt, then: ValueAt) -> list[pl.Expr]:
        mrr, before = now("mrr_after"), then("mrr_after")
        return [
            before.alias("_base"),
            pl.when(before > 0).then(mrr).otherwise(0).alias("_kept"),
            pl.min_horizontal(mrr, before).alias("_capped"),
        ]

    return lagged_changes(steps, lag, last, ("mrr_after",), levels)


ValueAt = Callable[[str], pl.Expr]  # a value's column, now or L months before


def lagged_changes(
    steps: pl.LazyFrame,
    lag: int,
    last: int,
    values: Sequence[str],
    levels: Callable[[ValueAt, ValueAt], list[pl.Expr]],
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """The LAGGED_COLUMNS' changes per month (and `by`) for one span L, from changes sorted by
    `_packed` (a run's rank above its month `_m`, see retention_between): the changes and the
    same changes L months later are merged as two sorted streams; at each event `values` are
    known now and L months before (0 before the run's first change), `levels` turns them into
    the LAGGED_COLUMNS, and their change within the run is summed per month."""
    null = pl.lit(None, dtype=pl.Int64)
    now_of, then_of = {v: f"_now{v}" for v in values}, {v: f"_then{v}" for v in values}
    now = steps.select(
        "_packed",
        "_rank",
        *by,
        "_m",
        *(pl.col(v).alias(now_of[v]) for v in values),
        *(null.alias(then_of[v]) for v in values),
    )
    then = steps.filter(pl.col("_m") + lag <= last).select(
        pl.col("_packed") + lag,  # the month stays within the low bits: it is at most `last`
        "_rank",
        *by,
        pl.col("_m") + lag,
        *(null.alias(now_of[v]) for v in values),
        *(pl.col(v).alias(then_of[v]) for v in values),
    )
    rank = pl.col("_rank")
    first = (rank != rank.shift(1)).fill_null(True)
    last_of_run = (pl.col("_packed") != pl.col("_packed").shift(-1)).fill_null(True)
    events = (
        now.set_sorted("_packed")
        .merge_sorted(then.set_sorted("_packed"), key="_packed")
        # Before a run's first change its values are 0; a sorted forward fill then carries
        # each value to the run's later events (never across runs: the first is set).
        .with_columns(
            pl.when(first).then(pl.col(c).fill_null(0)).otherwise(pl.col(c)).forward_fill()
            for c in (*now_of.values(), *then_of.values())
        )
        .filter(last_of_run)
    )
    summed = events.with_columns(levels(lambda v: pl.col(now_of[v]), lambda v: pl.col(then_of[v])))
    changes = summed.with_columns(
        (pl.col(c) - pl.when(first).then(0).otherwise(pl.col(c).shift(1))).alias(c)
        for c in LAGGED_COLUMNS
    )
    return (
        changes.group_by("_m", *by)
        .agg(pl.col(c).sum() for c in LAGGED_COLUMNS)
        .select(
            pl.lit(lag, dtype=pl.Int32).alias("lag"),
            month_of_index(pl.col("_m")).alias("month"),
            *by,
            *LAGGED_COLUMNS,
        )
    )


def empty_lagged() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"lag": pl.Int32, "month": pl.Date, **dict.fromkeys(LAGGED_COLUMNS, pl.Int64)}
    )


def lagged_levels(lagged: pl.DataFrame) -> pl.DataFrame:
    """Summed changes (retention_between) → the sums themselves, per span and month with a
    change (a running sum per span); a month without a change keeps the level before it."""
    return (
        lagged.sort("lag", "month")
        .with_columns(pl.col(c).cum_sum().over("lag") for c in LAGGED_COLUMNS)
        .sort("month")
    )
