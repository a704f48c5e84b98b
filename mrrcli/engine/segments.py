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

All of it is one sort, window sums and a join: no loop over keys. Largest remainder works
within one key and day, so a partial of whole customers computes its own share.
"""

from __future__ import annotations

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY, with_key
from mrrcli.engine.timeline import POS, _with_calendar
from mrrcli.vocabulary import MOVEMENTS, Settings

SEGMENT = "segment"
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


def _position(day: pl.Expr, settings: Settings) -> pl.Expr:
    """A day's position: days since 1970 (event mode) or months since year 0 (snapshot)."""
    if settings.mode == "snapshot":
        return (day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1).alias(POS)
    return day.cast(pl.Int32).alias(POS)


def segment_runs(rows: pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """Per key, segment and position where the key's MRR in the segment changes: `_key,
    _customer, segment, _pos, mrr_before, mrr_after, delta` (b_v, a_v, Δ_v ≠ 0)."""
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    keyed = with_key(rows, settings)
    if settings.level == "customer":
        keyed = keyed.with_columns(pl.col(KEY).alias(CUSTOMER))
    paying = keyed.filter((pl.col("mrr") != 0) & (pl.col("start_date") <= as_of))
    ids = [KEY, CUSTOMER, SEGMENT]
    starts = paying.select(
        *ids, _position(pl.col("start_date"), settings), pl.col("mrr").alias("delta")
    )
    ends = paying.filter(pl.col("end_date").is_not_null() & (pl.col("end_date") <= as_of)).select(
        *ids, _position(pl.col("end_date"), settings), (-pl.col("mrr")).alias("delta")
    )
    after = pl.col("delta").cum_sum().over(KEY, SEGMENT)
    return (
        pl.concat([starts, ends])
        .group_by(KEY, SEGMENT, POS)
        .agg(pl.col(CUSTOMER).first(), pl.col("delta").sum())
        .sort(KEY, SEGMENT, POS)
        .with_columns(after.alias("mrr_after"))
        .with_columns((pl.col("mrr_after") - pl.col("delta")).alias("mrr_before"))
        .filter(pl.col("delta") != 0)
        .collect()
    )


def _shares(total: pl.Expr, weight: pl.Expr, whole: pl.Expr, group: list[str]) -> pl.Expr:
    """`total` shared over the rows of each group in proportion to `weight` (summing to
    `whole`), in whole minor units by largest remainder. The rows must be sorted by group,
    remainder (largest first) and segment: the leftover units go to the first rows."""
    product = total.cast(pl.Int128) * weight.cast(pl.Int128)
    floor = (product // whole.cast(pl.Int128)).cast(pl.Int64)
    leftover = total - floor.sum().over(group)
    rank = pl.int_range(pl.len()).over(group)
    return floor + (rank < leftover).cast(pl.Int64)


def allocated(runs: pl.DataFrame, changes: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Segment runs (segment_runs) allocated to kinds: `_key, _customer, date, month,
    segment, mrr_before, mrr_after, delta` and one column per kind (SEGMENT_FLOW_COLUMNS),
    the amounts (≥ 0) of the kinds the segment got. `changes`: the unsegmented
    classification of the same rows (timeline.classified_changes)."""
    runs = _with_calendar(runs, settings)
    whole = changes.select(
        KEY, "date", pl.col("movement").alias("_kind"), pl.col("mrr_before").alias("_before")
    )
    group = [KEY, "date"]
    d = pl.col("delta")
    gain, loss = d.clip(lower_bound=0), (-d).clip(lower_bound=0)
    frame = runs.join(whole, on=group, how="left").with_columns(
        gain.sum().over(group).alias("_p"), loss.sum().over(group).alias("_n")
    )
    p, n = pl.col("_p"), pl.col("_n")
    arrival = pl.col("_before").fill_null(-1) == 0
    departure = pl.col("_kind").cast(pl.String).fill_null("") == "churn"
    transfer = ~arrival & ~departure
    # The side that shares T = min(P, N): the gaining side when P ≥ N, else the losing side.
    sharing = transfer & pl.when(p >= n).then(d > 0).otherwise(d < 0)
    weight = d.abs()
    whole_side = pl.when(p >= n).then(p).otherwise(n)
    remainder = (pl.lit(0, pl.Int128) + pl.min_horizontal(p, n)) * weight % whole_side
    frame = frame.with_columns(sharing.alias("_sharing"), remainder.alias("_rem")).sort(
        [KEY, "date", "_sharing", "_rem", SEGMENT], descending=[False, False, False, True, False]
    )
    share = _shares(pl.min_horizontal(p, n), weight, whole_side, [*group, "_sharing"])
    frame = frame.with_columns(
        pl.when(pl.col("_sharing")).then(share).otherwise(weight).alias("_moved")
    )
    return frame.sort(KEY, "date", SEGMENT).select(
        KEY,
        CUSTOMER,
        "date",
        "month",
        SEGMENT,
        "mrr_before",
        "mrr_after",
        "delta",
        *_amounts(arrival, departure, transfer),
    )


def _amounts(arrival: pl.Expr, departure: pl.Expr, transfer: pl.Expr) -> list[pl.Expr]:
    """Each kind's amount of a segment's change (0 when it got none of that kind), from
    `delta` and `_moved`, the part of |Δ_v| that moved between segments."""
    d, moved = pl.col("delta"), pl.col("_moved")
    weight = d.abs()
    kind = pl.col("_kind").cast(pl.String)
    amounts = {
        "new": pl.when(arrival & (kind == "new")).then(d),
        "expansion": pl.when(arrival & (kind == "expansion"))
        .then(d)
        .when(transfer & (d > 0))
        .then(d - moved),
        "reactivation": pl.when(arrival & (kind == "reactivation")).then(d),
        "contraction": pl.when(transfer & (d < 0)).then(weight - moved),
        "churn": pl.when(departure).then(weight),
        "moved_in": pl.when(transfer & (d > 0)).then(moved),
        "moved_out": pl.when(transfer & (d < 0)).then(moved),
    }
    return [
        amount.fill_null(0).cast(pl.Int64).alias(SEGMENT_FLOW_COLUMNS[k])
        for k, amount in amounts.items()
    ]


def segment_changes(
    rows: pl.DataFrame | pl.LazyFrame, settings: Settings, changes: pl.DataFrame
) -> pl.DataFrame:
    """The allocation (see allocated) of rows that carry a `segment` column."""
    return allocated(segment_runs(rows.lazy(), settings), changes, settings)


def segment_flows(allocation: pl.DataFrame) -> pl.DataFrame:
    """Per month and segment with a change: each kind's amount and the net change Σ Δ_v."""
    return allocation.group_by("month", SEGMENT).agg(
        *(pl.col(c).sum() for c in SEGMENT_FLOW_COLUMNS.values()),
        pl.col("delta").sum().alias("net_new_mrr"),
    )


def segment_counts(allocation: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Per month and segment: distinct customers with some amount of each kind (`columns`:
    kind → count column)."""
    return allocation.group_by("month", SEGMENT).agg(
        pl.col(CUSTOMER)
        .filter(pl.col(SEGMENT_FLOW_COLUMNS[kind]) > 0)
        .n_unique()
        .cast(pl.Int64)
        .alias(column)
        for kind, column in columns.items()
    )


def segment_retention(month_ends: pl.DataFrame) -> pl.DataFrame:
    """Per month and segment, over customers paying in the segment at the previous month end
    (month-end allocation at customer level): NRR/GRR numerators, with transfers retained
    (retained = a_v + moved_out − moved_in), and the customers arriving at and leaving 0."""
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    retained = after + pl.col("moved_out_mrr") - pl.col("moved_in_mrr")
    paying = before > 0
    return month_ends.group_by("month", SEGMENT).agg(
        (retained - before).filter(paying).sum().alias("_cohort_net"),
        (before - retained).clip(lower_bound=0).filter(paying).sum().alias("_cohort_loss"),
        ((before == 0) & (after > 0)).sum().cast(pl.Int64).alias("_arrivals"),
        ((before > 0) & (after == 0)).sum().cast(pl.Int64).alias("_departures"),
    )


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
        .with_columns(pl.col("movement").replace_strict(names).cast(SEGMENT_MOVEMENT))
    )
