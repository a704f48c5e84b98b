"""The `invoice-lines` and `snapshots` shapes (SPEC §2.2, §2.3), rewritten as `periods` rows.

Each shape becomes the canonical one so a single normalization and movement engine serve all:
an invoice line is a period at its service dates whose interval is its own length (whole
calendar months, else days), net of tax and discount; a snapshot is its month at its MRR.
Lines that carry no MRR are set aside and counted, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from mrrcli.read.dates import (
    DateFormatError,
    DateParsing,
    OpenOrder,
    localize,
    month_as_date,
    parse_date_columns,
)
from mrrcli.read.european import decimal_comma_hint
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.problems import Check, Findings, missing_columns

RECURRING_KINDS = ("subscription", "recurring", "plan", "addon", "add_on", "add-on")
TRUE_VALUES = ("true", "t", "1", "yes", "y")


def _missing(frame: pl.DataFrame, required: Sequence[str], findings: Findings) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        headers = [c for c in frame.columns if not c.startswith("_")]
        findings.fail(
            missing_columns(missing, headers, findings.table.spelling),
            findings.table.files[0],
            fatal=True,
        )


def _parse_dates(
    frame: pl.DataFrame,
    columns: list[str],
    dates: DateParsing,
    findings: Findings,
    suffix: str = "__date",
) -> pl.DataFrame:
    """Date columns parsed (as `<column><suffix>`), the text kept for normalize to report."""
    try:
        parsed, _ = parse_date_columns(frame.select(columns), columns, dates)
    except DateFormatError as error:
        # A snapshot's month is read as `_month_text`; the user knows it as its header.
        def shown(column: str) -> str:
            return findings.shown("month" if column == "_month_text" else column)

        message = error.naming(shown) if isinstance(error, OpenOrder) else str(error)
        findings.fail(message, findings.table.files[0], fatal=True)
        raise AssertionError("unreachable") from None
    return frame.with_columns(
        parsed.get_column(c).cast(pl.Date).alias(f"{c}{suffix}") for c in columns
    )


def billing_zone_dates(dates: DateParsing) -> DateParsing:
    """How to read a line's dates to measure its length (SPEC §2.2): in the billing system's
    own zone, the source's declared zone, else the zone each timestamp's offset names (naive
    values of a source that declares none are in --timezone)."""
    zone = dates.source_timezone or dates.timezone
    return replace(dates, timezone=zone, as_written=dates.source_timezone is None)


def _whole_months(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """The number of whole calendar months from start to end, or null when it is not whole.

    Same day of month, where a day past the end of a shorter month counts as its last day
    (Jan 30 → Feb 29 is one month). A start on a month's last day may be such a clamped day,
    so any end on the same or a later day of month is whole too (Feb 29 → Mar 30 or Mar 31).
    So a line from a month's last day to a later month's last day is whole months (SPEC §2.2,
    settled): Feb 29 → Mar 31 by the second rule, Jan 31 → Feb 29 by the first.
    """
    months = (end.dt.year() - start.dt.year()) * 12 + end.dt.month() - start.dt.month()
    shifted = start.dt.offset_by(pl.format("{}mo", months))
    clamped_start = (start == start.dt.month_end()) & (end.dt.day() >= start.dt.day())
    return pl.when((months >= 1) & ((shifted == end) | clamped_start)).then(months).otherwise(None)


def invoice_lines_to_periods(
    table: Table, dates: DateParsing, findings: Findings, end_inclusive: bool = False
) -> tuple[Table, dict[str, int]]:
    """Recurring invoice lines as `periods` rows; the count of lines set aside, by reason.

    `end_inclusive`: the export writes a period's last day (…T23:59:59) as its end, so the
    exclusive end is the day after.
    """
    frame = table.frame
    _missing(frame, ("customer_id", "amount", "period_start", "period_end"), findings)
    kept, counts = _recurring_lines(frame, findings)
    period = ["period_start", "period_end"]
    kept = _parse_dates(kept, period, dates, findings)
    # Its length is measured in the billing system's zone; its start and end are placed in
    # --timezone (a line from Jan 31 00:00 UTC is a whole month in New York too).
    measuring = billing_zone_dates(dates)
    if measuring == dates:
        kept = kept.with_columns(pl.col(f"{c}__date").alias(f"{c}__billed") for c in period)
    else:
        kept = _parse_dates(kept, period, measuring, findings, suffix="__billed")
    findings.check(
        kept,
        [
            Check(
                column,
                pl.col(column).cast(pl.String).str.strip_chars().replace("", None).is_null()
                | pl.col(f"{column}__date").is_null()
                | pl.col(f"{column}__billed").is_null(),
                lambda v: "empty date" if v is None else f"cannot read {v!r} as a date",
            )
            for column in ("period_start", "period_end")
        ],
    )
    if end_inclusive:
        kept = _exclusive_ends(kept, dates)
    kept = _unstacked(kept)
    kept, deductions = _with_deductions(kept, findings)
    return replace(table, frame=_lines_as_periods(kept, deductions)), counts


def _recurring_lines(
    frame: pl.DataFrame, findings: Findings
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The lines that carry MRR, and how many of the others were set aside, by reason."""
    text = [c for c in ("kind", "type", "proration", "status") if c in frame.columns]
    frame = frame.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().str.to_lowercase().replace("", None)
        for c in text
    )
    kind = pl.coalesce(
        [pl.col(c) for c in ("kind", "type") if c in frame.columns] or [pl.lit(None)]
    )
    reasons: list[tuple[str, pl.Expr]] = []
    if "proration" in frame.columns:
        reasons.append(("proration lines", pl.col("proration").is_in(TRUE_VALUES)))
    reasons.append(("non-recurring lines", kind.is_not_null() & ~kind.is_in(RECURRING_KINDS)))
    amount_text = pl.col("amount").cast(pl.String).str.strip_chars()
    reasons.append(("credit lines (negative amount)", amount_text.str.starts_with("-")))
    aside = pl.lit(False)
    counts: dict[str, int] = {}
    for reason, condition in reasons:
        condition = condition.fill_null(False) & ~aside
        counts[reason] = int(frame.select(condition.sum()).item())
        aside = aside | condition
    kept = frame.filter(~aside)
    if kept.height == 0:
        findings.fail(
            "no recurring invoice lines: every line is a proration, one-off, usage, credit or "
            "tax line",
            findings.table.files[0],
            fatal=True,
        )
    return kept, counts


