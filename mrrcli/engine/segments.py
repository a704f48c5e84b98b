"""Segments (SPEC §9): the movements of each key split over the segments of its rows.

The unsegmented classification (engine.timeline) is computed first and never changes. Each
key's MRR is also followed per segment (a row's `segment` column, chosen once in the
pipeline): on every day (event mode) or month end (snapshot mode) where a key's MRR in some
segment changes, its change Δ_v = a_v − b_v is allocated to kinds:

- an arrival from 0 (new, reactivation, or what broad scope calls expansion): each segment
  gaining gets that kind for Δ_v;
- a departure to 0 (churn): each segment losing gets churn of |Δ_v|;
- otherwise the key kept T = min(P, N) (P, N: the sums of gains and of losses) while changing
  segment: the smaller side moves in full (`moved_in`/`moved_out`), T is shared over the larger
  side in proportion to |Δ_v| (minor units, largest remainder, ties to the first segment in
  sort order) and that side's remainder is expansion or contraction.

All of it is one sort (engine.segment_runs), window sums and a join: no loop over keys.
Largest remainder works within one key and day, so a partial of whole customers computes
its own share.
"""

from __future__ import annotations

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY
from mrrcli.engine.runs import POS
from mrrcli.engine.segment_runs import SEGMENT as SEGMENT  # the name reports import from here
from mrrcli.engine.segment_runs import (
    SegmentRows,
    _changed,
    _ends,
    _level_after,
    _running,
    segment_rows,
    segment_runs,
)
from mrrcli.engine.timeline import _with_calendar
from mrrcli.vocabulary import MOVEMENTS, Scope, Settings

NONE_SEGMENT = "(none)"
TRANSFERS = ("moved_in", "moved_out")
SEGMENT_KINDS = (*MOVEMENTS, *TRANSFERS)
# Each kind's column in the per-(key, day, segment) allocation and in the segment reports.
SEGMENT_FLOW_COLUMNS = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "reactivation": "reactivation_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
    "moved_in": "moved_in_mrr",
    "moved_out": "moved_out_mrr",
}
SEGMENT_MOVEMENT = pl.Enum(SEGMENT_KINDS)


