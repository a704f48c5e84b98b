"""The report tables per (month or --period, segment) (SPEC §9, §5), from combined segment
sums: the columns of §7.1 with `segment` after `month`, `moved_in_mrr`/`moved_out_mrr` in
`movements`, each segment's ratios from its own flows, NRR/GRR over the customers paying in it
at the opening (of the row and twelve month ends before its close). Rows of a segment with
nothing in a month or period (no MRR, no flow) are left out.
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
    with_retention_sums,
)
from mrrcli.engine.partials import Combined
from mrrcli.engine.periods import (
    period_key,
    reported_rows,
    rolled_up,
)
from mrrcli.engine.segment_periods import segment_lagged_levels
from mrrcli.engine.segment_totals import (
    SEGMENT_MOVEMENTS_COLUMNS,
    SegmentSums,
    check_segment_identities,
)
from mrrcli.engine.segments import SEGMENT, SEGMENT_FLOW_COLUMNS
from mrrcli.vocabulary import (
    COUNT_COLUMNS,
    EXPANSION_COLUMNS,
    METRICS_COLUMNS,
    Period,
    Settings,
)


def _segmented(columns: tuple[str, ...]) -> tuple[str, ...]:
    """A report's columns with `segment` after `month`."""
    return (columns[0], SEGMENT, *columns[1:])


def _sums(combined: Combined) -> SegmentSums:
    assert combined.segments is not None, "segments were not asked of the partials"
    return combined.segments


def segment_rows(flows: pl.DataFrame, movements: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Segment movements (every month × segment, those before --from included) → one row per
    (period, segment): SEGMENT_MOVEMENTS_COLUMNS with `month` the period's first day, and
    `_first`, `_last` its first and last reported months. Identities checked per period."""
    month = pl.col("month")
    if settings.period == Period.month:
        return flows.with_columns(month.alias("_first"), month.alias("_last"))
    # A segment holds rows in the months of its life only (engine.segment_totals): the
    # period's days and its first and last months are the report's, not the segment's.
    periods = rolled_up(movements, settings)
    table = (
        flows.sort(SEGMENT, "month")
        .with_columns(period_key(month, settings).alias("_period"))
        .filter(pl.col("_period").is_not_null())
        .group_by("_period", SEGMENT, maintain_order=True)
        .agg(
            pl.col("opening_mrr").first(),
            *(pl.col(c).sum() for c in SEGMENT_FLOW_COLUMNS.values()),
            pl.col("closing_mrr").last(),
        )
        .rename({"_period": "month"})
        .join(periods.select("month", "days", "_first", "_last"), on="month", how="left")
        .with_columns((pl.col("closing_mrr") - pl.col("opening_mrr")).alias("net_new_mrr"))
        .sort("month", SEGMENT)
        .select(*SEGMENT_MOVEMENTS_COLUMNS, "_first", "_last")
    )
    check_segment_identities(table.select(SEGMENT_MOVEMENTS_COLUMNS), periods)
    return table


def _rows(combined: Combined) -> pl.DataFrame:
    """Every (month or period, segment), those before --from included (rates look back)."""
    return segment_rows(_sums(combined).flows, combined.movements, combined.settings)


def _active(table: pl.DataFrame) -> pl.DataFrame:
    """Rows of a segment with MRR or a flow in the month."""
    money = ["opening_mrr", "closing_mrr", *SEGMENT_FLOW_COLUMNS.values()]
    return table.filter(pl.any_horizontal(pl.col(c) != 0 for c in money))


def segment_movements_table(combined: Combined) -> pl.DataFrame:
    """`movements --by`: SEGMENT_MOVEMENTS_COLUMNS (net_new_mrr = closing − opening)."""
    table = reported_rows(_rows(combined), combined.settings)
    return _active(table).select(SEGMENT_MOVEMENTS_COLUMNS)


def _with_counts(table: pl.DataFrame, combined: Combined) -> pl.DataFrame:
    counts = _sums(combined).counts
    assert counts is not None, "counts were not asked of the partials"
    return table.join(counts, on=["month", SEGMENT], how="left").with_columns(
        pl.col(c).fill_null(0) for c in COUNT_COLUMNS.values()
    )


def segment_expansion_table(combined: Combined, days_per_month: Fraction) -> pl.DataFrame:
    """`expansion --by`: each segment's expansion, its day-normalized value, rate and shares."""
    table = _with_counts(_rows(combined), combined).sort(SEGMENT, "month")
    expansion, days, new = pl.col("expansion_mrr"), pl.col("days"), pl.col("new_mrr")
    standard = days_per_month * combined.settings.period.months
    table = table.with_columns(
        daynorm(expansion, standard).alias("expansion_mrr_daynorm"),
        rate_of_change(
            expansion, days, expansion.shift(1).over(SEGMENT), days.shift(1).over(SEGMENT)
        ).alias("expansion_rate"),
        ratio(expansion, pl.col("opening_mrr")).alias("expansion_pct_of_opening"),
        ratio(expansion, new).alias("expansion_to_new"),
        benchmark_met(expansion, new).alias("benchmark_met"),
    )
    table = _active(reported_rows(table, combined.settings)).sort("month", SEGMENT)
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
    retained) of the month or period and of the trailing twelve months, ARPA and distinct
    customers."""
    sums = _sums(combined)
    table = _with_counts(reported_rows(_rows(combined), combined.settings), combined)
    paying = _paying(sums)
    # Customers paying in the segment at the close: the running count at the row's last month.
    table = table.sort("_last").join_asof(
        paying.select(pl.col("month").alias("_last"), SEGMENT, "_paying").sort("_last"),
        on="_last",
        by=SEGMENT,
        strategy="backward",
        check_sortedness=False,
    )
    table = _with_retention(table.with_columns(pl.col("_paying").fill_null(0)), combined)
    table = table.with_columns(_metric_columns())
    opening_counts = paying.select(
        pl.col("month").dt.offset_by("1mo").alias("_first"),
        SEGMENT,
        pl.col("_paying").alias("_open"),
    ).sort("_first")
    table = table.sort("_first").join_asof(
        opening_counts, on="_first", by=SEGMENT, strategy="backward", check_sortedness=False
    )
    table = table.with_columns(pl.col("_open").fill_null(0).alias("customers_opening"))
    table = _active(table).sort("month", SEGMENT)
    return _round_ratios(table.select(_segmented(METRICS_COLUMNS)))


def _with_retention(table: pl.DataFrame, combined: Combined) -> pl.DataFrame:
    """Each row's NRR/GRR sums (`_base`, `_kept`, `_capped`) over the customers paying in the
    segment at its opening, transfers retained (retained = closing + moved_out − moved_in),
    and the same over the trailing twelve months to its close (suffixed `_ttm`)."""
    sums = _sums(combined)
    assert sums.lagged is not None, "retention was not asked of the partials"
    levels = segment_lagged_levels(sums.lagged)
    monthly = _paying(sums).drop("_paying")
    return with_retention_sums(table, levels, monthly, combined.settings, by=(SEGMENT,))


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
