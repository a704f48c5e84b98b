"""Trials and statuses: rows in trial or that never paid are at 0 MRR, and a paying row with
its trial end ahead is split into a free trial row and a paying row."""

from __future__ import annotations

import polars as pl

from mrrcli.normalize.text import NOWHERE, status_in
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN


def status_rules(
    values: dict[str, list[str]],
    trial_statuses: tuple[str, ...],
    unpaid_statuses: tuple[str, ...],
) -> tuple[pl.Expr, pl.Expr]:
    """Whether a row is in trial (its status one of `trial_statuses`) and whether it never
    paid (one of `unpaid_statuses`), as boolean expressions; `values` holds the distinct
    values of the text columns, `status` among them when the frame has one."""
    if "status" not in values:
        return NOWHERE, NOWHERE
    return (
        status_in(values["status"], trial_statuses),
        status_in(values["status"], unpaid_statuses),
    )


def zero_trials_and_unpaid(
    frame: pl.DataFrame, mrr: pl.Expr, money: pl.DataType, trial: pl.Expr, unpaid: pl.Expr
) -> pl.DataFrame:
    """`frame` with `_mrr` (in `money`): `mrr`, but 0 on rows in `trial` or `unpaid`; and
    `_trial` (whether the row is in trial) and `_unpaid` (out of trial, whether its status
    never paid)."""
    return frame.with_columns(
        pl.when(trial | unpaid).then(pl.lit(0, dtype=money)).otherwise(mrr).alias("_mrr"),
        trial.alias("_trial"),
        (unpaid & ~trial).alias("_unpaid"),
    )


def rows_at_zero(frame: pl.DataFrame) -> tuple[int, int, int]:
    """How many rows of `frame` (MRR worked out) are trials; at 0 MRR otherwise (a zero
    amount, a full discount, a price that rounds to 0); at 0 MRR as their status never paid.
    A discount larger than the price is counted apart (Rows.over_discount)."""
    unpaid, aside = pl.col("_unpaid"), pl.col("_trial") | pl.col("_over_discount")
    zero = (pl.col("mrr") == 0) & ~aside & ~unpaid
    counts = frame.select(pl.col("_trial").sum(), zero.sum(), (unpaid & ~aside).sum()).row(0)
    return int(counts[0]), int(counts[1]), int(counts[2])


def split_at_trial_end(
    frame: pl.DataFrame, columns: list[pl.Expr], start: pl.Expr, end: pl.Expr
) -> pl.DataFrame:
    """The output `columns` (customer_id, subscription_id, plan_id, start_date, end_date,
    mrr, then the file, row and `_trial`) of `frame`, a row still in trial at its `start`
    (`trial_end__parsed` after it) split in two: the paying row from the trial's end (never
    after the row's `end`), then after all paying rows, its free trial row up to there."""
    paid_from = _trial_paid_from(end)
    in_trial = (pl.col("trial_end__parsed") > start).fill_null(False)
    paying = frame.select(
        *columns[:3],
        pl.when(in_trial).then(paid_from).otherwise(start).alias("start_date"),
        *columns[4:],
    )
    trials = frame.filter(in_trial).select(
        *columns[:4],
        paid_from.cast(pl.Date).alias("end_date"),
        pl.lit(0, dtype=pl.Int64).alias("mrr"),
        pl.col(FILE_COLUMN),
        pl.col(ROW_COLUMN),
        pl.lit(True).alias("_trial"),
        *columns[9:],  # the segment, when there is one
    )
    return pl.concat([paying, trials])


def _trial_paid_from(end: pl.Expr) -> pl.Expr:
    """The day a row written as paying with its trial end ahead starts to pay: a free trial
    until the trial ends, never after the row itself ends (`end`)."""
    trial_end = pl.col("trial_end__parsed")
    return pl.when(end.is_not_null() & (trial_end > end)).then(end).otherwise(trial_end)


def paying_start(columns: list[str]) -> pl.Expr:
    """The first day a row of a frame of `columns` (dates parsed) can pay: its start, or the
    end of its trial when `trial_end` lies ahead of the start (see split_at_trial_end)."""
    start = pl.col("start_date__parsed")
    if "trial_end__parsed" not in columns:
        return start
    end = pl.col("end_date__parsed") if "end_date__parsed" in columns else pl.lit(None, pl.Date)
    in_trial = (pl.col("trial_end__parsed") > start).fill_null(False)
    return pl.when(in_trial).then(_trial_paid_from(end)).otherwise(start).cast(pl.Date)
