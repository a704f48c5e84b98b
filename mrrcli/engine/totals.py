"""Monthly flows → the movements table, with opening and closing MRR rebuilt and the identity
checked (SPEC §4, §5). Money stays in Int64 minor units here; presentation shows major units.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from mrrcli.vocabulary import MOVEMENT_COLUMNS, MOVEMENTS_COLUMNS, Settings

FLOW_COLUMNS = (*MOVEMENT_COLUMNS.values(), "net_new_mrr")


class IdentityError(AssertionError):
    """The movement identity failed: a bug in mrrcli, never a property of the data."""


def month_start(day: date) -> date:
    return day.replace(day=1)


def last_month(settings: Settings) -> date:
    """The last month a report covers: --to, else the month of the as-of date."""
    return settings.month_to or month_start(settings.as_of)


def month_spine(first: date, last: date, as_of: date) -> pl.DataFrame:
    """`month` (first day) and `days`: calendar days, or the days elapsed in the as-of month."""
    months = pl.date_range(first, last, interval="1mo", eager=True).alias("month")
    frame = months.to_frame()
    return frame.with_columns(
        pl.when(pl.col("month") == pl.lit(month_start(as_of)))
        .then(pl.lit(as_of.day))
        .otherwise(pl.col("month").dt.month_end().dt.day())
        .cast(pl.Int64)
        .alias("days")
    )


def flows_by_month(changes: pl.DataFrame) -> pl.DataFrame:
    """Classified changes → per month with a change: each kind's amount and the net change.
    (Each kind's amounts as a column summed by month, in one streaming pass: a filter inside
    the group-by builds the row indices of every group, several times the cost.)"""
    kinds = (
        pl.when(pl.col("movement") == movement).then(pl.col("amount")).otherwise(0).alias(column)
        for movement, column in MOVEMENT_COLUMNS.items()
    )
    return (
        changes.lazy()
        .select("month", *kinds, pl.col("delta").alias("net_new_mrr"))
        .group_by("month")
        .agg(pl.all().sum())
        .collect(engine="streaming")
    )


def empty_flows() -> pl.DataFrame:
    return pl.DataFrame(schema={"month": pl.Date, **dict.fromkeys(FLOW_COLUMNS, pl.Int64)})


def empty_movements() -> pl.DataFrame:
    return pl.DataFrame(
        schema={c: pl.Date if c == "month" else pl.Int64 for c in MOVEMENTS_COLUMNS}
    )


def movements_from(
    flows: pl.DataFrame, settings: Settings, first_paying_day: date | None = None
) -> pl.DataFrame:
    """Every month from the first month with MRR > 0 on any day (the month of
    `first_paying_day`, in both modes, §5; or the earliest flow, or --from, if earlier) to the
    last reported month: the movements columns, opening and closing rebuilt from the running
    net change. Months before --from are kept (their flows move the opening; rates need the
    month before)."""
    last = last_month(settings)
    first_flow: date | None = flows.get_column("month").min()  # type: ignore[assignment]
    starts = [first_flow, settings.month_from]
    if first_paying_day is not None:
        starts.append(month_start(first_paying_day))
    earliest = min((d for d in starts if d is not None), default=None)
    if earliest is None:
        return empty_movements()
    spine = month_spine(earliest, last, settings.as_of)
    table = (
        spine.join(flows, on="month", how="left")
        .with_columns(pl.exclude("month", "days").fill_null(0))
        .sort("month")
        .with_columns(pl.col("net_new_mrr").cum_sum().alias("closing_mrr"))
        .with_columns((pl.col("closing_mrr") - pl.col("net_new_mrr")).alias("opening_mrr"))
        .select(MOVEMENTS_COLUMNS)
    )
    check_identity(table)
    return table


def reported(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The months of a report: from --from on (all months when it is not given)."""
    if settings.month_from is None:
        return table
    return table.filter(pl.col("month") >= pl.lit(settings.month_from))


def check_identity(table: pl.DataFrame) -> None:
    """opening + new + expansion + reactivation − contraction − churned = closing, every month."""
    if table.height == 0:
        return
    broken = table.filter(
        pl.col("opening_mrr")
        + pl.col("new_mrr")
        + pl.col("expansion_mrr")
        + pl.col("reactivation_mrr")
        - pl.col("contraction_mrr")
        - pl.col("churned_mrr")
        != pl.col("closing_mrr")
    )
    if broken.height:
        raise IdentityError(f"movement identity fails in {broken.get_column('month')[0]}")
