"""Rows of the `periods` shape → validated rows with their MRR in integer minor units (SPEC §3).

`normalize_periods` runs the steps, each in its own module: text and numbers read (text.py,
numbers.py), dates parsed per file (dates.py), rows checked (checks.py), currencies settled
(currency.py), the MRR division (numbers.py), trials and statuses (trials.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from typing import Any, Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.normalize.attributes import segment_value
from mrrcli.normalize.checks import check_rows, require_columns
from mrrcli.normalize.currency import attach_rates, read_fx, settle_currency
from mrrcli.normalize.dates import DATE_COLUMNS, parse_dates
from mrrcli.normalize.narrow import narrow_division, with_narrow_mrr
from mrrcli.normalize.numbers import (
    MAX_TOTAL_MRR,
    Division,
    bound_mrr,
    price_columns,
    with_mrr,
    with_number_columns,
)
from mrrcli.normalize.text import FEW_VALUES, distinct, interval_code, text_columns
from mrrcli.normalize.trials import (
    paying_start,
    rows_at_zero,
    split_at_trial_end,
    status_rules,
    zero_trials_and_unpaid,
)
from mrrcli.read.dates import DateParsing
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.orders import Tally
from mrrcli.read.problems import Findings
from mrrcli.vocabulary import PERIODS_COLUMNS, STANDARD_DAYS_PER_MONTH, TRIAL_STATUSES

__all__ = ["MAX_TOTAL_MRR", "NormalizeOptions", "Rows", "normalize_periods", "read_fx"]


@dataclass(frozen=True)
class NormalizeOptions:
    """Everything that decides how a billing amount becomes MRR."""

    currency: str | None = None  # reporting currency; default: the data's only currency
    default_currency: str | None = None  # currency of rows without one (default: `currency`)
    amount_unit: Literal["major", "minor"] = "major"
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH
    dates: DateParsing = field(default_factory=DateParsing)
    fx: pl.DataFrame | None = None  # date, currency, rate (reporting units per 1 unit)
    trial_statuses: tuple[str, ...] = TRIAL_STATUSES  # status values of trials (0 MRR)
    unpaid_statuses: tuple[str, ...] = ()  # status values of rows that never paid (0 MRR)
    # The reporting currency when --currency is not given, decided elsewhere (by the whole
    # export, when it is read in parts); rows without a currency are not given it.
    reporting_currency: str | None = None
    segment: str | None = None  # the column whose trimmed values are the rows' `segment` (§9)
    currencies_known: tuple[str, ...] = ()  # the export's, found in all its parts (parts.py)


@dataclass(frozen=True)
class Glance:
    """What the reports ask of a part's rows besides its partial sums, kept when the rows go
    to disk (mrrcli.parts) so that answering it does not read them back: how many rows pay,
    the first day a row pays, and the distinct start and end days (a frame of the rows'
    columns, each day once, the other column null: freshness reads it as it reads the rows)."""

    paying: int
    first_paying: date | None
    days: pl.DataFrame

    @staticmethod
    def of(frame: pl.DataFrame) -> Glance:
        if not frame.width:
            return Glance(
                0, None, pl.DataFrame(schema={"start_date": pl.Date, "end_date": pl.Date})
            )
        paying = pl.col("mrr") > 0
        end = pl.col("end_date") if "end_date" in frame.columns else pl.lit(None, dtype=pl.Date)
        # one pass, the columns side by side (each distinct day once)
        count, first, starts, ends = frame.select(
            paying.sum().alias("paying"),
            pl.col("start_date").filter(paying).min().alias("first"),
            pl.col("start_date").unique().implode().alias("starts"),
            end.unique().drop_nulls().implode().alias("ends"),
        ).row(0)
        starts, ends = pl.Series(starts, dtype=pl.Date), pl.Series(ends, dtype=pl.Date)
        days = pl.DataFrame(
            {
                "start_date": pl.concat([starts, _nulls(ends.len())]),
                "end_date": pl.concat([_nulls(starts.len()), ends]),
            }
        )
        return Glance(int(count or 0), first, days)


def _nulls(n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=pl.Date, eager=True)


def _paying(frame: pl.DataFrame) -> tuple[int, date | None]:
    """How many rows of `frame` pay, and the first day one does."""
    if not frame.width:
        return 0, None
    paying = pl.col("mrr") > 0
    count, first = frame.select(paying.sum(), pl.col("start_date").filter(paying).min()).row(0)
    return int(count or 0), first


@dataclass
class Rows:
    """Validated price periods with their MRR (`mrr`, Int64 minor units of `currency`)."""

    frame: pl.DataFrame  # customer_id, subscription_id, plan_id, start_date, end_date, mrr, ...
    currency: str
    exponent: int
    files: list[str]
    read: int = 0
    duplicates: int = 0
    trial_rows: int = 0
    zero_rows: int = 0  # at 0 MRR out of trial, a discount larger than the price aside
    notes: list[str] = field(default_factory=list)  # for the user, on stderr
    computed: str | None = None  # how it was computed (in parts, on Spark): stderr only, §13
    shape: str = "periods"
    source: str = "periods"
    set_aside: dict[str, int] = field(default_factory=dict)  # rows set aside, by reason
    # What each file's numeric dates told (file index → read.orders.Tally), for mrrcli.parts
    date_tally: dict[int, Tally] = field(default_factory=dict)
    currencies: tuple[str, ...] = ()  # the currencies its rows hold (mrrcli.parts)
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH  # the standard month it was read with
    # An export read in parts by customer (report.load): each part's rows; `frame` is empty.
    parts: list[Rows] = field(default_factory=list)
    caveat: str | None = None  # what the source cannot show (a subscription list), for meta
    by: str | None = None  # the column of the `segment` column, when segmented (§9)
    unattributed: int = 0  # customers missing from the --attributes file (segment (none))
    # Rows whose discount is larger than their price (SPEC §3): at 0 MRR, counted on stderr,
    # and for `validate` (_file, _row, discount_amount as written). Never-paid rows apart.
    over_discount_rows: int = 0
    over_discount: pl.DataFrame | None = None
    unpaid_rows: int = 0  # at 0 MRR as their status never paid (incomplete, void), not zero_rows
    spilled: str | None = None  # a part's rows written to disk (mrrcli.parts), read when used
    glance: Glance | None = None  # what is asked of a spilled part's rows (see Glance)
    # A part's partial sums computed as it was read, for the report it was read for
    # (mrrcli.parts, `ahead`): (settings, needs, partial); its rows were not kept.
    early: Any = None
    # An export whose parts are computed elsewhere (mrrcli.spark): it gives the partials.
    remote: Any = None

    def pieces(self) -> Iterator[Rows]:
        """The parts of an export read in parts (one at a time: a part written to disk is read
        back only when its turn comes), else the rows themselves."""
        for piece in self.parts or [self]:
            if piece.early is not None:
                raise RuntimeError("the rows of this export were read for one report only")
            if piece.spilled is None:
                yield piece
            else:
                yield replace(piece, frame=pl.read_ipc(piece.spilled), spilled=None)

    def glanced(self) -> Iterator[Glance | pl.DataFrame]:
        """Each part's Glance when it has one (its rows are on disk), else its rows."""
        for piece in self.parts or [self]:
            if piece.glance is not None:
                yield piece.glance
            elif piece.spilled is not None:
                yield pl.read_ipc(piece.spilled)
            else:
                yield piece.frame

    def day_frames(self) -> Iterator[pl.DataFrame]:
        """Each part's rows, or its distinct days (Glance.days), for freshness."""
        for seen in self.glanced():
            yield seen.days if isinstance(seen, Glance) else seen

    def paying_rows(self) -> int:
        """Input rows with MRR above 0. A row split at its trial end counts once: only its
        paying part can carry MRR."""
        if self.remote is not None:
            return int(self.remote.paying)
        return sum(s.paying if isinstance(s, Glance) else _paying(s)[0] for s in self.glanced())

    def first_paying_day(self) -> date | None:
        """The first day on which any row carries MRR (None when none does)."""
        firsts = [
            s.first_paying if isinstance(s, Glance) else _paying(s)[1] for s in self.glanced()
        ]
        found = [day for day in firsts if isinstance(day, date)]
        return min(found) if found else None


