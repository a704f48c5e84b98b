"""Currencies of the rows: the default for rows without one, the reporting currency, unknown
currencies, and FX rates (read from --fx, attached to each row) when there are several."""

from __future__ import annotations

import polars as pl

from mrrcli import currency as currencies
from mrrcli.errors import InputError, UsageError
from mrrcli.normalize.numbers import RATE_SCALE, scaled
from mrrcli.read.dates import DateParsing, parse_date_columns
from mrrcli.read.problems import Check, Findings


def settle_currency(
    frame: pl.DataFrame,
    findings: Findings,
    files: list[str],
    currency: str | None,
    default_currency: str | None,
    reporting_currency: str | None,
    fx: pl.DataFrame | None,
    known: tuple[str, ...] = (),
) -> tuple[pl.DataFrame, str, bool]:
    """`frame` with every row's `currency`, the reporting currency, and whether some rows are
    in another currency (then they need `fx`: see attach_rates).

    Rows without a currency get `default_currency` (else --`currency`); the reporting
    currency is `currency`, else `reporting_currency`, else the data's only currency (USD
    when there is none). Currency problems go to `findings`, naming `files`. `known`: the
    currencies of the whole export, when it is read in parts (mrrcli.parts): the reporting
    currency and the problems are those of the whole export, not of this part's rows alone."""
    default = (default_currency or currency or "").upper() or None
    if "currency" in frame.columns:
        if default:
            frame = frame.with_columns(pl.col("currency").fill_null(default))
    else:
        frame = frame.with_columns(pl.lit(default, dtype=pl.String).alias("currency"))
    own = sorted(c for c in frame.get_column("currency").unique().to_list() if c is not None)
    findings.currencies_told = tuple(own)
    present = sorted({*own, *known})
    _check_currencies(frame, findings, present)
    only = present[0] if len(present) == 1 else "USD"
    reporting = (currency or reporting_currency or only).upper()
    if not currencies.is_known(reporting):
        raise UsageError(f"unknown currency {reporting!r} for --currency")
    frame = frame.with_columns(pl.col("currency").fill_null(reporting))
    if fx is None and any(c != reporting for c in present):
        _no_rates(findings, files, present, reporting)
    return frame, reporting, any(c != reporting for c in own)


def _check_currencies(frame: pl.DataFrame, findings: Findings, present: list[str]) -> None:
    """Report to `findings` the rows of `frame` without a currency while others have one of
    `present`, and the rows with an unknown currency."""
    # Both steps are taken whatever the rows (Findings.check counts them alike in every part).
    checks = []
    if frame.get_column("currency").null_count() and present:
        checks = [
            Check(
                "currency",
                pl.col("currency").is_null(),
                lambda v: (
                    f"no currency, while other rows have {', '.join(present)}; "
                    "give --currency for rows without one"
                ),
            )
        ]
    findings.check(frame, checks)
    unknown = [c for c in present if not currencies.is_known(c)]
    checks = []
    if unknown:
        checks = [
            Check(
                "currency",
                pl.col("currency").is_in(unknown),
                lambda v: f"unknown currency {v!r} (expected an ISO 4217 code such as USD)",
            )
        ]
    findings.check(frame, checks)


def _no_rates(findings: Findings, files: list[str], present: list[str], reporting: str) -> None:
    """Fail the run in `findings`: `files` hold the `present` currencies, some not the
    `reporting` one, and no --fx rates were given."""
    held = (
        f"several currencies ({', '.join(present)})"
        if len(present) > 1
        else f"{present[0]}, not the reporting currency {reporting},"
    )
    findings.fail(
        f"the data holds {held} and no --fx rates; currencies are never added together "
        "or converted without rates: give --fx rates.csv (date,currency,rate)",
        ", ".join(files),
        fatal=True,
    )


def read_fx(path: str, dates: DateParsing) -> pl.DataFrame:
    """The FX table at `path` (dates read as `dates` says): date, currency, `_rate`
    (reporting-currency units per one unit of currency, scaled by 10^RATE_SCALE), by date."""
    from mrrcli.read.files import read_table

    table = read_table([path], ("date", "currency", "rate"))
    frame = table.frame
    missing = [c for c in ("date", "currency", "rate") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the --fx file needs columns date, currency, rate")
    parsed, _ = parse_date_columns(frame, ["date"], dates)
    parsed = parsed.with_columns(
        pl.col("currency").cast(pl.String).str.strip_chars().str.to_uppercase(),
        scaled("rate", frame.schema["rate"], RATE_SCALE).alias("_rate"),
    )
    checks = [
        Check("date", pl.col("date").is_null(), lambda v: "cannot read the date"),
        Check("rate", pl.col("_rate").is_null(), lambda v: "cannot read the rate"),
        Check("rate", pl.col("_rate") <= 0, lambda v: "the rate must be positive"),
    ]
    Findings(table).check(parsed.with_columns(pl.col("rate").cast(pl.String)), checks)
    return parsed.select(pl.col("date").cast(pl.Date), "currency", "_rate").sort("date")


def attach_rates(
    frame: pl.DataFrame,
    findings: Findings,
    fx: pl.DataFrame,
    reporting: str,
    pays: pl.Expr,
    paid_from: pl.Expr,
) -> pl.DataFrame:
    """`frame` with each row's `_rate` (scaled by 10^RATE_SCALE) from `fx`: one rate for every
    row of a subscription, the latest on or before its first paying day (SPEC §3). `pays`
    marks the rows that carry MRR > 0 on some day, `paid_from` is the first day they do.

    A subscription is its customer, subscription id (the customer when empty) and currency,
    so rows without a subscription share the customer's first paying day in that currency.
    Rows in the `reporting` currency, and subscriptions that never pay (their MRR is 0 at
    any rate), take rate 1. Paying subscriptions without a rate go to `findings`."""
    subscription = (
        pl.col("subscription_id").fill_null(pl.col("customer_id"))
        if "subscription_id" in frame.columns
        else pl.col("customer_id")
    )  # as the engine reads a row without a subscription
    frame = frame.with_columns(subscription.alias("_fx_subscription"))
    keys = ["customer_id", "_fx_subscription", "currency"]
    # One row per foreign subscription: its first paying day, then the rate of that day
    # (an as-of join on currency and day), joined back to all its rows.
    firsts = (
        frame.lazy()
        .filter(pays & (pl.col("currency") != reporting))
        .group_by(keys)
        .agg(paid_from.min().alias("_paid_from"))
        .sort("_paid_from")
        .join_asof(
            fx.lazy().rename({"date": "_fx_date"}),
            left_on="_paid_from",
            right_on="_fx_date",
            by="currency",
            strategy="backward",
            check_sortedness=False,  # both sides are sorted by date; `by` hides it from Polars
        )
        .select(*keys, "_paid_from", "_rate")
        .collect()
    )
    one = pl.lit(10**RATE_SCALE, dtype=pl.Int128)
    joined = frame.join(
        firsts, on=keys, how="left", nulls_equal=True, maintain_order="left"
    ).with_columns(
        pl.when(pl.col("_paid_from").is_null()).then(one).otherwise(pl.col("_rate")).alias("_rate")
    )
    checks = [
        Check(
            "currency",
            pl.col("_rate").is_null(),
            lambda v: f"no --fx rate for {v} on or before this subscription's first paying day",
        )
    ]
    findings.check(joined, checks)
    return joined.drop("_paid_from", "_fx_subscription")