def _exclusive_ends(kept: pl.DataFrame, dates: DateParsing) -> pl.DataFrame:
    """A period's last instant (…T23:59:59) ends the day in the billing system's zone: the
    next period starts at the following midnight there, whatever --timezone shows it as."""
    zone = dates.source_timezone or dates.timezone
    billed_end = kept.get_column("period_end__billed").dt.offset_by("1d")
    midnight = localize(billed_end.cast(pl.Datetime("us")), zone)
    return kept.with_columns(
        billed_end.alias("period_end__billed"),
        midnight.dt.convert_time_zone(dates.timezone).dt.date().alias("period_end__date"),
    )


ITEM_KEY = ("customer_id", "subscription_id", "subscription_item_id")


def _unstacked(kept: pl.DataFrame) -> pl.DataFrame:
    """Lines of one subscription item do not stack (SPEC §2.2, settled): a line that starts
    inside an earlier line's period ends the earlier line's MRR on its start day (an upgrade
    from monthly to yearly billed mid-period). The item is its `subscription_item_id`, else its
    subscription; lines of different items stack, and so do lines starting the same day."""
    key = [
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c)
        for c in ITEM_KEY
        if c in kept.columns
    ]
    start, end = pl.col("period_start__date"), pl.col("period_end__date")
    # The next later start of the item: the next line's, skipping lines that start the same day.
    following = start.shift(-1)
    next_start = (
        pl.when(following > start).then(following).backward_fill().over(key, order_by=start)
    )
    return kept.with_columns(
        pl.when(next_start < end).then(next_start).otherwise(end).alias("period_end__date")
    )


