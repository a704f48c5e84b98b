"""Cohorts (SPEC §10): retention by the month a key first paid, and its age.

A key's cohort is the month of its first change (its first day, or month end, with MRR > 0:
its `new` movement under the strict scope); it stays there for ever. The cells are built from
the classified changes alone, never from a customer × month spine: a key's month-end MRR moves
only in months where it changes, so each (cohort, month) gets the members' flows and the
change of their month-end MRR, of their MRR capped at their base (GRR) and of their paying
count; the table adds those changes up month by month. Every sum is additive over customers,
so partials of disjoint customers add up to the whole run (`summed_cells`). With --by, each
key also carries the segment it started in (engine.cohort_segments) and the cells are per
(cohort, segment, month): the same sums, one level finer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from mrrcli.engine.keys import CUSTOMER, KEY
from mrrcli.engine.ratios import rounded_quotient
from mrrcli.engine.segments import SEGMENT
from mrrcli.engine.totals import IdentityError, last_month, month_start
from mrrcli.vocabulary import (
    COHORTS_COLUMNS,
    MOVEMENT_COLUMNS,
    RATIO_DECIMALS,
    Level,
    Settings,
)

COHORT = "_cohort"  # the first day of the cohort month
FLOW_COLUMNS = tuple(MOVEMENT_COLUMNS.values())
# The additive sums of a cell: flows, the net change of month-end MRR (`_net`), of MRR capped
# at each member's base (`_capped`), paying members arriving at and leaving 0, and in the
# cohort month its base, the part of it the broad scope calls expansion, and its members.
CELL_SUMS = (
    *FLOW_COLUMNS,
    "_net",
    "_capped",
    "_arrivals",
    "_departures",
    "_base",
    "_converted",
    "_joined",
)
ALL = "all"  # the cohort of the weighted-average rows
# The report's columns with --by: a `segment` column after `cohort` (§10).
SEGMENT_COHORTS_COLUMNS = (COHORTS_COLUMNS[0], SEGMENT, *COHORTS_COLUMNS[1:])


def _groups(cells: pl.DataFrame) -> list[str]:
    """What a frame of cells is per, besides the month: the cohort, and the segment with --by."""
    return [COHORT, *([SEGMENT] if SEGMENT in cells.columns else [])]


def cohort_cells(
    changes: pl.DataFrame, settings: Settings, segments: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Classified changes (timeline.classified_changes, sorted by key and date) → per
    (cohort, month) with a change: the CELL_SUMS, up to the last reported month. With
    `segments` (`_key, segment`: the segment each key started in), per (cohort, segment,
    month)."""
    key = pl.col(KEY)
    first = (key != key.shift(1)).fill_null(True)
    tagged = changes.filter(pl.col("month") <= pl.lit(last_month(settings))).with_columns(
        first.alias("_first"),
        pl.when(first).then(pl.col("month")).forward_fill().alias(COHORT),
        pl.when(first).then(pl.col("mrr_after")).forward_fill().alias("_base_c"),
    )
    groups = [COHORT]
    if segments is not None:
        tagged = tagged.join(segments, on=KEY, how="left", maintain_order="left")
        groups.append(SEGMENT)
    is_first = pl.col("_first")
    flows = tagged.group_by(*groups, "month").agg(
        *(
            pl.col("amount").filter(pl.col("movement") == movement).sum().alias(column)
            for movement, column in MOVEMENT_COLUMNS.items()
        ),
        pl.col("delta").sum().alias("_net"),
        pl.col("mrr_after").filter(is_first).sum().alias("_base"),
        pl.col("amount").filter(is_first & (pl.col("movement") != "new")).sum().alias("_converted"),
    )
    ends = _month_ends(tagged, groups)
    capped = ends.group_by(*groups, "month").agg(
        (pl.min_horizontal("_base_c", "_end") - pl.min_horizontal("_base_c", "_start"))
        .sum()
        .alias("_capped")
    )
    paying = _paying_units(ends, settings.level, groups)
    return (
        flows.join(capped, on=[*groups, "month"], how="left")
        .join(paying, on=[*groups, "month"], how="left")
        .select(*groups, "month", *(pl.col(c).fill_null(0).cast(pl.Int64) for c in CELL_SUMS))
    )


