"""Ratios, rates and counts derived from the movements (SPEC §5, §6).

Functions take the classified changes and monthly totals (minor units) and return frames in
minor units for money and Float64 for ratios; a ratio with a zero denominator is null.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from mrrcli.engine.timeline import CUSTOMER, Settings
from mrrcli.engine.totals import MOVEMENT_COLUMNS, monthly_totals

BENCHMARK_EXPANSION_TO_NEW = 0.30
RATIO_DECIMALS = 6

EXPANSION_COLUMNS = (
    "month",
    "days",
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "expansion_mrr_daynorm",
    "expansion_rate",
    "expansion_pct_of_opening",
    "expansion_to_new",
    "benchmark_met",
    "expanded_customers",
)
METRICS_COLUMNS = (
    "month",
    "opening_mrr",
    "closing_mrr",
    "net_new_mrr",
    "mrr_growth_rate",
    "quick_ratio",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "nrr",
    "grr",
    "arpa",
    "customers_opening",
    "customers_closing",
    "new_customers",
    "expanded_customers",
    "contracted_customers",
    "churned_customers",
    "reactivated_customers",
)
COUNT_COLUMNS = {
    "new": "new_customers",
    "expansion": "expanded_customers",
    "contraction": "contracted_customers",
    "churn": "churned_customers",
    "reactivation": "reactivated_customers",
}


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator ÷ denominator, null when the denominator is 0 (never inf or an error)."""
    return (
        pl.when(denominator != 0)
        .then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))
        .otherwise(None)
    )


def daynorm(value: pl.Expr, settings: Settings) -> pl.Expr:
    """A flow at a standard month's pace: value × days_per_month ÷ days (§5), unrounded."""
    dpm = settings.days_per_month
    return value.cast(pl.Float64) * (dpm.numerator / dpm.denominator) / pl.col("days")


def movement_counts(changes: pl.DataFrame) -> pl.DataFrame:
    """Per month: distinct customers with at least one movement of each kind."""
    return changes.group_by("month").agg(
        pl.col(CUSTOMER)
        .filter(pl.col("movement") == movement)
        .n_unique()
        .cast(pl.Int64)
        .alias(column)
        for movement, column in COUNT_COLUMNS.items()
    )


