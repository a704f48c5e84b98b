"""The engine's unit of work: a partial, the additive sums of one set of whole customers, and
the one step that combines partials into the numbers every report shows (SPEC §13).

Every report is a sum over customers. A partial holds, for its customers, each month's flows
per movement kind, the customers per kind (per period with --period), the NRR/GRR numerators
and paying-customer moves at month ends, the retention sums between month ends L months apart
(periods and the trailing twelve months, engine.periods), the leading expanders of the last
month and, for the audit trail, their changes. `combine` adds partials, rebuilds opening and
closing MRR, checks the identity and hands the sums to the tables of engine.metrics. A whole
run is one partial; a run in parts (one machine or Spark) is many, and gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from mrrcli.engine.cohort_segments import first_segments
from mrrcli.engine.cohorts import cohort_cells, summed_cells
from mrrcli.engine.keys import CUSTOMER, customer_ids
from mrrcli.engine.periods import (
    period_key,
    period_start,
    retention_between,
    retention_lags,
)
from mrrcli.engine.segment_totals import SegmentSums, combine_segments, segment_partial
from mrrcli.engine.timeline import classified_changes, first_paying_day
from mrrcli.engine.totals import (
    empty_flows,
    flows_by_month,
    last_month,
    movements_from,
    reported,
)
from mrrcli.vocabulary import COUNT_COLUMNS, Level, Mode, Scope, Settings

RETENTION_COLUMNS = ("_cohort_net", "_cohort_loss", "_arrivals", "_departures")


@dataclass(frozen=True)
class Needs:
    """What a report needs of each partial besides the monthly flows."""

    counts: bool = False  # distinct customers per movement kind and month
    retention: bool = False  # customer-level month-end sums: NRR/GRR, paying customers
    leaders: int = 0  # the top `leaders` expanding customers of the last reported month
    audit: bool = False  # every change, with ids (the customers report)
    segments: bool = False  # the same, per segment of the rows' `segment` column (§9)
    cohorts: bool = False  # sums per (cohort, month) of the keys' flows and month-end MRR
    cohort_segments: bool = False  # the same per (cohort, segment, month) (§10 --by)


@dataclass
class Partial:
    """Additive sums of one set of whole customers (money in Int64 minor units)."""

    flows: pl.DataFrame  # month, new_mrr … churned_mrr, net_new_mrr: months with a change
    counts: pl.DataFrame | None = None  # month, new_customers … reactivated_customers
    retention: pl.DataFrame | None = None  # month, _cohort_net, _cohort_loss, _arrivals, …
    leaders: pl.DataFrame | None = None  # customer_id, amount, changes: candidates for the top
    audit: pl.DataFrame | None = None  # classified changes with ids
    lagged: pl.DataFrame | None = None  # lag, month, _base, _kept, _capped (engine.periods)
    first_day: date | None = None  # the first day any of its keys had MRR > 0 (§5 months)
    segments: SegmentSums | None = None  # per (month, segment) sums (§9), when asked
    cohorts: pl.DataFrame | None = None  # _cohort, month, engine.cohorts.CELL_SUMS
    cohort_segments: pl.DataFrame | None = None  # _cohort, segment, month, CELL_SUMS


@dataclass
class Combined:
    """Partials added up: `movements` runs from the first month with MRR > 0 on any day (or
    --from), opening and closing rebuilt, identity checked; the other frames are summed per
    month."""

    settings: Settings
    movements: pl.DataFrame
    counts: pl.DataFrame | None = None
    retention: pl.DataFrame | None = None
    leaders: pl.DataFrame | None = None
    audit: pl.DataFrame | None = None
    cohorts: pl.DataFrame | None = None
    lagged: pl.DataFrame | None = None
    segments: SegmentSums | None = None  # segment movements (each segment over its life) …
    cohort_segments: pl.DataFrame | None = None


def partial(rows: pl.DataFrame | pl.LazyFrame, settings: Settings, needs: Needs) -> Partial:
    """The partial sums of MRR rows (normalize.Rows.frame) of whole customers."""
    lazy = rows.lazy()
    changes = classified_changes(lazy, settings, ids=needs.audit)
    result = Partial(flows=flows_by_month(changes), first_day=first_paying_day(lazy, settings))
    if needs.counts:
        # Per period: a customer counts once in a quarter even if it expanded in two months.
        in_periods = changes.with_columns(period_key(pl.col("month"), settings).alias("month"))
        result.counts = counts_by_month(in_periods.filter(pl.col("month").is_not_null()))
    month_ends = _month_end_changes(lazy, settings, changes) if needs.retention else None
    if month_ends is not None:
        result.retention = retention_by_month(month_ends)
        result.lagged = retention_between(month_ends, retention_lags(settings), settings)
    if needs.leaders:
        result.leaders = leading_expanders(lazy, changes, settings, needs.leaders)
    if needs.audit:
        result.audit = changes
    if needs.segments:
        result.segments = segment_partial(
            lazy, settings, changes, counts=needs.counts, month_ends=month_ends, audit=needs.audit
        )
    if needs.cohorts or needs.cohort_segments:
        result.cohorts = cohort_cells(changes, settings)
    if needs.cohort_segments:
        segments = first_segments(lazy, settings, changes)
        result.cohort_segments = cohort_cells(changes, settings, segments)
    return result


def counts_by_month(changes: pl.DataFrame) -> pl.DataFrame:
    """Per month: distinct customers with at least one movement of each kind. A customer is
    whole in one partial, so the counts of partials add up."""
    return changes.group_by("month").agg(
        pl.col(CUSTOMER)
        .filter(pl.col("movement") == movement)
        .n_unique()
        .cast(pl.Int64)
        .alias(column)
        for movement, column in COUNT_COLUMNS.items()
    )


def _month_end_changes(
    rows: pl.LazyFrame, settings: Settings, changes: pl.DataFrame
) -> pl.DataFrame:
    """Customer-level month-end changes, for NRR/GRR and paying customers (the report's own
    changes when they are those already)."""
    if (settings.mode, settings.level, settings.scope) == (
        Mode.snapshot,
        Level.customer,
        Scope.strict,
    ):
        return changes
    snapshot = replace(settings, mode=Mode.snapshot, level=Level.customer, scope=Scope.strict)
    return classified_changes(rows, snapshot, ids=False)


def retention_by_month(month_ends: pl.DataFrame) -> pl.DataFrame:
    """Per month, over customers paying at the previous month end: the net change and the
    loss of their MRR (NRR and GRR numerators); and customers arriving at and leaving 0."""
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    paying = before > 0
    return month_ends.group_by("month").agg(
        (after - before).filter(paying).sum().alias("_cohort_net"),
        (before - after).clip(lower_bound=0).filter(paying).sum().alias("_cohort_loss"),
        ((before == 0) & (after > 0)).sum().cast(pl.Int64).alias("_arrivals"),
        ((before > 0) & (after == 0)).sum().cast(pl.Int64).alias("_departures"),
    )


def leading_expanders(
    rows: pl.LazyFrame, changes: pl.DataFrame, settings: Settings, top: int
) -> pl.DataFrame:
    """The customers with the most expansion in the last reported month (or period), with their
    ids: every customer at or above the top-th amount (ties kept, so the top of partials
    combined is the top of the whole). Only these few ids are looked up among the rows."""
    last = period_start(pl.lit(last_month(settings)), settings.period)
    in_last = period_key(pl.col("month"), settings) == last
    expanded = (
        changes.filter(in_last & (pl.col("movement") == "expansion"))
        .group_by(CUSTOMER)
        .agg(pl.col("amount").sum(), pl.len().alias("changes"))
    )
    if expanded.height > top:
        cutoff = expanded.get_column("amount").sort(descending=True)[top - 1]
        expanded = expanded.filter(pl.col("amount") >= cutoff)
    names = customer_ids(rows, settings, among=expanded.get_column(CUSTOMER).implode())
    return expanded.join(names.collect(), on=CUSTOMER, how="left").select(
        "customer_id", "amount", "changes"
    )


def _summed(
    frames: Sequence[pl.DataFrame | None], by: Sequence[str] = ("month",)
) -> pl.DataFrame | None:
    """Frames of per-month sums added month by month (None when none was asked for)."""
    present = [f for f in frames if f is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return pl.concat(present).group_by(*by).sum()


def combine(partials: Sequence[Partial], settings: Settings, top: int = 0) -> Combined:
    """Partials of disjoint customers added up (see Combined)."""
    flows = _summed([p.flows for p in partials])
    days = [p.first_day for p in partials if p.first_day is not None]
    movements = movements_from(
        flows if flows is not None else empty_flows(), settings, min(days) if days else None
    )
    combined = Combined(
        settings=settings,
        movements=movements,
        counts=_summed([p.counts for p in partials]),
        retention=_summed([p.retention for p in partials]),
        cohorts=summed_cells([p.cohorts for p in partials]),
        cohort_segments=summed_cells([p.cohort_segments for p in partials]),
        lagged=_summed([p.lagged for p in partials], by=("lag", "month")),
    )
    leaders = [p.leaders for p in partials if p.leaders is not None]
    if leaders and movements.height:
        last = period_start(pl.lit(last_month(settings)), settings.period)
        combined.leaders = (
            pl.concat(leaders)
            .sort(["amount", "customer_id"], descending=[True, False])
            .head(top)
            .with_columns(last.alias("month"))
        )
    segments = [p.segments for p in partials if p.segments is not None]
    if segments:
        combined.segments = combine_segments(segments, movements)
    audits = [p.audit for p in partials if p.audit is not None]
    if audits:
        combined.audit = audits[0] if len(audits) == 1 else pl.concat(audits)
    return combined


def monthly_movements(rows: pl.DataFrame | pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """MRR rows of a whole run → its movements report (money in minor units)."""
    return reported(combine([partial(rows, settings, Needs())], settings).movements, settings)