def _with_deductions(kept: pl.DataFrame, findings: Findings) -> tuple[pl.DataFrame, bool]:
    """Discount and tax of a line summed as `_deduction` (whether there are any), exact to 18
    decimal places (SPEC §2.5: numbers are read as written)."""
    deductions = [c for c in ("discount_amount", "tax_amount") if c in kept.columns]
    if not deductions:
        return kept, False

    def amount(c: str) -> pl.Expr:
        return pl.col(c).cast(pl.String).str.strip_chars().str.to_decimal(scale=18)

    kept = kept.with_columns(
        pl.sum_horizontal(amount(c).fill_null(0) for c in deductions).alias("_deduction")
    )
    findings.check(
        kept,
        [
            Check(
                c,
                pl.col(c).cast(pl.String).str.strip_chars().replace("", None).is_not_null()
                & amount(c).is_null(),
                lambda v: f"cannot read {v!r} as an amount{decimal_comma_hint(v)}",
            )
            for c in deductions
        ],
    )
    return kept, True


def _lines_as_periods(kept: pl.DataFrame, deductions: bool) -> pl.DataFrame:
    """Each line as a period at its service dates (in --timezone), its interval its own
    length in the billing system's zone: whole calendar months, else days."""
    start, end = pl.col("period_start__date"), pl.col("period_end__date")
    billed_start, billed_end = pl.col("period_start__billed"), pl.col("period_end__billed")
    months = _whole_months(billed_start, billed_end)
    days = (billed_end - billed_start).dt.total_days()

    def present(*columns: str) -> list[str]:
        return [c for c in columns if c in kept.columns]

    return kept.select(
        "customer_id",
        *present("subscription_id"),
        start.alias("start_date"),
        end.alias("end_date"),
        "amount",
        *present("currency"),
        pl.when(months.is_not_null())
        .then(pl.lit("month"))
        .otherwise(pl.lit("day"))
        .alias("interval"),
        pl.coalesce(months, pl.when(days > 0).then(days).otherwise(1))
        .cast(pl.String)
        .alias("interval_count"),
        *([pl.col("_deduction").alias("discount_amount")] if deductions else []),
        *present("status", "plan_id"),
        FILE_COLUMN,
        ROW_COLUMN,
    )


def snapshots_to_periods(table: Table, dates: DateParsing, findings: Findings) -> Table:
    """Each snapshot row as a period covering its month at its MRR."""
    frame = table.frame
    _missing(frame, ("customer_id", "month", "mrr"), findings)
    # "2024-03" names a month; any date in the month does too.
    frame = frame.with_columns(
        month_as_date(pl.col("month").cast(pl.String)).alias("_month_text")
        if frame.schema["month"] == pl.String
        else pl.col("month").alias("_month_text")
    )
    frame = _parse_dates(frame, ["_month_text"], dates, findings)
    month = pl.col("_month_text__date").dt.month_start()
    findings.check(
        frame,
        [
            Check(
                "month",
                pl.col("month").is_not_null() & pl.col("_month_text__date").is_null(),
                lambda v: f"cannot read {v!r} as a month (expected e.g. 2024-03 or 2024-03-31)",
            )
        ],
    )
    periods = frame.select(
        "customer_id",
        *(["subscription_id"] if "subscription_id" in frame.columns else []),
        month.alias("start_date"),
        month.dt.offset_by("1mo").alias("end_date"),
        "mrr",
        *(["currency"] if "currency" in frame.columns else []),
        *(["plan_id"] if "plan_id" in frame.columns else []),
        FILE_COLUMN,
        ROW_COLUMN,
    )
    return replace(table, frame=periods)
