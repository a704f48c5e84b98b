"""Rows of the `periods` shape → validated rows with their MRR in integer minor units (SPEC §3).

    mrr = (amount × quantity × (1 − discount_percent/100) − discount_amount)
          ÷ months(interval, interval_count)

All of it is exact: amounts, quantities and percentages are read as scaled integers, the
division is done once on Int128 and rounded half away from zero to the reporting currency's
minor unit. From here on money is integer arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import polars as pl

from mrrcli import currency as currencies
from mrrcli.errors import InputError, UsageError
from mrrcli.read.dates import DateFormatError, DateParsing, parse_date_columns
from mrrcli.read.files import FILE_COLUMN, ROW_COLUMN, Table
from mrrcli.read.problems import Check, Findings
from mrrcli.vocabulary import PERIODS_COLUMNS, STANDARD_DAYS_PER_MONTH, TRIAL_STATUSES

INTERVAL_CODES = {"day": 0, "week": 1, "month": 2, "quarter": 3, "year": 4}
MONTH_CODE = INTERVAL_CODES["month"]

INTERVALS = {
    **dict.fromkeys(("day", "days", "daily"), "day"),
    **dict.fromkeys(("week", "weeks", "weekly"), "week"),
    **dict.fromkeys(("month", "months", "monthly"), "month"),
    **dict.fromkeys(("quarter", "quarters", "quarterly"), "quarter"),
    **dict.fromkeys(("year", "years", "yearly", "annual", "annually"), "year"),
}

# Decimal places kept when reading values; more are rounded on reading.
AMOUNT_SCALE = 6
QUANTITY_SCALE = 3
PERCENT_SCALE = 4  # discount percent with 4 decimals: the factor (1 - p/100) at 10^6
RATE_SCALE = 10
MAX_AMOUNT = 10**12
MAX_QUANTITY = 10**7
MAX_ROW_MRR = 10**15  # minor units a month: ten trillion dollars
MAX_TOTAL_MRR = 2**62  # all rows together; Int64 sums of movements never overflow below it


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
    zero_rows: int = 0
    notes: list[str] = field(default_factory=list)  # for the user, on stderr
    shape: str = "periods"
    source: str = "periods"
    set_aside: dict[str, int] = field(default_factory=dict)  # rows set aside, by reason
    date_orders: set[str] = field(default_factory=set)  # how dates were read (dates.py)
    days_per_month: Fraction = STANDARD_DAYS_PER_MONTH  # the standard month it was read with
    # An export read in parts by customer (report.load): each part's rows; `frame` is empty.
    parts: list[Rows] = field(default_factory=list)

    def pieces(self) -> list[Rows]:
        """The parts of an export read in parts, else the rows themselves."""
        return self.parts or [self]

    def paying_rows(self) -> int:
        """Input rows with MRR above 0. A row split at its trial end counts once: only its
        paying part can carry MRR."""
        return sum(int(p.frame.select((pl.col("mrr") > 0).sum()).item()) for p in self.pieces())


def _decimal(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """A column (text or number) as Decimal(38, scale); unreadable text becomes null."""
    col = pl.col(column)
    if dtype == pl.String:
        text = col.str.strip_chars().str.strip_prefix("$")
        # "1,200.50" as spreadsheets write it; a decimal comma ("12,50") is never guessed.
        grouped = text.str.contains(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
        text = pl.when(grouped).then(text.str.replace_all(",", "", literal=True)).otherwise(text)
        decimal: pl.Expr = text.str.to_decimal(scale=scale)
        return decimal
    return col.cast(pl.Decimal(38, scale), strict=False)


def _scaled(column: str, dtype: pl.DataType, scale: int) -> pl.Expr:
    """A column as an Int128 count of 10^-scale units."""
    if dtype.is_integer():
        whole: pl.Expr = pl.col(column).cast(pl.Int128) * 10**scale
        return whole
    if isinstance(dtype, pl.Decimal):
        # A Decimal's physical value is the count of units of its scale.
        return pl.col(column).cast(pl.Decimal(38, scale), strict=False).to_physical()
    scaled: pl.Expr = _decimal(column, dtype, scale) * (10**scale)
    return scaled.cast(pl.Int128, strict=False)


def _column_scale(dtype: pl.DataType, most: int) -> int:
    """Decimal places to read a column with: none for integers, a Decimal's own scale, else
    `most`. Fewer places keep the MRR division in Int64 more often."""
    if dtype.is_integer():
        return 0
    if isinstance(dtype, pl.Decimal) and dtype.scale is not None and dtype.scale <= most:
        return dtype.scale
    return most


@dataclass(frozen=True)
class _Scales:
    """Decimal places each kind of number is read with (see _column_scale)."""

    amount: int = AMOUNT_SCALE
    quantity: int = QUANTITY_SCALE
    percent: int = PERCENT_SCALE


def _mrr_fraction(
    frame: pl.DataFrame,
    options: NormalizeOptions,
    exponent: int,
    scales: _Scales,
    already_monthly: bool,
    foreign: bool,
) -> tuple[pl.Expr, pl.Expr, pl.DataType]:
    """Each row's MRR in reporting minor units as numerator and denominator expressions, and
    the integer type to compute them in: Int64 when no intermediate can reach 2^62 (much
    faster), else Int128. The bound follows the computation step by step with the largest
    value of every factor, so it is never too low."""
    factors = ["_amount", "_quantity", "_addons_amount", "_discount_amount", "_discount_percent"]
    present = [c for c in [*factors, "_interval_count", "_rate"] if c in frame.columns]
    largest = dict.fromkeys(present, 0)
    if present and frame.height:
        row = frame.select(pl.col(c).abs().max() for c in present).row(0, named=True)
        largest.update({c: int(v or 0) for c, v in row.items()})
    _, _, numerator_bound, denominator_bound = _mrr_terms(
        frame, options, exponent, scales, already_monthly, foreign, pl.Int128(), largest
    )
    fits = 2 * numerator_bound + 2 * denominator_bound < 2**62
    money: pl.DataType = pl.Int64() if fits else pl.Int128()
    numerator, denominator, _, _ = _mrr_terms(
        frame, options, exponent, scales, already_monthly, foreign, money, largest
    )
    return numerator, denominator, money


def _mrr_terms(
    frame: pl.DataFrame,
    options: NormalizeOptions,
    exponent: int,
    scales: _Scales,
    already_monthly: bool,
    foreign: bool,
    money: pl.DataType,
    largest: dict[str, int],
) -> tuple[pl.Expr, pl.Expr, int, int]:
    """(numerator, denominator, bound of |numerator|, bound of denominator) in `money`.

    mrr = (amount × quantity + addons) × (1 − discount_percent/100) − discount_amount, per
    month of the interval, in minor units; `scale` tracks the numerator's fixed-point scale
    so that amounts added to it (add-ons, discounts) are brought to it first."""
    numerator = pl.col("_amount").cast(money)
    high = largest.get("_amount", 0)
    scale = 10**scales.amount
    unit_divisor: pl.Expr = pl.lit(1, dtype=money)
    unit_high = 1
    if options.amount_unit == "minor":
        row_exponent = pl.col("currency").replace_strict(
            currencies.EXPONENTS, default=2, return_dtype=pl.Int64
        )
        unit_divisor = pl.lit(10, dtype=money).pow(row_exponent).cast(money)
        unit_high = 10 ** max(currencies.EXPONENTS.values())
    denominator: pl.Expr = pl.lit(1, dtype=money)
    denominator_high = 1
    if not already_monthly:
        if "_quantity" in frame.columns:
            one = 10**scales.quantity
            numerator = numerator * pl.col("_quantity").cast(money).fill_null(one)
            high *= max(largest["_quantity"], one)
            scale *= one
        if "_addons_amount" in frame.columns:
            # Add-ons priced per interval for the whole subscription (Recurly add_ons_total).
            ratio = scale // 10**scales.amount
            numerator = numerator + pl.col("_addons_amount").cast(money).fill_null(0) * ratio
            high += largest["_addons_amount"] * ratio
        if "_discount_percent" in frame.columns:
            full = 100 * 10**scales.percent
            numerator = numerator * (full - pl.col("_discount_percent").cast(money).fill_null(0))
            high *= full + largest["_discount_percent"]
            scale *= full
        if "_discount_amount" in frame.columns:
            # discount_amount is in the file's unit too: bring it to the numerator's scale.
            ratio = scale // 10**scales.amount
            numerator = numerator - pl.col("_discount_amount").cast(money).fill_null(0) * ratio
            high += largest["_discount_amount"] * ratio
        # months(interval, count) = count × per_month.numerator / per_month.denominator
        dpm = options.days_per_month
        if "_interval" in frame.columns:
            # Interval codes index small tables (day, week, month, quarter, year).
            numerators = [dpm.denominator, 7 * dpm.denominator, 1, 3, 12]
            denominators = [dpm.numerator, dpm.numerator, 1, 1, 1]
            code = pl.col("_interval").fill_null(MONTH_CODE)
            # (replace_strict keeps the data's chunks; a gather would not, and a later
            # operation would then copy every column to align them.)
            per_month_num = code.replace_strict(dict(enumerate(numerators)), return_dtype=money)
            per_month_den = code.replace_strict(dict(enumerate(denominators)), return_dtype=money)
            numerator = numerator * per_month_den
            high *= max(denominators)
            denominator = per_month_num
            denominator_high = max(numerators)
        if "_interval_count" in frame.columns:
            denominator = denominator * pl.col("_interval_count").cast(money).fill_null(1)
            denominator_high *= max(largest["_interval_count"], 1)
    # A discount larger than the price leaves nothing, not a negative MRR.
    numerator = pl.max_horizontal(numerator, pl.lit(0, dtype=money)) * 10**exponent
    high *= 10**exponent
    denominator = denominator * scale * unit_divisor
    denominator_high *= scale * unit_high
    if foreign:
        numerator = numerator * pl.col("_rate").cast(money)
        high *= max(largest.get("_rate", 0), 1)
        denominator = denominator * 10**RATE_SCALE
        denominator_high *= 10**RATE_SCALE
    return numerator, denominator, high, denominator_high


def _present(frame: pl.DataFrame, column: str) -> bool:
    return column in frame.columns


# False on every row, in the data's chunks: a bare literal column would be one chunk, and the
# next operation would copy every column to align them.
_NOWHERE = pl.col(ROW_COLUMN).is_null()


def _distinct(frame: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """The distinct non-null values of text columns of few values, found in one pass."""
    if not columns:
        return {}
    found = frame.select(
        pl.col(c).cast(pl.String).unique().drop_nulls().implode() for c in columns
    ).row(0)
    return {c: list(values) for c, values in zip(columns, found, strict=True)}


def _tidy(column: str, values: list[str], case: Callable[[str], str]) -> pl.Expr:
    """A text column of few distinct values stripped, blank as null and `case` applied,
    worked out once per distinct value (and not at all when every value is already tidy)."""
    tidy = {v: case(v.strip()) or None for v in values}
    text = pl.col(column).cast(pl.String)
    if all(v == t for v, t in tidy.items()):
        return text
    return text.replace_strict(tidy, default=None, return_dtype=pl.String)


def _interval_code(values: list[str]) -> pl.Expr:
    """`interval` (as in the file) as an index into INTERVAL_CODES (day, week, month,
    quarter, year); null when it is not one of the names in INTERVALS."""
    codes = {v: INTERVAL_CODES.get(INTERVALS.get(v.strip().lower(), "")) for v in values}
    return (
        pl.col("interval")
        .cast(pl.String)
        .replace_strict(codes, default=None, return_dtype=pl.UInt8)
        .alias("_interval")
    )


def _status_in(values: list[str], statuses: tuple[str, ...]) -> pl.Expr:
    """Whether a row's (tidied) status is one of `statuses`, compared lower case, with spaces
    and dashes as underscores ("In Trial" is in_trial)."""
    tidy = {v.strip() for v in values}
    matching = [v for v in tidy if re.sub(r"[\s-]+", "_", v.lower()) in statuses]
    return pl.col("status").is_in(matching).fill_null(False) if matching else _NOWHERE


def normalize_periods(
    table: Table, options: NormalizeOptions, findings: Findings | None = None
) -> Rows:
    """Validate a `periods` table and compute each row's MRR in minor units.

    Raises InputError at the first problem, unless `findings` gathers them (validate).
    The table's frame is released once read (left empty), so that a large export is held
    once, not twice; its other fields stay.
    """
    findings = findings or Findings(table)
    frame = table.frame
    files = table.files
    read = table.frame.height + table.duplicates
    headers = [c for c in frame.columns if not c.startswith("_")]
    # Columns that are not canonical only decided duplicates: they are not needed any more.
    frame = frame.select(c for c in frame.columns if c in PERIODS_COLUMNS or c.startswith("_"))
    table.frame = table.frame.clear()
    missing = [c for c in ("customer_id", "start_date") if not _present(frame, c)]
    amount_column = next(
        (c for c in ("amount", "monthly_amount", "mrr") if _present(frame, c)), None
    )
    if amount_column is None:
        missing.append("amount")
    if missing:
        findings.fail(
            f"missing required column(s) {', '.join(missing)}; the file has "
            f"{', '.join(headers)}. "
            "Use --map canonical=Header to name them",
            files[0],
            fatal=True,
        )
    assert amount_column is not None
    already_monthly = amount_column != "amount"
    schema = frame.schema

    # Text columns: blank means absent. Ids are stripped; columns of few distinct values
    # (currency, interval, status) are tidied once per distinct value, and only if needed.
    distinct = _distinct(frame, [c for c in ("currency", "interval", "status") if c in schema])
    text: list[pl.Expr] = [
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None)
        for c in ("customer_id", "subscription_id")
        if c in schema
    ]
    text += [
        _tidy(c, values, str.upper if c == "currency" else str.strip)
        for c, values in distinct.items()
    ]
    if "plan_id" in schema:
        text.append(pl.col("plan_id").cast(pl.String))

    # Numbers as scaled integers, with as few decimal places as their types allow.
    amount_columns = [amount_column, "discount_amount", "addons_amount"]
    scales = _Scales(
        amount=max(_column_scale(schema[c], AMOUNT_SCALE) for c in amount_columns if c in schema),
        quantity=_column_scale(schema["quantity"], QUANTITY_SCALE)
        if "quantity" in schema
        else QUANTITY_SCALE,
        percent=_column_scale(schema["discount_percent"], PERCENT_SCALE)
        if "discount_percent" in schema
        else PERCENT_SCALE,
    )
    numbers = [_scaled(amount_column, schema[amount_column], scales.amount).alias("_amount")]
    optional_numbers = {
        "quantity": scales.quantity,
        "discount_percent": scales.percent,
        "discount_amount": scales.amount,
        "addons_amount": scales.amount,
        "interval_count": 0,
    }
    if not already_monthly:
        numbers += [
            _scaled(column, schema[column], scale).alias(f"_{column}")
            for column, scale in optional_numbers.items()
            if column in schema
        ]
        if "interval" in distinct:
            numbers.append(_interval_code(distinct["interval"]))
    # One pass: numbers read from the columns as they are, text columns replaced in place.
    frame = frame.with_columns(*numbers, *text)

    # Dates, parsed per file so one file's day-first dates do not decide another's.
    date_columns = [c for c in ("start_date", "end_date", "trial_end") if _present(frame, c)]
    parsed_parts = []
    date_orders: set[str] = set()
    raw_dates = frame.select(FILE_COLUMN, ROW_COLUMN, *date_columns)
    by_file = (
        [((0,), raw_dates)]
        if len(files) == 1
        else raw_dates.group_by(FILE_COLUMN, maintain_order=True)
    )
    for file_index, part in by_file:
        try:
            parsed, how = parse_date_columns(part, date_columns, options.dates)
            date_orders.add(how)
        except DateFormatError as error:
            findings.fail(str(error), files[int(file_index[0])], fatal=True)  # type: ignore[arg-type]
        parsed_parts.append(
            parsed.select(pl.col(c).cast(pl.Date).alias(f"{c}__parsed") for c in date_columns)
        )
    parsed_dates = pl.concat(parsed_parts) if len(parsed_parts) > 1 else parsed_parts[0]
    if len(parsed_parts) > 1:
        # group_by keeps files in order; rows within a file keep their order too.
        order = raw_dates.select(pl.arg_sort_by(FILE_COLUMN, maintain_order=True)).to_series()
        parsed_dates = parsed_dates.with_columns(pl.Series("_order", order)).sort("_order")
        parsed_dates = parsed_dates.drop("_order")
    frame = frame.with_columns(parsed_dates)

    expected_date = (
        f"expected the --date-format {options.dates.date_format!r}"
        if options.dates.date_format
        else "expected e.g. 2024-01-31"
    )

    def text_dates(c: str) -> pl.Expr:
        raw = pl.col(c)
        if frame.schema[c] == pl.String:
            raw = raw.str.strip_chars().replace("", None)
        return raw

    def unreadable(column: str, parsed: str, kind: str) -> Check:
        raw = pl.col(column)
        if frame.schema[column] == pl.String:
            raw = raw.str.strip_chars().replace("", None)
        return Check(
            column,
            raw.is_not_null() & pl.col(parsed).is_null(),
            lambda v: f"cannot read {v!r} as {kind}",
        )

    checks: list[Check] = [
        Check("customer_id", pl.col("customer_id").is_null(), lambda v: "customer_id is empty"),
        Check("start_date", pl.col("start_date").is_null(), lambda v: "start_date is empty"),
    ]
    for column in date_columns:
        checks.append(
            Check(
                column,
                text_dates(column).is_not_null() & pl.col(f"{column}__parsed").is_null(),
                lambda v: f"cannot read {v!r} as a date ({expected_date})",
            )
        )
    checks.append(unreadable(amount_column, "_amount", "an amount"))
    checks.append(
        Check(amount_column, pl.col(amount_column).is_null(), lambda v: "the amount is empty")
    )
    checks.append(Check(amount_column, pl.col("_amount") < 0, lambda v: f"negative amount {v!r}"))
    checks.append(
        Check(
            amount_column,
            pl.col("_amount").abs() >= MAX_AMOUNT * 10**scales.amount,
            lambda v: f"amount {v!r} is implausibly large (limit {MAX_AMOUNT:,})",
        )
    )
    if "_quantity" in frame.columns:
        checks += [
            unreadable("quantity", "_quantity", "a quantity"),
            Check("quantity", pl.col("_quantity") < 0, lambda v: f"negative quantity {v!r}"),
            Check(
                "quantity",
                pl.col("_quantity") >= MAX_QUANTITY * 10**scales.quantity,
                lambda v: f"quantity {v!r} is implausibly large",
            ),
        ]
    if "_discount_percent" in frame.columns:
        checks += [
            unreadable("discount_percent", "_discount_percent", "a percentage"),
            Check(
                "discount_percent",
                (pl.col("_discount_percent") < 0)
                | (pl.col("_discount_percent") > 100 * 10**scales.percent),
                lambda v: f"discount_percent {v!r} is not between 0 and 100",
            ),
        ]
    if "_discount_amount" in frame.columns:
        checks += [
            unreadable("discount_amount", "_discount_amount", "an amount"),
            Check(
                "discount_amount",
                pl.col("_discount_amount") < 0,
                lambda v: f"negative discount_amount {v!r}",
            ),
        ]
    if "_addons_amount" in frame.columns:
        checks += [
            unreadable("addons_amount", "_addons_amount", "an amount"),
            Check(
                "addons_amount",
                pl.col("_addons_amount") < 0,
                lambda v: f"negative addons_amount {v!r}",
            ),
        ]
    if "_interval_count" in frame.columns:
        checks += [
            unreadable("interval_count", "_interval_count", "a whole number"),
            Check(
                "interval_count",
                pl.col("_interval_count") <= 0,
                lambda v: f"interval_count {v!r} is not a positive whole number",
            ),
        ]
    if "_interval" in frame.columns:
        checks.append(
            Check(
                "interval",
                pl.col("interval").is_not_null() & pl.col("_interval").is_null(),
                lambda v: f"unknown interval {v!r} (expected day, week, month, quarter or year)",
            )
        )
    if "end_date" in date_columns:
        checks.append(
            Check(
                "end_date",
                pl.col("end_date__parsed") < pl.col("start_date__parsed"),
                lambda v: f"end_date {v!r} is before start_date",
            )
        )
    findings.check(frame, checks)
    # Gathering (validate) goes on past bad rows; they must not pass for rows at 0 MRR.
    frame = frame.with_columns(
        pl.any_horizontal(check.bad.fill_null(False) for check in checks).alias("_bad")
    )

    # Currency: per row, or the default; the reporting currency; rates when there are several.
    default_currency = (options.default_currency or options.currency or "").upper() or None
    if _present(frame, "currency"):
        if default_currency:
            frame = frame.with_columns(pl.col("currency").fill_null(default_currency))
    else:
        frame = frame.with_columns(pl.lit(default_currency, dtype=pl.String).alias("currency"))
    present = sorted(c for c in frame.get_column("currency").unique().to_list() if c is not None)
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
    if unknown:
        checks = [
            Check(
                "currency",
                pl.col("currency").is_in(unknown),
                lambda v: f"unknown currency {v!r} (expected an ISO 4217 code such as USD)",
            )
        ]
        findings.check(frame, checks)
    only = present[0] if len(present) == 1 else "USD"
    reporting = (options.currency or options.reporting_currency or only).upper()
    if not currencies.is_known(reporting):
        raise UsageError(f"unknown currency {reporting!r} for --currency")
    frame = frame.with_columns(pl.col("currency").fill_null(reporting))
    foreign = [c for c in present if c != reporting]
    if foreign and options.fx is None:
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
    exponent = currencies.exponent(reporting)

    # Amounts in the file's unit → a numerator/denominator pair of reporting minor units.
    if foreign:
        frame = _attach_rates(frame, findings, options.fx, reporting)  # type: ignore[arg-type]
    numerator, denominator, money = _mrr_fraction(
        frame, options, exponent, scales, already_monthly, bool(foreign)
    )

    trial = unpaid = _NOWHERE
    if _present(frame, "status"):
        trial = _status_in(distinct["status"], options.trial_statuses)
        unpaid = _status_in(distinct["status"], options.unpaid_statuses)
    exact = (2 * numerator + denominator) // (2 * denominator)
    frame = frame.with_columns(
        pl.when(trial | unpaid).then(pl.lit(0, dtype=money)).otherwise(exact).alias("_mrr"),
        trial.alias("_trial"),
    )
    # Money stays in Int64 minor units: bound each row, and the total, far from overflow.
    findings.check(
        frame,
        [
            Check(
                amount_column,
                pl.col("_mrr") > MAX_ROW_MRR,
                lambda v: (
                    f"the MRR of this row ({v!r} per interval) is implausibly large "
                    f"(limit {MAX_ROW_MRR:,} minor units a month)"
                ),
            )
        ],
    )
    within = pl.col("_mrr").filter(pl.col("_mrr") <= MAX_ROW_MRR)
    total = frame.select(within.cast(pl.Int128).sum()).item()
    if total is not None and total > MAX_TOTAL_MRR:
        findings.fail(
            f"the MRR of all rows together ({total:,} minor units) is too large to add up "
            "exactly; check the amount unit (--amount-unit) and quantities",
            ", ".join(files),
            fatal=True,
        )
    frame = frame.with_columns(
        pl.when((pl.col("_mrr") <= MAX_ROW_MRR) & ~pl.col("_bad"))
        .then(pl.col("_mrr"))
        .cast(pl.Int64)
        .alias("mrr")
    )
    trial_rows = int(frame.get_column("_trial").sum())
    zero_rows = int(((frame.get_column("mrr") == 0) & ~frame.get_column("_trial")).sum())

    subscription = (
        pl.col("subscription_id").fill_null(pl.col("customer_id"))
        if _present(frame, "subscription_id")
        else pl.col("customer_id")
    )
    plan = pl.col("plan_id") if _present(frame, "plan_id") else pl.lit(None, dtype=pl.String)
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
    result = frame.select(columns)
    if "trial_end" in date_columns:
        # A trial written as a paying row with its end ahead: the row is a free trial until
        # the trial ends (never after the row itself ends), then pays.
        trial_end = pl.col("trial_end__parsed")
        paid_from = pl.when(end.is_not_null() & (trial_end > end)).then(end).otherwise(trial_end)
        in_trial = (trial_end > start).fill_null(False)
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
        )
        result = pl.concat([paying, trials])
    return Rows(
        frame=result,
        currency=reporting,
        exponent=exponent,
        files=files,
        read=read,
        duplicates=table.duplicates,
        trial_rows=trial_rows,
        zero_rows=zero_rows,
        date_orders=date_orders,
    )


def read_fx(path: str, dates: DateParsing) -> pl.DataFrame:
    """An FX table: date, currency, rate (reporting-currency units per one unit of currency)."""
    from mrrcli.read.files import read_table

    table = read_table([path], ("date", "currency", "rate"), keep_duplicates=True)
    frame = table.frame
    missing = [c for c in ("date", "currency", "rate") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the --fx file needs columns date, currency, rate")
    parsed, _ = parse_date_columns(frame, ["date"], dates)
    parsed = parsed.with_columns(
        pl.col("currency").cast(pl.String).str.strip_chars().str.to_uppercase(),
        _scaled("rate", frame.schema["rate"], RATE_SCALE).alias("_rate"),
    )
    checks = [
        Check("date", pl.col("date").is_null(), lambda v: "cannot read the date"),
        Check("rate", pl.col("_rate").is_null(), lambda v: "cannot read the rate"),
        Check("rate", pl.col("_rate") <= 0, lambda v: "the rate must be positive"),
    ]
    Findings(table).check(parsed.with_columns(pl.col("rate").cast(pl.String)), checks)
    return parsed.select(pl.col("date").cast(pl.Date), "currency", "_rate").sort("date")


def _attach_rates(
    frame: pl.DataFrame, findings: Findings, fx: pl.DataFrame, reporting: str
) -> pl.DataFrame:
    """Each row's rate: the latest on or before its start date (1 for the reporting currency)."""
    ordered = frame.with_row_index("_order").sort("start_date__parsed")
    joined = ordered.join_asof(
        fx.rename({"date": "_fx_date"}),
        left_on="start_date__parsed",
        right_on="_fx_date",
        by="currency",
        strategy="backward",
        check_sortedness=False,  # both sides are sorted by date; `by` hides it from Polars
    )
    joined = joined.with_columns(
        pl.when(pl.col("currency") == reporting)
        .then(pl.lit(10**RATE_SCALE, dtype=pl.Int128))
        .otherwise(pl.col("_rate"))
        .alias("_rate")
    ).sort("_order")
    checks = [
        Check(
            "currency",
            pl.col("_rate").is_null(),
            lambda v: f"no --fx rate for {v} on or before this row's start_date",
        )
    ]
    findings.check(joined, checks)
    return joined.drop("_order", "_fx_date")
