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
from mrrcli.engine.periods import LAGGED_COLUMNS, ValueAt, lagged_changes, month_index
from mrrcli.engine.segments import SEGMENT
from mrrcli.engine.totals import last_month
from mrrcli.vocabulary import Settings


def segment_retention_between(
    month_ends: pl.DataFrame, lags: Sequence[int], settings: Settings
) -> pl.DataFrame:
    """Per span L, month m and segment: the change at m of _base, _kept, _capped (see the
    module's text). `month_ends`: the customer-level month-end allocation (engine.segments
    `allocated`: one row per customer, segment and month with a change, with `_customer,
    month, segment, mrr_after, moved_in_mrr, moved_out_mrr`)."""
    end = last_month(settings)
    last = end.year * 12 + end.month - 1
    names = month_ends.get_column(SEGMENT).unique().sort()
    moved = pl.col("moved_out_mrr") - pl.col("moved_in_mrr")
    steps = (
        month_ends.lazy()
        .select(
            CUSTOMER,
            pl.col(SEGMENT).cast(pl.Enum(names)).to_physical().alias("_seg"),
            month_index(pl.col("month")),
            pl.col("mrr_after").cast(pl.Int64),
            moved.cast(pl.Int64).alias("_x"),
        )
        .filter(pl.col("_m") <= last)
        .sort(CUSTOMER, "_seg", "_m")
        .collect()
    )
    if steps.height == 0 or not lags:
        return empty_segment_lagged()
    # Each (customer, segment) run gets a rank; its changes a packed key, the rank above the
    # month, so that the changes and the same changes L months later are two sorted streams
    # merged in one pass (as engine.periods.retention_between does per customer).
    low: int = steps.get_column("_m").min()  # type: ignore[assignment]
    bits = (last - low + 1).bit_length()
    run_start = (
        (pl.col(CUSTOMER) != pl.col(CUSTOMER).shift(1))
        | (pl.col("_seg") != pl.col("_seg").shift(1))
    ).fill_null(True)
    rank = run_start.cum_sum().cast(pl.UInt64)
    total = pl.col("_x").cum_sum()
    steps = steps.with_columns(
        (rank * (1 << bits) + (pl.col("_m") - low).cast(pl.UInt64)).alias("_packed"),
        rank.alias("_rank"),
        # The running sum of moved_out − moved_in within the run.
        (total - pl.when(run_start).then(total - pl.col("_x")).forward_fill()).alias("_x"),
    )
    lagged = pl.concat([_segment_lagged(steps.lazy(), lag, last) for lag in lags]).collect()
    return lagged.with_columns(
        pl.col(SEGMENT).replace_strict(
            pl.Series(range(names.len()), dtype=pl.UInt32), names, return_dtype=pl.String
        )
    )


def _segment_lagged(steps: pl.LazyFrame, lag: int, last: int) -> pl.LazyFrame:
    """segment_retention_between for one span, from the packed changes."""

    def levels(now: ValueAt, then: ValueAt) -> list[pl.Expr]:
        before = then("mrr_after")
        retained = now("mrr_after") + now("_x") - then("_x")
        paying = before > 0
        return [
            before.alias("_base"),
            pl.when(paying).then(retained).otherwise(0).alias("_kept"),
            pl.when(paying).then(pl.min_horizontal(retained, before)).otherwise(0).alias("_capped"),
        ]

    return lagged_changes(steps, lag, last, ("mrr_after", "_x"), levels, by=("_seg",)).rename(
        {"_seg": SEGMENT}
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