def _month_ends(tagged: pl.DataFrame, groups: list[str]) -> pl.DataFrame:
    """Each key's last change of each month with a change: its MRR at that month's end
    (`_end`) and at the previous month's end (`_start`, the end of its previous change)."""
    key, month = pl.col(KEY), pl.col("month")
    last_of_month = ((key != key.shift(-1)) | (month != month.shift(-1))).fill_null(True)
    ends = tagged.filter(last_of_month).select(
        KEY, CUSTOMER, *groups, "month", "_base_c", pl.col("mrr_after").alias("_end")
    )
    same_key = (key == key.shift(1)).fill_null(False)
    return ends.with_columns(
        pl.when(same_key).then(pl.col("_end").shift(1)).otherwise(0).alias("_start")
    )


def _paying_units(ends: pl.DataFrame, level: Level, groups: list[str]) -> pl.DataFrame:
    """Per (cohort[, segment], month): members arriving at and leaving 0 MRR at the month
    end, and the members that joined. A member is a customer: at subscription level, a
    customer's keys of one cohort (and segment) together (so `customers_new` is
    `new_customers` of `metrics`)."""
    units = ends
    if level == Level.subscription:
        start, end = pl.col("_start"), pl.col("_end")
        units = (
            ends.group_by(CUSTOMER, *groups, "month")
            .agg((end - start).sum().alias("_delta"))
            .sort(CUSTOMER, *groups, "month")
            .with_columns(pl.col("_delta").cum_sum().over(CUSTOMER, *groups).alias("_end"))
            .with_columns((pl.col("_end") - pl.col("_delta")).alias("_start"))
        )
    start, end = pl.col("_start"), pl.col("_end")
    return units.group_by(*groups, "month").agg(
        ((start == 0) & (end > 0)).sum().alias("_arrivals"),
        ((start > 0) & (end == 0)).sum().alias("_departures"),
        (pl.col("month") == pl.col(COHORT)).sum().alias("_joined"),
    )