@dataclass(frozen=True)
class _Columns:
    """What reading a `periods` frame found out about its columns, for the later steps. (The
    frame itself is passed on its own, so that no step holds on to an earlier version of it.)"""

    files: list[str]
    read: int  # rows in the input, duplicates included
    amount_column: str  # amount, monthly_amount or mrr
    already_monthly: bool  # the amount is MRR already (monthly_amount, mrr): no division
    values: dict[str, list[str]]  # the distinct values of currency, interval and status
    date_columns: list[str]


def normalize_periods(
    table: Table, options: NormalizeOptions, findings: Findings | None = None
) -> Rows:
    """Validate a `periods` table and compute each row's MRR in minor units.

    Raises InputError at the first problem, unless `findings` gathers them (validate).
    The table's frame is released once read (left empty), so that a large export is held
    once, not twice; its other fields stay.
    """
    findings = findings or Findings(table)
    frame, columns = _read_values(table, findings, options.segment)
    # Dates, parsed per file so one file's day-first dates do not decide another's.
    frame, tallies = parse_dates(
        frame, columns.files, columns.date_columns, options.dates, findings
    )
    frame = check_rows(frame, findings, columns.amount_column, columns.date_columns, options.dates)
    # Currency: per row, or the default; the reporting currency; rates when there are several.
    frame, reporting, foreign = settle_currency(
        frame,
        findings,
        columns.files,
        currency=options.currency,
        default_currency=options.default_currency,
        reporting_currency=options.reporting_currency,
        fx=options.fx,
        known=options.currencies_known,
    )
    exponent = currencies.exponent(reporting)
    frame = _with_mrr(frame, columns, options, findings, exponent, reporting, foreign)
    over_discount = _over_discount(frame)
    trial_rows, zero_rows, unpaid_rows = rows_at_zero(frame)
    return Rows(
        frame=_result(frame, columns.date_columns, options.segment),
        currency=reporting,
        exponent=exponent,
        files=columns.files,
        read=columns.read,
        duplicates=table.duplicates,
        trial_rows=trial_rows,
        zero_rows=zero_rows,
        unpaid_rows=unpaid_rows,
        date_tally=tallies,
        currencies=findings.currencies_told or (),
        over_discount_rows=over_discount.height,
        over_discount=over_discount,
    )


