"""The report tables per (month, segment) (SPEC §9), from combined segment sums: the columns
of §7.1 with `segment` after `month`, `moved_in_mrr`/`moved_out_mrr` in `movements`, each
segment's ratios from its own flows, NRR/GRR over the customers paying in it at the opening.
Rows of a segment with nothing in a month (no MRR, no flow) are left out.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from mrrcli.engine.metrics import (
    _metric_columns,
    _round_ratios,
    benchmark_met,
    daynorm,
    rate_of_change,
    ratio,
)
from mrrcli.engine.partials import Combined
from mrrcli.engine.segment_totals import SEGMENT_MOVEMENTS_COLUMNS, SegmentSums
from mrrcli.engine.segments import SEGMENT, SEGMENT_FLOW_COLUMNS
from mrrcli.engine.totals import reported
from mrrcli.vocabulary import (
    COUNT_COLUMNS,
    EXPANSION_COLUMNS,
    METRICS_COLUMNS,
)


def _segmented(columns: tuple[str, ...]) -> tuple[str, ...]:
    """A report's columns with `segment` after `month`."""
    return (columns[0], SEGMENT, *columns[1:])


def _sums(combined: Combined) -> SegmentSums:
    assert combined.segments is not None, "segments were not asked of the partials"
    return combined.segments


def _active(table: pl.DataFrame) -> pl.DataFrame:
    """Rows of a segment with MRR or a flow in the month."""
    money = ["opening_mrr", "closing_mrr", *SEGMENT_FLOW_COLUMNS.values()]
    return table.filter(pl.any_horizontal(pl.col(c) != 0 for c in money))


def segment_movements_table(combined: Combined) -> pl.DataFrame:
    """`movements --by`: SEGMENT_MOVEMENTS_COLUMNS (net_new_mrr = closing − opening)."""
    table = reported(_sums(combined).flows, combined.settings)
    return _active(table).select(SEGMENT_MOVEMENTS_COLUMNS)


def _with_counts(table: pl.DataFrame, combined: Combined) -> pl.DataFrame:
    counts = _sums(combined).counts
    assert counts is not None, "counts were not asked of the partials"
    return table.join(counts, on=["month", SEGMENT], how="left").with_columns(
        pl.col(c).fill_null(0) for c in COUNT_COLUMNS.values()
    )


def segment_expansion_table(combined: Combined, days_per_month: Fraction) -> pl.DataFrame:
    """`expansion --by`: each segment's expansion, its day-normalized value, rate and shares."""
    table = _with_counts(_sums(combined).flows, combined).sort(SEGMENT, "month")
    expansion, days, new = pl.col("expansion_mrr"), pl.col("days"), pl.col("new_mrr")
    table = table.with_columns(
        daynorm(expansion, days_per_month).alias("expansion_mrr_daynorm"),
        rate_of_change(
            expansion, days, expansion.shift(1).over(SEGMENT), days.shift(1).over(SEGMENT)
        ).alias("expansion_rate"),
        ratio(expansion, pl.col("opening_mrr")).alias("expansion_pct_of_opening"),
        ratio(expansion, new).alias("expansion_to_new"),
        benchmark_met(expansion, new).alias("benchmark_met"),
    )
    table = _active(reported(table, combined.settings)).sort("month", SEGMENT)
    return _round_ratios(
        table.select(_segmented(EXPANSION_COLUMNS)), keep=("expansion_mrr_daynorm",)
    )


def _paying(sums: SegmentSums) -> pl.DataFrame:
    """Per segment and month with a month-end change: NRR/GRR numerators and `_paying`, the
    customers paying in the segment at the month end."""
    assert sums.retention is not None, "retention was not asked of the partials"
    moves = pl.col("_arrivals") - pl.col("_departures")
    return (
        sums.retention.sort(SEGMENT, "month")
        .with_columns(moves.cum_sum().over(SEGMENT).alias("_paying"))
        .select("month", SEGMENT, "_cohort_net", "_cohort_loss", "_paying")
    )


def segment_metrics_table(combined: Combined) -> pl.DataFrame:
    """`metrics --by`: each segment's growth, quick ratio, churn rates, NRR/GRR (transfers
    retained), ARPA and distinct customers."""
    sums = _sums(combined)
    table = _with_counts(reported(sums.flows, combined.settings), combined)
    paying = _paying(sums)
    table = table.sort("month").join_asof(
        paying.select("month", SEGMENT, "_paying").sort("month"),
        on="month",
        by=SEGMENT,
        strategy="backward",
        check_sortedness=False,
    )
    table = table.join(paying.drop("_paying"), on=["month", SEGMENT], how="left").with_columns(
        pl.col("_cohort_net", "_cohort_loss", "_paying").fill_null(0)
    )
    # NRR/GRR: retained (closing + moved_out − moved_in of the customers paying in the segment
    # at the opening) over their opening MRR; the rest as for the whole report.
    opening = pl.col("opening_mrr")
    table = table.with_columns(
        opening.alias("_base"),
        (opening + pl.col("_cohort_net")).alias("_kept"),
        (opening - pl.col("_cohort_loss")).alias("_capped"),
        # Trailing-twelve-month NRR/GRR (§10) are not computed per segment yet: empty.
        *(pl.lit(None, pl.Int64).alias(c) for c in ("_base_ttm", "_kept_ttm", "_capped_ttm")),
    ).with_columns(_metric_columns())
    opening_counts = paying.select(
        pl.col("month").dt.offset_by("1mo").alias("month"),
        SEGMENT,
        pl.col("_paying").alias("_open"),
    ).sort("month")
    table = table.sort("month").join_asof(
        opening_counts, on="month", by=SEGMENT, strategy="backward", check_sortedness=False
    )
    table = table.with_columns(pl.col("_open").fill_null(0).alias("customers_opening"))
    table = _active(table).sort("month", SEGMENT)
    # Trailing-twelve-month NRR/GRR (§10) are not computed per segment yet: empty.
    missing = [c for c in METRICS_COLUMNS if c not in table.columns]
    table = table.with_columns(pl.lit(None, pl.Float64).alias(c) for c in missing)
    return _round_ratios(table.select(_segmented(METRICS_COLUMNS)))


def segment_all_metrics_table(combined: Combined, days_per_month: Fraction) -> pl.DataFrame:
    """Movements, expansion and metrics columns per (month, segment), side by side (check)."""
    table = segment_movements_table(combined)
    for extra in (
        segment_expansion_table(combined, days_per_month),
        segment_metrics_table(combined),
    ):
        new_columns = [c for c in extra.columns if c not in table.columns]
        table = table.join(
            extra.select("month", SEGMENT, *new_columns), on=["month", SEGMENT], how="left"
        )
    return table.sort("month", SEGMENT)