def _with_counts(table: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    counts = movement_counts(changes)
    return table.join(counts, on="month", how="left").with_columns(
        pl.col(c).fill_null(0) for c in COUNT_COLUMNS.values()
    )


def expansion_table(changes: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The `expansion` report: Expansion MRR, its day-normalized value and rate, shares."""
    # The rate of the first reported month needs the month before it, when there is one.
    start = settings.month_from
    if start is not None and changes.height:
        earliest = changes.get_column("month").min()
        if earliest is not None and earliest < start:  # type: ignore[operator]
            start = earliest  # type: ignore[assignment]
    full = monthly_totals(changes, replace(settings, month_from=start))
    table = _with_counts(full, changes).sort("month")
    e = pl.col("expansion_mrr_daynorm")
    table = table.with_columns(
        daynorm(pl.col("expansion_mrr"), settings).alias(e.meta.output_name())
    )
    table = table.with_columns(
        ratio(e - e.shift(1), e.shift(1)).alias("expansion_rate"),
        ratio(pl.col("expansion_mrr"), pl.col("opening_mrr")).alias("expansion_pct_of_opening"),
        ratio(pl.col("expansion_mrr"), pl.col("new_mrr")).alias("expansion_to_new"),
    ).with_columns(
        (pl.col("expansion_to_new") >= BENCHMARK_EXPANSION_TO_NEW).alias("benchmark_met"),
    )
    if settings.month_from is not None:
        table = table.filter(pl.col("month") >= pl.lit(settings.month_from))
    # expansion_mrr_daynorm stays unrounded, in minor units: the report rounds it in major units.
    return _round_ratios(table.select(EXPANSION_COLUMNS), keep=("expansion_mrr_daynorm",))


def needs_month_ends(settings: Settings) -> bool:
    """Whether metrics need customer month-end changes besides the report's own changes."""
    return not (
        settings.mode == "snapshot" and settings.level == "customer" and settings.scope == "strict"
    )


def metrics_table(
    changes: pl.DataFrame, settings: Settings, month_ends: pl.DataFrame
) -> pl.DataFrame:
    """The `metrics` report: growth, quick ratio, churn rates, NRR/GRR, ARPA, counts.

    Cohorts and counts come from `month_ends`, customer-level month-end changes (the report's
    own changes when needs_month_ends is False)."""
    table = _with_counts(monthly_totals(changes, settings), changes)
    before, after = pl.col("mrr_before"), pl.col("mrr_after")
    cohort = before > 0
    per_month = month_ends.group_by("month").agg(
        (after - before).filter(cohort).sum().alias("_cohort_net"),
        (before - after).clip(lower_bound=0).filter(cohort).sum().alias("_cohort_loss"),
        ((before == 0) & (after > 0)).sum().cast(pl.Int64).alias("_arrivals"),
        ((before > 0) & (after == 0)).sum().cast(pl.Int64).alias("_departures"),
    )
    # Paying customers at each month end: a running count of arrivals minus departures.
    paying = (
        per_month.sort("month")
        .with_columns((pl.col("_arrivals") - pl.col("_departures")).cum_sum().alias("_paying"))
        .select("month", "_cohort_net", "_cohort_loss", "_paying")
    )
    table = table.sort("month").join_asof(
        paying.select("month", "_paying"), on="month", strategy="backward"
    )
    table = table.join(paying.drop("_paying"), on="month", how="left").with_columns(
        pl.col("_cohort_net", "_cohort_loss", "_paying").fill_null(0)
    )
    opening = pl.col("opening_mrr")
    closing = pl.col("closing_mrr")
    inflow = pl.col("new_mrr") + pl.col("expansion_mrr") + pl.col("reactivation_mrr")
    outflow = pl.col("contraction_mrr") + pl.col("churned_mrr")
    table = table.sort("month").with_columns(
        ratio(closing - opening, opening).alias("mrr_growth_rate"),
        ratio(inflow, outflow).alias("quick_ratio"),
        ratio(outflow, opening).alias("gross_mrr_churn_rate"),
        ratio(outflow - pl.col("expansion_mrr") - pl.col("reactivation_mrr"), opening).alias(
            "net_mrr_churn_rate"
        ),
        ratio(opening + pl.col("_cohort_net"), opening).alias("nrr"),
        ratio(opening - pl.col("_cohort_loss"), opening).alias("grr"),
        # ARPA is money: rounded half away from zero to the minor unit (closing is never < 0).
        pl.when(pl.col("_paying") > 0)
        .then((2 * closing + pl.col("_paying")) // (2 * pl.col("_paying")))
        .otherwise(None)
        .alias("arpa"),
        pl.col("_paying").alias("customers_closing"),
    )
    # The opening count is the closing count of the month before, including unreported months.
    opening_counts = paying.select(
        pl.col("month").dt.offset_by("1mo").alias("month"), pl.col("_paying").alias("_open")
    )
    table = table.join_asof(opening_counts.sort("month"), on="month", strategy="backward")
    table = table.with_columns(pl.col("_open").fill_null(0).alias("customers_opening"))
    return _round_ratios(table.select(METRICS_COLUMNS))


def _round_ratios(table: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """Ratios as numbers rounded to 6 places (§7.1); `keep` columns stay as they are."""
    floats = [c for c, t in table.schema.items() if t == pl.Float64 and c not in keep]
    return table.with_columns(pl.col(floats).round(RATIO_DECIMALS))


__all__ = [
    "EXPANSION_COLUMNS",
    "METRICS_COLUMNS",
    "MOVEMENT_COLUMNS",
    "expansion_table",
    "metrics_table",
]