def _over_discount(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` (MRR worked out) whose discount is larger than their price, out
    of trial: `_file`, `_row` and their discount_amount as written. They count as 0 MRR."""
    over = frame.filter(pl.col("_over_discount") & ~pl.col("_trial"))
    value = (
        pl.col("discount_amount").cast(pl.String)
        if "discount_amount" in frame.columns
        else pl.lit(None, dtype=pl.String).alias("discount_amount")
    )
    return over.select(FILE_COLUMN, ROW_COLUMN, value)


def _read_values(
    table: Table, findings: Findings, segment: str | None
) -> tuple[pl.DataFrame, _Columns]:
    """`table`'s canonical columns and `segment` with text tidied, numbers read exactly, and what
    was found out about them; `table.frame` is left empty. Missing required columns fail."""
    frame = table.frame
    read = table.frame.height + table.duplicates
    headers = [c for c in frame.columns if not c.startswith("_")]
    kept = (*PERIODS_COLUMNS, segment)  # the others only decided duplicates
    frame = frame.select(c for c in frame.columns if c in kept or c.startswith("_"))
    table.frame = table.frame.clear()
    amount_column = require_columns(frame, headers, table.files[0], findings)
    already_monthly = amount_column != "amount"
    schema = frame.schema
    # Text columns: blank means absent. Ids are stripped; columns of few distinct values
    # (currency, interval, status) are tidied once per distinct value, and only if needed.
    values = distinct(frame, [c for c in FEW_VALUES if c in schema], table.values)
    # Numbers exactly as written, read from the columns as they are; text replaced in place.
    frame = with_number_columns(frame, amount_column, already_monthly)
    codes = (
        [interval_code(values["interval"])] if not already_monthly and "interval" in values else []
    )
    frame = frame.with_columns(*codes, *text_columns(schema, values, table.stripped))
    return frame, _Columns(
        files=table.files,
        read=read,
        amount_column=amount_column,
        already_monthly=already_monthly,
        values=values,
        date_columns=[c for c in DATE_COLUMNS if c in frame.columns],
    )


def _with_mrr(
    frame: pl.DataFrame,
    columns: _Columns,
    options: NormalizeOptions,
    findings: Findings,
    exponent: int,
    reporting: str,
    foreign: bool,
) -> pl.DataFrame:
    """`frame` (rows checked, currencies settled) with `mrr` (Int64, see Rows) and `_trial`:
    the MRR in minor units (`exponent` decimal places) of the `reporting` currency, through
    `_rate` (attach_rates) when some rows are `foreign`; 0 for trials and unpaid statuses;
    null on bad rows and rows that overflow (reported to `findings`); and `_over_discount`."""
    # The exact price per interval in the file's unit, then its one division.
    division = Division(
        exponent=exponent,
        amount_unit=options.amount_unit,
        days_per_month=options.days_per_month,
        already_monthly=columns.already_monthly,
        foreign=foreign,
    )
    # Int64 arithmetic when the data's bounds allow it (rates: those of the --fx file).
    rates = options.fx.get_column("_rate") if foreign and options.fx is not None else None
    division = narrow_division(frame, division, rates)
    frame = frame.with_columns(price_columns(frame.columns, division))
    trial, unpaid = status_rules(columns.values, options.trial_statuses, options.unpaid_statuses)
    if foreign:
        not_paying = trial | unpaid
        frame = _with_rates(frame, division, not_paying, options, findings, reporting)
    else:
        findings.check(frame, [])  # the rates' step, taken alike in every part of a run
    frame = _mrr_of(frame, division)
    frame = zero_trials_and_unpaid(frame, pl.col("_mrr_exact"), division.money, trial, unpaid)
    return bound_mrr(frame, findings, columns.amount_column, columns.files, frame.columns)


def _mrr_of(frame: pl.DataFrame, division: Division) -> pl.DataFrame:
    """`frame` (with its price) with `_mrr_exact`, `_over_discount` and `_overflow`
    (numbers.with_mrr), in Int64 when narrow_division found the frame narrow."""
    return with_narrow_mrr(frame, division) if division.narrow else with_mrr(frame, division)


def _with_rates(
    frame: pl.DataFrame,
    division: Division,
    not_paying: pl.Expr,
    options: NormalizeOptions,
    findings: Findings,
    reporting: str,
) -> pl.DataFrame:
    """`frame` (with its price, price_columns) with `_rate`: one rate per subscription,
    that of its first paying day (§3). Which rows pay is judged on their MRR before
    conversion (`division` without rates), trials and unpaid statuses (`not_paying`) never
    paying."""
    native = _mrr_of(frame, replace(division, foreign=False)).get_column("_mrr_exact")
    frame = frame.with_columns(native.alias("_native_mrr"))
    paid_from = paying_start(frame.columns)
    pays = (pl.col("_native_mrr") > 0) & ~not_paying
    if "end_date__parsed" in frame.columns:
        end = pl.col("end_date__parsed")
        pays &= end.is_null() | (paid_from < end)
    assert options.fx is not None  # settle_currency stops a run with foreign rows and no rates
    return attach_rates(frame, findings, options.fx, reporting, pays, paid_from).drop("_native_mrr")


def _result(frame: pl.DataFrame, date_columns: list[str], segment: str | None) -> pl.DataFrame:
    """The output columns of `frame` (see Rows.frame), rows in trial at their start split at
    their trial end when there is a `trial_end` among `date_columns`; with `segment`, that
    column's trimmed text as `segment` (empty → `(none)`)."""
    subscription = (
        pl.col("subscription_id").fill_null(pl.col("customer_id"))
        if "subscription_id" in frame.columns
        else pl.col("customer_id")
    )
    plan = pl.col("plan_id") if "plan_id" in frame.columns else pl.lit(None, dtype=pl.String)
    end = pl.col("end_date__parsed") if "end_date" in date_columns else pl.lit(None, pl.Date)
    start = pl.col("start_date__parsed")
    columns = [
        pl.col("customer_id").cast(pl.String),
        subscription.cast(pl.String).alias("subscription_id"),
        plan.alias("plan_id"),
        start.alias("start_date"),
        end.cast(pl.Date).alias("end_date"),
        pl.col("mrr"),
        pl.col(FILE_COLUMN),
        pl.col(ROW_COLUMN),
        pl.col("_trial"),
    ]
    if segment is not None:
        # A row's subscription is its customer when the export names none (§2.1), column or cell.
        value = pl.col(segment) if segment in frame.columns else pl.lit(None, dtype=pl.String)
        if segment == "subscription_id":
            value = subscription
        columns.append(segment_value(value).alias("segment"))
    if "trial_end" in date_columns:
        return split_at_trial_end(frame, columns, start, end)
    return frame.select(columns)