def summed_cells(frames: Sequence[pl.DataFrame | None]) -> pl.DataFrame | None:
    """Cells of partials of disjoint customers added up, cell by cell."""
    present = [f for f in frames if f is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return pl.concat(present).group_by(*_groups(present[0]), "month").sum()


def _ratio(numerator: str, denominator: str) -> pl.Expr:
    """numerator ÷ denominator rounded to 6 places half away from zero, exactly
    (engine.ratios), null when the denominator is 0."""
    return rounded_quotient(pl.col(numerator), pl.col(denominator), RATIO_DECIMALS)


def _cells_over_months(cells: pl.DataFrame, months: pl.Series) -> pl.DataFrame:
    """Every cohort (and segment) × every month from its cohort month on, with the running
    levels: `mrr`, the capped MRR, paying members, and the cohort's base and members."""
    groups = _groups(cells)
    spine = (
        cells.select(groups)
        .unique()
        .join(months.alias("month").to_frame(), how="cross")
        .filter(pl.col("month") >= pl.col(COHORT))
    )
    table = (
        spine.join(cells, on=[*groups, "month"], how="left")
        .with_columns(pl.col(CELL_SUMS).fill_null(0))
        .sort(*groups, "month")
    )
    running = pl.col("_arrivals") - pl.col("_departures")
    return table.with_columns(
        pl.col("_net").cum_sum().over(groups).alias("mrr"),
        pl.col("_capped").cum_sum().over(groups).alias("_capped_mrr"),
        running.cum_sum().over(groups).alias("customers_active"),
        pl.col("_base").sum().over(groups).alias("base_mrr"),
        pl.col("_joined").sum().over(groups).alias("customers_new"),
    )


def check_cohorts(table: pl.DataFrame, movements: pl.DataFrame) -> None:
    """The identities of §10, every run: each month, the cohorts' MRR adds up to closing MRR;
    each cohort's base is its month's new MRR (under the broad scope, with the conversions it
    calls expansion); each cohort's MRR moves by its flows."""
    flows = (
        pl.col("new_mrr")
        + pl.col("expansion_mrr")
        + pl.col("reactivation_mrr")
        - pl.col("contraction_mrr")
        - pl.col("churned_mrr")
    )
    broken = table.filter(flows != pl.col("_net"))
    if broken.height:
        raise IdentityError(
            f"cohort {broken.get_column(COHORT)[0]}: MRR does not move by its flows"
        )
    by_month = table.group_by("month").agg(
        pl.col("mrr").sum().alias("_cohorts_mrr"),
        (pl.col("_base") - pl.col("_converted")).sum().alias("_cohorts_new"),
    )
    joined = movements.join(by_month, on="month", how="left").with_columns(
        pl.col("_cohorts_mrr", "_cohorts_new").fill_null(0)
    )
    for level, column in (("_cohorts_mrr", "closing_mrr"), ("_cohorts_new", "new_mrr")):
        broken = joined.filter(pl.col(level) != pl.col(column))
        if broken.height:
            month = broken.get_column("month")[0]
            raise IdentityError(f"cohorts do not add up to {column} in {month}")


def cohorts_table(
    cells: pl.DataFrame | None, movements: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """The `cohorts` report (§10): a row per cohort and age up to the last reported month,
    then the weighted-average rows (`cohort = all`); money in minor units. Cohorts before
    --from are left out (after the identities are checked on all of them). Cells per
    segment (a `segment` column) give a row per cohort, segment and age, and the averages
    per segment and age."""
    months = movements.get_column("month")
    segmented = cells is not None and SEGMENT in cells.columns
    if cells is None or cells.height == 0 or months.len() == 0:
        return _empty(segmented)
    table = _cells_over_months(cells, months)
    check_cohorts(table, movements)
    if settings.month_from is not None:
        table = table.filter(pl.col(COHORT) >= pl.lit(settings.month_from))
    months_since = (pl.col("month").dt.year() - pl.col(COHORT).dt.year()) * 12
    months_since += pl.col("month").dt.month().cast(pl.Int32) - pl.col(COHORT).dt.month()
    to_date = _partial_month(settings)
    partial = pl.lit(False) if to_date is None else pl.col("month") == pl.lit(to_date)
    table = table.with_columns(
        pl.col(COHORT).dt.strftime("%Y-%m").alias("cohort"),
        months_since.cast(pl.Int64).alias("age"),
        partial.alias("partial"),
    )
    by = [SEGMENT] if segmented else []
    rows = pl.concat([table, _weighted_average(table, by)], how="diagonal_relaxed")
    return rows.with_columns(
        _ratio("customers_active", "customers_new").alias("logo_retention"),
        _ratio("mrr", "base_mrr").alias("nrr"),
        _ratio("_capped_mrr", "base_mrr").alias("grr"),
    ).select(SEGMENT_COHORTS_COLUMNS if segmented else COHORTS_COLUMNS)


def _weighted_average(table: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per age (per segment and age with --by), over the cohorts whose month at that age is
    complete: the sums of every cohort column (their ratios are then ratios of sums)."""
    sums = ["customers_new", "base_mrr", "customers_active", "mrr", *FLOW_COLUMNS, "_capped_mrr"]
    return (
        table.filter(~pl.col("partial"))
        .group_by(*by, "age")
        .agg(pl.col(sums).sum())
        .sort(*by, "age")
        .with_columns(
            pl.lit(ALL).alias("cohort"),
            pl.lit(None, dtype=pl.Date).alias("month"),
            pl.lit(False).alias("partial"),
        )
    )


def _partial_month(settings: Settings) -> date | None:
    """The month to date, if the report reaches it (its as-of day is not its last)."""
    as_of = settings.as_of
    if as_of.month == 12:
        is_last = as_of.day == 31
    else:
        is_last = (as_of.replace(day=1, month=as_of.month + 1) - as_of).days == 1
    if is_last or last_month(settings) != month_start(as_of):
        return None
    return month_start(as_of)


def _empty(segmented: bool = False) -> pl.DataFrame:
    columns = SEGMENT_COHORTS_COLUMNS if segmented else COHORTS_COLUMNS
    schema: dict[str, pl.DataType] = {c: pl.Int64() for c in columns}
    schema.update(
        cohort=pl.String(),
        month=pl.Date(),
        partial=pl.Boolean(),
        logo_retention=pl.Float64(),
        nrr=pl.Float64(),
        grr=pl.Float64(),
    )
    if segmented:
        schema[SEGMENT] = pl.String()
    return pl.DataFrame(schema=schema)
