"""Each segment's retention between two month ends some months apart: a period's NRR/GRR
(SPEC §5 `--period`, §9) and the trailing twelve months (§10), per segment.

Retention over L months to the end of month m, per segment v (the monthly rule of §9
stretched): S_v are the customers paying in v at the end of m − L, o(c) their MRR in v then;
retained(c) = M_cv(m) + X_cv(m) − X_cv(m − L), with M_cv(t) c's MRR in v at the end of month t
and X_cv(t) the running sum of its moved_out − moved_in in v through month t; then
_base = Σ_S o, _kept = Σ_S retained, _capped = Σ_S min(o, retained). Per customer and segment
these are step functions of m that move only at change months and L months after them, so
the sums are computed from 2 rows per change and span, never customers × months.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mrrcli.engine.keys import CUSTOMER
from mrrcli.engine.periods import LAGGED_COLUMNS, month_index, month_of_index
from mrrcli.engine.segments import SEGMENT
from mrrcli.engine.totals import last_month
from mrrcli.vocabulary import Settings


def segment_retention_between(
    month_ends: pl.DataFrame, lags: Sequence[int], settings: Settings
) -> pl.DataFrame:
    """Per span L, month m and segment: the change at m of _base, _kept, _capped (see the
    module's text). `month_ends`: the customer-level month-end allocation (engine.segments
    `allocated`: `_customer, month, segment, mrr_after, moved_in_mrr, moved_out_mrr`)."""
    end = last_month(settings)
    last = end.year * 12 + end.month - 1
    moved = pl.col("moved_out_mrr") - pl.col("moved_in_mrr")
    steps = (
        month_ends.lazy()
        .select(
            CUSTOMER,
            SEGMENT,
            month_index(pl.col("month")),
            pl.col("mrr_after").cast(pl.Int64),
            moved.cast(pl.Int64).alias("_x"),
        )
        .filter(pl.col("_m") <= last)
        .group_by(CUSTOMER, SEGMENT, "_m")
        .agg(pl.col("mrr_after").last(), pl.col("_x").sum())
        .sort(CUSTOMER, SEGMENT, "_m")
        .with_columns(pl.col("_x").cum_sum().over(CUSTOMER, SEGMENT))
        .collect()
    )
    if steps.height == 0 or not lags:
        return empty_segment_lagged()
    return pl.concat([_segment_lagged(steps.lazy(), lag, last) for lag in lags]).collect()


def _segment_lagged(steps: pl.LazyFrame, lag: int, last: int) -> pl.LazyFrame:
    """segment_retention_between for one span."""
    null = pl.lit(None, dtype=pl.Int64)
    ids = (CUSTOMER, SEGMENT)
    now = steps.select(
        *ids,
        "_m",
        pl.lit(0, pl.Int8).alias("_src"),
        pl.col("mrr_after").alias("_now"),
        pl.col("_x").alias("_xnow"),
        null.alias("_then"),
        null.alias("_xthen"),
    )
    then = steps.filter(pl.col("_m") + lag <= last).select(
        *ids,
        pl.col("_m") + lag,
        pl.lit(1, pl.Int8).alias("_src"),
        null.alias("_now"),
        null.alias("_xnow"),
        pl.col("mrr_after").alias("_then"),
        pl.col("_x").alias("_xthen"),
    )
    first = pl.struct(*ids).is_first_distinct()
    run_end = pl.struct(*ids, "_m").is_last_distinct()
    values = ("_now", "_xnow", "_then", "_xthen")
    events = (
        pl.concat([now, then])
        .sort(*ids, "_m", "_src")
        # Before a run's first change its MRR and transfers are 0; a forward fill carries each
        # value to the run's later events (never across runs: each run's first row is set).
        .with_columns(
            pl.when(first).then(pl.col(c).fill_null(0)).otherwise(pl.col(c)).forward_fill()
            for c in values
        )
        .filter(run_end)
    )
    then_mrr = pl.col("_then")
    retained = pl.col("_now") + pl.col("_xnow") - pl.col("_xthen")
    paying = then_mrr > 0
    levels = events.with_columns(
        then_mrr.alias("_base"),
        pl.when(paying).then(retained).otherwise(0).alias("_kept"),
        pl.when(paying).then(pl.min_horizontal(retained, then_mrr)).otherwise(0).alias("_capped"),
    )
    start = pl.struct(*ids).is_first_distinct()
    changes = levels.with_columns(
        (pl.col(c) - pl.when(start).then(0).otherwise(pl.col(c).shift(1))).alias(c)
        for c in LAGGED_COLUMNS
    )
    return (
        changes.group_by("_m", SEGMENT)
        .agg(pl.col(c).sum() for c in LAGGED_COLUMNS)
        .select(
            pl.lit(lag, dtype=pl.Int32).alias("lag"),
            month_of_index(pl.col("_m")).alias("month"),
            SEGMENT,
            *LAGGED_COLUMNS,
        )
    )


def empty_segment_lagged() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "lag": pl.Int32,
            "month": pl.Date,
            SEGMENT: pl.String,
            **dict.fromkeys(LAGGED_COLUMNS, pl.Int64),
        }
    )


def segment_lagged_levels(lagged: pl.DataFrame) -> pl.DataFrame:
    """Summed changes (segment_retention_between) → the sums themselves, per span, segment
    and month with a change; a month without a change keeps the level before it."""
    return (
        lagged.sort("lag", SEGMENT, "month")
        .with_columns(pl.col(c).cum_sum().over("lag", SEGMENT) for c in LAGGED_COLUMNS)
        .sort("month")
    )
