"""Segment sums of a partial and their combination (SPEC §9): one more additive frame of the
partial, added in combine, with opening and closing MRR rebuilt per segment and the
identities of §9 checked on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from mrrcli.engine.keys import KEY
from mrrcli.engine.periods import period_key, retention_lags
from mrrcli.engine.segment_periods import segment_retention_between
from mrrcli.engine.segment_runs import segment_rows
from mrrcli.engine.segments import (
    SEGMENT,
    SEGMENT_FLOW_COLUMNS,
    Allocation,
    segment_allocation,
    segment_audit,
    segment_counts,
    segment_flows,
    segment_retention,
)
from mrrcli.engine.timeline import _with_calendar
from mrrcli.engine.totals import IdentityError
from mrrcli.vocabulary import COUNT_COLUMNS, MOVEMENT_COLUMNS, Level, Mode, Scope, Settings

SEGMENT_MOVEMENTS_COLUMNS = (
    "month",
    SEGMENT,
    "days",
    "opening_mrr",
    *SEGMENT_FLOW_COLUMNS.values(),
    "net_new_mrr",
    "closing_mrr",
)


@dataclass
class SegmentSums:
    """Per (month, segment) sums of one set of whole customers; once combined, `flows` is the
    segment movements table (SEGMENT_MOVEMENTS_COLUMNS, each segment over its life)."""

    flows: pl.DataFrame
    counts: pl.DataFrame | None = None
    retention: pl.DataFrame | None = None
    audit: pl.DataFrame | None = None
    lagged: pl.DataFrame | None = None  # lag, month, segment, _base, _kept, _capped


def segment_partial(
    rows: pl.LazyFrame,
    settings: Settings,
    changes: pl.DataFrame,
    *,
    counts: bool,
    month_ends: pl.DataFrame | None,
    audit: bool,
) -> SegmentSums:
    """The segment sums of rows with a `segment` column; `changes` is their unsegmented
    classification, `month_ends` (for NRR/GRR) the customer-level month-end one."""
    paying = segment_rows(rows, settings)
    plan = segment_allocation(paying, settings, changes, calendar=counts or audit)
    snapshot = replace(settings, mode=Mode.snapshot, level=Level.customer, scope=Scope.strict)
    # Summed lazily when the flows are all that is asked; else held once for every sum.
    shared = counts or audit or (month_ends is not None and snapshot == settings)
    allocation: pl.DataFrame | pl.LazyFrame = plan.collect() if shared else plan
    sums = SegmentSums(flows=segment_flows(allocation, settings))
    if counts:
        # Per period: a customer counts once in a quarter (engine.partials.partial).
        in_periods = allocation.with_columns(period_key(pl.col("month"), settings).alias("month"))
        sums.counts = segment_counts(
            in_periods.filter(pl.col("month").is_not_null()), COUNT_COLUMNS
        )
    if month_ends is not None:
        if snapshot != settings:
            # The rows are read once when the keys are the same (customers).
            if paying.level != Level.customer:
                paying = segment_rows(rows, snapshot)
            at_month_ends: Allocation = segment_allocation(
                paying, snapshot, month_ends, calendar=True
            ).collect()
        else:
            at_month_ends = allocation
        sums.retention = segment_retention(at_month_ends, snapshot)
        sums.lagged = segment_retention_between(
            _dated(at_month_ends, snapshot), retention_lags(settings), settings
        )
    if audit:
        ids = changes.select(KEY, *settings.keys).unique(KEY)
        sums.audit = segment_audit(allocation.lazy().collect()).join(ids, on=KEY, how="left")
    return sums


def _dated(allocation: Allocation, settings: Settings) -> pl.DataFrame:
    """A month-end allocation with its `month` and the segment as text (for the retention
    over spans, engine.segment_periods)."""
    frame = allocation.lazy().collect()
    if "month" not in frame.columns:
        frame = _with_calendar(frame, settings)
    return frame.with_columns(pl.col(SEGMENT).cast(pl.String))


def _summed(
    frames: Sequence[pl.DataFrame | None], by: Sequence[str] = ("month", SEGMENT)
) -> pl.DataFrame | None:
    present = [f for f in frames if f is not None]
    if not present:
        return None
    return pl.concat(present).group_by(*by).sum()


def _lifetimes(flows: pl.DataFrame, months: pl.DataFrame) -> pl.DataFrame:
    """`segment, month, days`: each segment's months from its first flow to its last (to
    the last month when it still has MRR): the rows that can hold MRR or a flow. A
    segment of one subscription (`--by subscription_id`) has the months of its life, not
    every month of the report."""
    indexed = months.with_row_index("_m")
    last = indexed.height - 1
    spans = (
        flows.join(indexed.select("month", "_m"), on="month")
        .group_by(SEGMENT)
        .agg(
            pl.col("_m").min().alias("_lo"),
            pl.col("_m").max().alias("_hi"),
            pl.col("net_new_mrr").sum().alias("_end"),
        )
        .select(
            SEGMENT,
            pl.int_ranges(
                "_lo", pl.when(pl.col("_end") != 0).then(last).otherwise(pl.col("_hi")) + 1
            )
            .cast(pl.List(pl.UInt32))
            .alias("_m"),
        )
    )
    return spans.explode("_m").join(indexed, on="_m").select(SEGMENT, "month", "days")


def combine_segments(parts: Sequence[SegmentSums], movements: pl.DataFrame) -> SegmentSums:
    """Segment sums added up; the movements table per segment over the months of the
    unsegmented `movements` (each segment from its first flow to its last month with MRR or
    a flow; the months outside hold nothing), identities checked."""
    flows = _summed([p.flows for p in parts])
    assert flows is not None
    net = pl.col("net_new_mrr")
    table = (
        _lifetimes(flows, movements.select("month", "days"))
        .join(flows, on=["month", SEGMENT], how="left")
        .with_columns(pl.exclude("month", SEGMENT, "days").fill_null(0))
        .sort(SEGMENT, "month")
        .with_columns(net.cum_sum().over(SEGMENT).alias("closing_mrr"))
        .with_columns((pl.col("closing_mrr") - net).alias("opening_mrr"))
        .sort("month", SEGMENT)
        .select(SEGMENT_MOVEMENTS_COLUMNS)
    )
    check_segment_identities(table, movements)
    audits = [p.audit for p in parts if p.audit is not None]
    return SegmentSums(
        flows=table,
        counts=_summed([p.counts for p in parts]),
        retention=_summed([p.retention for p in parts]),
        audit=pl.concat(audits) if audits else None,
        lagged=_summed([p.lagged for p in parts], by=("lag", "month", SEGMENT)),
    )


def check_segment_identities(table: pl.DataFrame, movements: pl.DataFrame) -> None:
    """§9, exact: each segment reconciles every month; Σ moved_in = Σ moved_out; each kind,
    opening and closing summed over segments equal the unsegmented movements."""
    c = {k: pl.col(v) for k, v in SEGMENT_FLOW_COLUMNS.items()}
    inflow = c["new"] + c["expansion"] + c["reactivation"] + c["moved_in"]
    outflow = c["contraction"] + c["churn"] + c["moved_out"]
    broken = table.filter(pl.col("opening_mrr") + inflow - outflow != pl.col("closing_mrr"))
    if broken.height:
        row = broken.row(0, named=True)
        raise IdentityError(
            f"segment identity fails in {row['month']} for segment {row[SEGMENT]!r}"
        )
    summed = table.group_by("month").agg(
        pl.exclude(SEGMENT, "days").sum(),
    )
    unbalanced = summed.filter(pl.col("moved_in_mrr") != pl.col("moved_out_mrr"))
    if unbalanced.height:
        raise IdentityError(f"moved_in ≠ moved_out in {unbalanced.get_column('month')[0]}")
    compared = ["opening_mrr", *MOVEMENT_COLUMNS.values(), "closing_mrr"]
    whole = movements.select("month", *compared)
    joined = whole.join(summed, on="month", how="left", suffix="_segments")
    for column in compared:
        differs = joined.filter(pl.col(f"{column}_segments").fill_null(0) != pl.col(column))
        if differs.height:
            month = differs.get_column("month")[0]
            raise IdentityError(f"segments do not add up to {column} in {month}")
