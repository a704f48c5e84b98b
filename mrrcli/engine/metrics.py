"""The report tables, from combined partials: ratios, rates and counts (SPEC §5, §6, §7.1).

Every ratio is computed from summed numerators and denominators, never averaged over parts.
Money stays in Int64 minor units; ratios are Float64 rounded to 6 places; a ratio with a zero
denominator is null.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import polars as pl

from mrrcli.engine.partials import RETENTION_COLUMNS, Combined
from mrrcli.engine.periods import (
    LAGGED_COLUMNS,
    TTM_MONTHS,
    lagged_levels,
    reported_rows,
    rolled_up,
    row_lag,
)
from mrrcli.engine.ratios import rounded_quotient
from mrrcli.vocabulary import (
    BENCHMARK_EXPANSION_TO_NEW,
    COUNT_COLUMNS,
    EXPANSION_COLUMNS,
    METRICS_COLUMNS,
    MOVEMENTS_COLUMNS,
    RATIO_DECIMALS,
    Period,
    Settings,
)


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator ÷ denominator (integers: minor units, counts, products of days) rounded to 6
    places half away from zero, exactly (engine.ratios); null when the denominator is 0."""
    return rounded_quotient(numerator, denominator, RATIO_DECIMALS)


def rate_of_change(value: pl.Expr, days: pl.Expr, before: pl.Expr, days_before: pl.Expr) -> pl.Expr:
    """The change of a day-normalized flow from one month (or period) to the next, exactly:
    (v/d − v₀/d₀) ÷ (v₀/d₀) = (v·d₀ − v₀·d) ÷ (v₀·d); the standard month cancels out."""
    return ratio(value * days_before - before * days, before * days)


def benchmark_met(expansion: pl.Expr, new: pl.Expr) -> pl.Expr:
    """expansion ≥ 30% of new MRR, compared exactly in integers; null without new MRR."""
    share = Fraction(str(BENCHMARK_EXPANSION_TO_NEW))
    met = expansion * share.denominator >= new * share.numerator
    return pl.when(new != 0).then(met).otherwise(None)


def daynorm(value: pl.Expr, days_per_month: Fraction) -> pl.Expr:
    """A flow at a standard month's pace: value × days_per_month ÷ days (§5), unrounded."""
    standard = days_per_month.numerator / days_per_month.denominator
    return value.cast(pl.Float64) * standard / pl.col("days")


def _rows(combined: Combined) -> pl.DataFrame:
    """Every month (or period, engine.periods) with `_first`, `_last`: its first and last
    months; those before --from included, as rates look back."""
    return rolled_up(combined.movements, combined.settings)


def movements_table(combined: Combined) -> pl.DataFrame:
    """The `movements` report (§7.1 columns), money in minor units."""
    return reported_rows(_rows(combined), combined.settings).select(MOVEMENTS_COLUMNS)


def _with_counts(table: pl.DataFrame, combined: Combined) -> pl.DataFrame:
    assert combined.counts is not None, "counts were not asked of the partials"
    return table.join(combined.counts, on="month", how="left").with_columns(
        pl.col(c).fill_null(0) for c in COUNT_COLUMNS.values()
    )


def expansion_table(combined: Combined, days_per_month: Fraction) -> pl.DataFrame:
    """The `expansion` report: Expansion MRR, its day-normalized value and rate, shares.

    The rate of the first reported month (or period) uses the one before it, when there is
    one. A period's flow is normalized to a standard period: n standard months (§5)."""
    table = _with_counts(_rows(combined), combined).sort("month")
    e = pl.col("expansion_mrr_daynorm")
    standard = days_per_month * combined.settings.period.months
    table = table.with_columns(
        daynorm(pl.col("expansion_mrr"), standard).alias(e.meta.output_name())
    )
    expansion, days, new = pl.col("expansion_mrr"), pl.col("days"), pl.col("new_mrr")
    table = table.with_columns(
        rate_of_change(expansion, days, expansion.shift(1), days.shift(1)).alias("expansion_rate"),
        ratio(expansion, pl.col("opening_mrr")).alias("expansion_pct_of_opening"),
        ratio(expansion, new).alias("expansion_to_new"),
        benchmark_met(expansion, new).alias("benchmark_met"),
    )
    table = reported_rows(table, combined.settings)
    # expansion_mrr_daynorm stays unrounded, in minor units: the report rounds it in major units.
    return _round_ratios(table.select(EXPANSION_COLUMNS), keep=("expansion_mrr_daynorm",))


def _paying(combined: Combined) -> pl.DataFrame:
    """Per month with a month-end change: the NRR/GRR numerators and `_paying`, customers
    paying at the month end (a running count of arrivals less departures)."""
    assert combined.retention is not None, "retention was not asked of the partials"
    return (
        combined.retention.sort("month")
        .with_columns((pl.col("_arrivals") - pl.col("_departures")).cum_sum().alias("_paying"))
        .select("month", *RETENTION_COLUMNS[:2], "_paying")
    )