def _shares(total: pl.Expr, weight: pl.Expr, whole: pl.Expr, group: str) -> pl.Expr:
    """`total` shared over the rows of each group in proportion to `weight` (summing to
    `whole`), in whole minor units by largest remainder. The rows must be sorted by group,
    remainder (largest first) and segment: the leftover units go to the first rows. (Group
    sums and ranks by running sums over the sorted rows.)"""
    product = total.cast(pl.Int128) * weight.cast(pl.Int128)
    floor = (product // whole.cast(pl.Int128)).cast(pl.Int64)
    start = _changed(group)
    end = (pl.col(group) != pl.col(group).shift(-1)).fill_null(True)
    leftover = total - pl.when(end).then(_running(start, floor)).backward_fill()
    index = pl.int_range(pl.len())
    rank = index - pl.when(start).then(index).forward_fill()
    return floor + (rank < leftover).cast(pl.Int64)


def _grouped(runs: pl.DataFrame) -> pl.DataFrame:
    """Runs (sorted by key, position and segment), each (key, position) a group `_g`, with the
    key's MRR before and after (`_before`, `_after`), P and N (`_p`, `_n`), whether the group
    is the key's first (`_first`) and has one row (`_single`). Sums by running totals over the
    sorted rows, no group_by."""
    d = pl.col("delta")
    start = _changed(KEY) | _changed(POS)
    end = _ends(KEY) | _ends(POS)
    key_start = _changed(KEY)

    def at_end(value: pl.Expr) -> pl.Expr:
        return pl.when(end).then(value).backward_fill()

    def before_start(value: pl.Expr, step: pl.Expr) -> pl.Expr:
        return pl.when(start).then(value - step).forward_fill()

    gain, loss = d.clip(lower_bound=0), (-d).clip(lower_bound=0)
    frame = runs.with_columns(
        _running(key_start, d).alias("_total"),
        gain.cum_sum().alias("_gains"),
        loss.cum_sum().alias("_losses"),
        start.alias("_start"),
        end.alias("_end"),
        key_start.alias("_key_start"),
    )
    total, gains, losses = pl.col("_total"), pl.col("_gains"), pl.col("_losses")
    return frame.with_columns(
        before_start(total, d).alias("_before"),
        at_end(total).alias("_after"),
        (at_end(gains) - before_start(gains, gain)).alias("_p"),
        (at_end(losses) - before_start(losses, loss)).alias("_n"),
        pl.col("_start").cast(pl.Int64).cum_sum().alias("_g"),
        (pl.col("_start") & pl.col("_end")).alias("_single"),
        pl.when(pl.col("_start")).then(pl.col("_key_start")).forward_fill().alias("_first"),
    ).drop("_total", "_gains", "_losses", "_start", "_end", "_key_start")


def _moved(frame: pl.DataFrame) -> pl.DataFrame:
    """`_moved`: the part of |Δ_v| that moved between segments. Of a group with one row,
    nothing; of a larger group, T = min(P, N) shared over the larger side by largest
    remainder, and all of the smaller side. (Only the rows of larger groups, a few, are
    sorted for the shares; their amounts are scattered back.)"""
    d, p, n = pl.col("delta"), pl.col("_p"), pl.col("_n")
    zero = pl.lit(0, pl.Int64).alias("_moved")
    many = frame.with_row_index("_i").filter(~pl.col("_single"))
    if many.height == 0:
        return frame.with_columns(zero)
    sharing = pl.when(p >= n).then(d > 0).otherwise(d < 0)
    weight = d.abs()
    whole_side = pl.when(p >= n).then(p).otherwise(n)
    kept = pl.min_horizontal(p, n)
    remainder = (kept.cast(pl.Int128) * weight.cast(pl.Int128) % whole_side.cast(pl.Int128)).cast(
        pl.Int64
    )
    moved = (
        many.select(
            "_i",
            "delta",
            "_p",
            "_n",
            (pl.col("_g") * 2 + sharing.cast(pl.Int64)).alias("_side"),
            remainder.alias("_rem"),
            pl.col(SEGMENT).to_physical().alias("_seg"),
        )
        .sort(["_side", "_rem", "_seg"], descending=[False, True, False])
        .select(
            "_i",
            pl.when(sharing)
            .then(_shares(kept, weight, whole_side, "_side"))
            .otherwise(weight)
            .alias("_moved"),
        )
    )
    amounts = pl.zeros(frame.height, pl.Int64, eager=True).alias("_moved")
    return frame.with_columns(amounts.scatter(moved.get_column("_i"), moved.get_column("_moved")))


def allocated(
    runs: pl.DataFrame, changes: pl.DataFrame, settings: Settings, calendar: bool = True
) -> pl.DataFrame:
    """Segment runs (segment_runs) allocated to kinds: `_key, _customer, date, month,
    segment, mrr_before, mrr_after, delta` and one column per kind (SEGMENT_FLOW_COLUMNS),
    the amounts (≥ 0) of the kinds the segment got; `segment` stays the Enum of the runs.
    Without `calendar`, `_pos` instead of `date, month` (the sums below take either).
    `changes`: the unsegmented classification of the same rows (timeline.classified_changes),
    read only in broad scope for the key's first arrival (new, or a conversion that broad
    scope calls expansion)."""
    return allocation_plan(runs, changes, settings, calendar).collect()


def allocation_plan(
    runs: pl.DataFrame, changes: pl.DataFrame, settings: Settings, calendar: bool = True
) -> pl.LazyFrame:
    """The allocation (see allocated), lazily: sums over it need not hold every change.

    An arrival from 0 is the key's first change (new) or a return (reactivation): MRR is
    never negative, so the key's first group of changes is its first arrival. a_v is
    computed only if a sum reads it (the flows do not)."""
    frame = _moved(_grouped(runs)).lazy().with_columns(_level_after())
    newly = pl.col("_first")  # an arrival that is new (the others: returns)
    if settings.scope == "broad":
        first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
        converted = changes.filter(first).select(
            KEY, (pl.col("movement") == "expansion").alias("_conversion")
        )
        frame = frame.join(converted.lazy(), on=KEY, how="left")
        newly = pl.col("_first") & ~pl.col("_conversion").fill_null(False)
    days: list[str | pl.Expr] = [POS]
    if calendar:
        days = _dated(runs, settings)
    arrival = pl.col("_before") == 0
    departure = pl.col("_after") == 0
    return frame.select(
        KEY,
        pl.col(CUSTOMER if CUSTOMER in runs.columns else KEY).alias(CUSTOMER),
        *days,
        SEGMENT,
        (pl.col("mrr_after") - pl.col("delta")).alias("mrr_before"),
        "mrr_after",
        "delta",
        *_amounts(arrival, departure, newly, settings.scope),
    )


def _dated(runs: pl.DataFrame, settings: Settings) -> list[str | pl.Expr]:
    """`date` and `month` of each change from its position, gathered from a calendar of the
    positions in range (see timeline._with_calendar)."""
    low, high = runs.select(pl.col(POS).min().alias("lo"), pl.col(POS).max().alias("hi")).row(0)
    low, high = low or 0, high or 0
    positions = pl.int_range(low, high + 1, dtype=pl.Int32, eager=True).alias(POS).to_frame()
    calendar = _with_calendar(positions, settings)
    index = pl.col(POS) - low
    return [
        pl.lit(calendar.get_column(name)).gather(index).alias(name) for name in ("date", "month")
    ]


def _amounts(arrival: pl.Expr, departure: pl.Expr, newly: pl.Expr, scope: Scope) -> list[pl.Expr]:
    """Each kind's amount of a segment's change (0 when it got none of that kind), from
    `delta` and `_moved`, the part of |Δ_v| that moved between segments. An arrival that is
    not new is a reactivation (broad scope: expansion, as are conversions)."""
    d, moved = pl.col("delta"), pl.col("_moved")
    weight = d.abs()
    transfer = ~arrival & ~departure
    returning = arrival & ~newly
    upward = transfer & (d > 0)
    amounts: dict[str, pl.Expr] = {
        "new": pl.when(arrival & newly).then(d),
        "expansion": pl.when(upward).then(d - moved),
        "reactivation": pl.when(returning).then(d),
        "contraction": pl.when(transfer & (d < 0)).then(weight - moved),
        "churn": pl.when(departure).then(weight),
        "moved_in": pl.when(upward).then(moved),
        "moved_out": pl.when(transfer & (d < 0)).then(moved),
    }
    if scope == "broad":
        amounts["expansion"] = pl.when(returning).then(d).when(upward).then(d - moved)
        amounts["reactivation"] = pl.lit(None, pl.Int64)
    return [
        amount.fill_null(0).cast(pl.Int64).alias(SEGMENT_FLOW_COLUMNS[k])
        for k, amount in amounts.items()
    ]


def segment_allocation(
    paying: SegmentRows, settings: Settings, changes: pl.DataFrame, calendar: bool = True
) -> pl.LazyFrame:
    """The allocation (see allocated) of rows read by segment_rows at `settings.level`,
    lazily, `segment` an Enum (the sums below name it as text)."""
    return allocation_plan(segment_runs(paying, settings), changes, settings, calendar)


def segment_changes(
    rows: pl.DataFrame | pl.LazyFrame, settings: Settings, changes: pl.DataFrame
) -> pl.DataFrame:
    """The allocation (see allocated) of rows that carry a `segment` column, `segment` as
    text."""
    paying = segment_rows(rows.lazy(), settings)
    allocation = segment_allocation(paying, settings, changes)
    return allocation.with_columns(pl.col(SEGMENT).cast(pl.String)).collect()


def _named(frame: pl.DataFrame, settings: Settings | None) -> pl.DataFrame:
    """Sums per segment with the segment as text (an Enum while summing is cheaper; partials
    of different segments combine as text); sums per position added up per month."""
    if POS in frame.columns:
        assert settings is not None, "sums per position need the settings for their months"
        dated = _with_calendar(frame, settings).drop(POS, "date")
        frame = dated.lazy().group_by("month", SEGMENT).sum().collect()
    return frame.with_columns(pl.col(SEGMENT).cast(pl.String))


Allocation = pl.DataFrame | pl.LazyFrame


def _days(allocation: Allocation) -> str:
    """What an allocation's changes are dated by: `month`, or `_pos` (summed first, then
    added up per month: far fewer rows to give a month)."""
    return "month" if "month" in allocation.collect_schema().names() else POS


def segment_flows(allocation: Allocation, settings: Settings | None = None) -> pl.DataFrame:
    """Per month and segment with a change: each kind's amount and the net change Σ Δ_v.
    `settings`: for an allocation dated by position (allocated without calendar). (The sums
    here and below are lazy: an aggregation several times cheaper than an eager one.)"""
    sums = (
        allocation.lazy()
        .group_by(_days(allocation), SEGMENT)
        .agg(
            *(pl.col(c).sum() for c in SEGMENT_FLOW_COLUMNS.values()),
            pl.col("delta").sum().alias("net_new_mrr"),
        )
        .collect()
    )
    return _named(sums, settings)


def segment_counts(allocation: Allocation, columns: dict[str, str]) -> pl.DataFrame:
    """Per month and segment: distinct customers with some amount of each kind (`columns`:
    kind → count column)."""
    counts = (
        allocation.lazy()
        .group_by("month", SEGMENT)
        .agg(
            pl.col(CUSTOMER)
            .filter(pl.col(SEGMENT_FLOW_COLUMNS[kind]) > 0)
            .n_unique()
            .cast(pl.Int64)
            .alias(column)
            for kind, column in columns.items()
        )
        .collect()
    )
    return _named(counts, None)


def segment_retention(month_ends: Allocation, settings: Settings | None = None) -> pl.DataFrame:
    """Per month and segment, over customers paying in the segment at the previous month end
    (month-end allocation at customer level): NRR/GRR numerators, with transfers retained
    (retained = a_v + moved_out − moved_in), and the customers arriving at and leaving 0."""
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    retained = after + pl.col("moved_out_mrr") - pl.col("moved_in_mrr")
    paying = before > 0
    sums = (
        month_ends.lazy()
        .group_by(_days(month_ends), SEGMENT)
        .agg(
            (retained - before).filter(paying).sum().alias("_cohort_net"),
            (before - retained).clip(lower_bound=0).filter(paying).sum().alias("_cohort_loss"),
            ((before == 0) & (after > 0)).sum().cast(pl.Int64).alias("_arrivals"),
            ((before > 0) & (after == 0)).sum().cast(pl.Int64).alias("_departures"),
        )
        .collect()
    )
    return _named(sums, settings)


def segment_audit(allocation: pl.DataFrame) -> pl.DataFrame:
    """The allocation as one row per (key, day, segment, kind) with an amount: `_key, date,
    month, segment, movement, mrr_before, mrr_after, amount`."""
    kinds = list(SEGMENT_FLOW_COLUMNS.values())
    names = dict(zip(kinds, SEGMENT_FLOW_COLUMNS, strict=True))
    return (
        allocation.unpivot(
            index=[KEY, "date", "month", SEGMENT, "mrr_before", "mrr_after"],
            on=kinds,
            variable_name="movement",
            value_name="amount",
        )
        .filter(pl.col("amount") > 0)
        .with_columns(
            pl.col(SEGMENT).cast(pl.String),
            pl.col("movement").replace_strict(names).cast(SEGMENT_MOVEMENT),
        )
    )
