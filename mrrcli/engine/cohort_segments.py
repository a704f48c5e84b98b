"""Cohorts by segment (SPEC §10, `cohorts --by COLUMN`): each key stays in the segment that
carried most of its MRR on its first paying day (snapshot mode: its first month end with
MRR > 0), ties to the first segment in sort order, and is followed across segments: its cells
count its whole MRR whatever segment its later rows are in. So the cells of a cohort, summed
over its segments, are the cohort's cells without --by (checked on every run).
"""

from __future__ import annotations

import polars as pl

from mrrcli.engine.cohorts import (
    CELL_SUMS,
    COHORT,
    FLOW_COLUMNS,
    cohorts_table,
)
from mrrcli.engine.keys import KEY, with_key
from mrrcli.engine.segments import SEGMENT
from mrrcli.engine.totals import IdentityError
from mrrcli.vocabulary import Level, Settings

# The cell sums that add up over segments at any level. The member counts add up only at
# customer level: at subscription level a customer whose subscriptions started in different
# segments is a member of each (as customer counts per segment in §9).
MONEY_SUMS = (*FLOW_COLUMNS, "_net", "_capped", "_base", "_converted")


def first_segments(
    rows: pl.DataFrame | pl.LazyFrame, settings: Settings, changes: pl.DataFrame
) -> pl.DataFrame:
    """`_key, segment`: per key with a change, the segment of most of its MRR at the end of
    its first change's day (`date`: the day, or the snapshot day in snapshot mode), ties to
    the first segment in sort order. `rows`: MRR rows with a `segment` column; `changes`:
    their classification (timeline.classified_changes, sorted by key and date).

    MRR is never negative, so before its first change every segment of a key is at 0 and
    the rows in force that day are exactly what its first change brought."""
    first = (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True)
    arrivals = changes.filter(first).select(
        KEY, pl.col("date").alias("_day"), pl.col("mrr_after").alias("_base_c")
    )
    start, end, day = pl.col("start_date"), pl.col("end_date"), pl.col("_day")
    as_of = pl.lit(settings.as_of, dtype=pl.Date)
    in_force = (
        with_key(rows.lazy(), settings)
        .filter((pl.col("mrr") != 0) & (start <= as_of))
        .select(KEY, SEGMENT, "start_date", "end_date", "mrr")
        .join(arrivals.lazy(), on=KEY)
        .filter((start <= day) & (end.is_null() | (end > day)))
        .group_by(KEY, SEGMENT)
        .agg(pl.col("mrr").sum(), pl.col("_base_c").first())
        .collect()
    )
    unequal = in_force.group_by(KEY).agg(
        (pl.col("mrr").sum() != pl.col("_base_c").first()).alias("_unequal")
    )
    if unequal.height != arrivals.height or unequal.get_column("_unequal").any():
        raise IdentityError("a key's MRR by segment on its first paying day is not its MRR")
    return in_force.group_by(KEY).agg(
        pl.col(SEGMENT).sort_by(["mrr", SEGMENT], descending=[True, False]).first()
    )


def check_segments_add_up(segment_cells: pl.DataFrame, cells: pl.DataFrame, level: Level) -> None:
    """Every cohort's cells, summed over its segments, are its cells without --by (money
    always, member counts at customer level): no key lost or counted twice."""
    columns = list(MONEY_SUMS if level == Level.subscription else CELL_SUMS)
    summed = segment_cells.group_by(COHORT, "month").agg(pl.col(columns).sum())
    joined = cells.select(COHORT, "month", *columns).join(
        summed, on=[COHORT, "month"], how="full", coalesce=True, suffix="_segments"
    )
    for column in columns:
        differs = joined.filter(
            pl.col(column).fill_null(0) != pl.col(f"{column}_segments").fill_null(0)
        )
        if differs.height:
            cohort, month = differs.row(0)[:2]
            raise IdentityError(
                f"cohort {cohort}: its segments do not add up to its {column} in {month}"
            )


def segment_cohorts_table(
    cells: pl.DataFrame | None,
    segment_cells: pl.DataFrame | None,
    movements: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """The `cohorts --by` report: cohorts_table per (cohort, segment), after checking that
    the segments add up to the cohorts (and, in cohorts_table, the cohorts to `movements`)."""
    if (cells is None) != (segment_cells is None):
        raise IdentityError("cohort cells by segment without the cohort cells, or the reverse")
    if cells is not None and segment_cells is not None:
        check_segments_add_up(segment_cells, cells, settings.level)
    else:
        segment_cells = pl.DataFrame(schema={COHORT: pl.Date, SEGMENT: pl.String, "month": pl.Date})
    return cohorts_table(segment_cells, movements, settings)