def metrics_table(combined: Combined) -> pl.DataFrame:
    """The `metrics` report: growth, quick ratio, churn rates, NRR/GRR (of the month or period
    and of the trailing twelve months), ARPA, counts."""
    table = _with_counts(reported_rows(_rows(combined), combined.settings), combined)
    paying = _paying(combined)
    # Customers paying at the close: the running count at the last month end of the row.
    table = table.sort("month").join_asof(
        paying.select(pl.col("month").alias("_last"), "_paying"), on="_last", strategy="backward"
    )
    table = _with_retention(table.with_columns(pl.col("_paying").fill_null(0)), combined)
    table = table.sort("month").with_columns(_metric_columns())
    # The opening count is the closing count of the month before, including unreported months.
    opening_counts = paying.select(
        pl.col("month").dt.offset_by("1mo").alias("_first"), pl.col("_paying").alias("_open")
    )
    table = table.join_asof(opening_counts.sort("_first"), on="_first", strategy="backward")
    table = table.with_columns(pl.col("_open").fill_null(0).alias("customers_opening"))
    return _round_ratios(table.select(METRICS_COLUMNS))


def _with_retention(table: pl.DataFrame, combined: Combined) -> pl.DataFrame:
    """The NRR/GRR sums of each row (`_base`, `_kept`, `_capped`: opening MRR of the customers
    paying at its opening, their MRR at its close, and capped at their opening) and of the
    trailing twelve months to its close (the same, suffixed `_ttm`)."""
    assert combined.lagged is not None, "retention was not asked of the partials"
    levels = lagged_levels(combined.lagged)
    monthly = _paying(combined).drop("_paying")
    return with_retention_sums(table, levels, monthly, combined.settings)


def with_retention_sums(
    table: pl.DataFrame,
    levels: pl.DataFrame,
    monthly: pl.DataFrame,
    settings: Settings,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Rows (`month`, `_last`, `opening_mrr`, and `by`) with their NRR/GRR sums: a month's
    from `monthly` (`_cohort_net`, `_cohort_loss` per month and `by`), a period's from the
    summed levels over spans (`levels`: `lag, month`, `by`, LAGGED_COLUMNS), and the trailing
    twelve months' from the same levels (suffixed `_ttm`)."""
    levels = levels.rename({"lag": "_lag", "month": "_last"})
    ttm = levels.filter(pl.col("_lag") == TTM_MONTHS).drop("_lag")
    table = table.sort("_last").join_asof(
        ttm.rename({c: f"{c}_ttm" for c in LAGGED_COLUMNS}),
        on="_last",
        by=list(by) or None,
        strategy="backward",
        check_sortedness=False,
    )
    if settings.period == Period.month:
        # A month's own: the customers paying at its opening, from the monthly sums.
        table = table.join(monthly, on=["month", *by], how="left")
        opening = pl.col("opening_mrr")
        table = table.with_columns(
            opening.alias("_base"),
            (opening + pl.col("_cohort_net").fill_null(0)).alias("_kept"),
            (opening - pl.col("_cohort_loss").fill_null(0)).alias("_capped"),
        )
    else:
        table = table.with_columns(row_lag(settings)).join_asof(
            levels, on="_last", by=[*by, "_lag"], strategy="backward", check_sortedness=False
        )
    return table.with_columns(
        pl.col(c).fill_null(0) for c in (*LAGGED_COLUMNS, *(f"{c}_ttm" for c in LAGGED_COLUMNS))
    )


def _metric_columns() -> list[pl.Expr]:
    """The ratios of `metrics` from a month's sums (§6), and ARPA and the closing count."""
    opening = pl.col("opening_mrr")
    closing = pl.col("closing_mrr")
    inflow = pl.col("new_mrr") + pl.col("expansion_mrr") + pl.col("reactivation_mrr")
    outflow = pl.col("contraction_mrr") + pl.col("churned_mrr")
    return [
        ratio(closing - opening, opening).alias("mrr_growth_rate"),
        ratio(inflow, outflow).alias("quick_ratio"),
        ratio(outflow, opening).alias("gross_mrr_churn_rate"),
        ratio(outflow - pl.col("expansion_mrr") - pl.col("reactivation_mrr"), opening).alias(
            "net_mrr_churn_rate"
        ),
        ratio(pl.col("_kept"), pl.col("_base")).alias("nrr"),
        ratio(pl.col("_capped"), pl.col("_base")).alias("grr"),
        ratio(pl.col("_kept_ttm"), pl.col("_base_ttm")).alias("nrr_ttm"),
        ratio(pl.col("_capped_ttm"), pl.col("_base_ttm")).alias("grr_ttm"),
        # ARPA is money: rounded half away from zero to the minor unit (closing is never < 0).
        pl.when(pl.col("_paying") > 0)
        .then((2 * closing + pl.col("_paying")) // (2 * pl.col("_paying")))
        .otherwise(None)
        .alias("arpa"),
        pl.col("_paying").alias("customers_closing"),
    ]


def all_metrics_table(combined: Combined, days_per_month: Fraction) -> pl.DataFrame:
    """Movements, expansion and metrics columns side by side, one row per month (for check)."""
    table = movements_table(combined)
    for extra in (expansion_table(combined, days_per_month), metrics_table(combined)):
        new_columns = [c for c in extra.columns if c not in table.columns]
        table = table.join(extra.select("month", *new_columns), on="month", how="left")
    return table.sort("month")


def _round_ratios(table: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """Ratios as numbers rounded to 6 places (§7.1); `keep` columns stay as they are."""
    floats = [c for c, t in table.schema.items() if t == pl.Float64 and c not in keep]
    return table.with_columns(pl.col(floats).round(RATIO_DECIMALS))
