"""Reading dates and timestamps as exports write them (SPEC §2.5).

Every column becomes a `pl.Date` in the reporting time zone. ISO 8601 dates and timestamps are
read directly; numeric day-first or month-first dates are read when the file's own values make
the order unambiguous; anything else needs `--date-format`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

# Time-zone abbreviations as exports write them (Recurly: `2014-01-07 23:54:41 PST`).
ZONE_ABBREVIATIONS = {
    "UTC": "+00:00",
    "GMT": "+00:00",
    "Z": "+00:00",
    "PST": "-08:00",
    "PDT": "-07:00",
    "MST": "-07:00",
    "MDT": "-06:00",
    "CST": "-06:00",
    "CDT": "-05:00",
    "EST": "-05:00",
    "EDT": "-04:00",
    "AKST": "-09:00",
    "AKDT": "-08:00",
    "HST": "-10:00",
    "BST": "+01:00",
    "CET": "+01:00",
    "CEST": "+02:00",
    "EET": "+02:00",
    "EEST": "+03:00",
    "IST": "+05:30",
    "JST": "+09:00",
    "AEST": "+10:00",
    "AEDT": "+11:00",
}

_TIME_SUFFIXES = ("", " %H:%M:%S%.f", " %H:%M")
_ORDERS = {
    "ymd": ("%Y-%m-%d", "%Y/%m/%d"),
    "mdy": ("%m/%d/%y", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y"),
    "dmy": ("%d/%m/%y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"),
}


class DateFormatError(Exception):
    """The values of a date column cannot be read, or their order is ambiguous."""


@dataclass(frozen=True)
class DateParsing:
    """How to turn text into dates: an explicit format, the zones involved."""

    date_format: str | None = None
    timezone: str = "UTC"
    source_timezone: str | None = None  # the zone of timestamps written without an offset


def _clean(col: pl.Expr) -> pl.Expr:
    """Normalise separators and zone spellings so one family of formats reads them all."""
    text = col.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})T", "$1 ")
    for abbreviation, offset in ZONE_ABBREVIATIONS.items():
        pattern = rf"(\d)\s*{abbreviation}$" if len(abbreviation) == 1 else rf"\s+{abbreviation}$"
        replacement = f"${{1}}{offset}" if len(abbreviation) == 1 else offset
        text = text.str.replace(pattern, replacement)
    return text


def _parse_family(text: pl.Expr, date_formats: tuple[str, ...], p: DateParsing) -> pl.Expr:
    """Coalesce every date/time format of one field order into a date in the reporting zone."""
    attempts: list[pl.Expr] = []
    zone = p.source_timezone or p.timezone
    for date_format in date_formats:
        attempts.append(text.str.to_date(date_format, strict=False))
        for suffix in _TIME_SUFFIXES[1:]:
            fmt = date_format + suffix
            aware = text.str.to_datetime(fmt + "%z", strict=False, time_unit="us", time_zone="UTC")
            naive = text.str.to_datetime(fmt, strict=False, time_unit="us")
            attempts.append(aware.dt.convert_time_zone(p.timezone).dt.date())
            attempts.append(
                naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone(p.timezone)
                .dt.date()
            )
    return pl.coalesce(attempts)


def _explicit(text: pl.Expr, p: DateParsing) -> pl.Expr:
    assert p.date_format is not None
    fmt = p.date_format
    if "%H" not in fmt and "%s" not in fmt:
        return text.str.to_date(fmt, strict=False)
    zone = p.source_timezone or p.timezone
    if "%z" in fmt or "%Z" in fmt:
        aware = text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        return aware.dt.convert_time_zone(p.timezone).dt.date()
    naive = text.str.to_datetime(fmt, strict=False, time_unit="us")
    return (
        naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone(p.timezone)
        .dt.date()
    )


def _typed_timestamp(column: str, dtype: pl.DataType, p: DateParsing) -> pl.Expr:
    """A Parquet timestamp cut to a date in the reporting zone (naive ones are in the source's
    zone, or the reporting zone)."""
    value = pl.col(column)
    assert isinstance(dtype, pl.Datetime)
    if dtype.time_zone is None:
        zone = p.source_timezone or p.timezone
        value = value.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return value.dt.convert_time_zone(p.timezone).dt.date().alias(column)


def _failures(frame: pl.DataFrame, columns: list[str], parsed: dict[str, pl.Expr]) -> int:
    checks = [(pl.col(c).is_not_null() & parsed[c].is_null()).sum() for c in columns]
    counts = frame.select(checks).row(0)
    return int(sum(counts))


def parse_date_columns(
    frame: pl.DataFrame, columns: list[str], p: DateParsing
) -> tuple[pl.DataFrame, str]:
    """Parse the text `columns` of one file's `frame` into `pl.Date` columns.

    Returns the frame with those columns replaced (unparseable values become null; the caller
    reports them) and the field order chosen ("ymd", "mdy", "dmy" or "explicit"). Raises
    DateFormatError when numeric dates could be read either way.
    """
    frame = frame.with_columns(
        _typed_timestamp(c, frame.schema[c], p)
        for c in columns
        if isinstance(frame.schema[c], pl.Datetime)
    )
    # Numbers (epoch seconds? days? a spreadsheet serial?) are not dates: read them as text,
    # so they are reported as unreadable rather than guessed.
    frame = frame.with_columns(
        pl.col(c).cast(pl.String)
        for c in columns
        if frame.schema[c] != pl.Date and not isinstance(frame.schema[c], pl.Datetime)
    )
    text_columns = [c for c in columns if frame.schema[c] == pl.String]
    if not text_columns:
        return frame, "typed"
    cleaned = frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in text_columns
    )
    if p.date_format:
        parsed = {c: _explicit(pl.col(c), p) for c in text_columns}
        return cleaned.with_columns(parsed[c].alias(c) for c in text_columns), "explicit"

    # Fast path: plain ISO dates, the common case for large files.
    plain = {c: pl.col(c).str.to_date("%Y-%m-%d", strict=False) for c in text_columns}
    if _failures(cleaned, text_columns, plain) == 0:
        return cleaned.with_columns(plain[c].alias(c) for c in text_columns), "ymd"

    chosen, parsed = _numeric_order(cleaned, text_columns, p)
    return cleaned.with_columns(parsed[c].alias(c) for c in text_columns), chosen


def _numeric_order(
    cleaned: pl.DataFrame, text_columns: list[str], p: DateParsing
) -> tuple[str, dict[str, pl.Expr]]:
    """The field order that reads every value ("ymd" first; day-first or month-first only
    when the values tell which), and the parsing expression of each column in it."""
    texts = {c: _clean(pl.col(c)) for c in text_columns}
    results: dict[str, tuple[int, dict[str, pl.Expr]]] = {}
    for order, formats in _ORDERS.items():
        # ISO dates are never ambiguous: a column may mix them with one numeric order.
        if order != "ymd":
            formats = (*formats, *_ORDERS["ymd"])
        parsed = {c: _parse_family(texts[c], formats, p) for c in text_columns}
        results[order] = (_failures(cleaned, text_columns, parsed), parsed)
        if order == "ymd" and results[order][0] == 0:
            break
    clean_orders = [order for order, (failures, _) in results.items() if failures == 0]
    if "ymd" in clean_orders:
        chosen = "ymd"
    elif clean_orders == ["mdy", "dmy"]:
        day_first, month_first = _both_orders(cleaned, text_columns[0])
        raise DateFormatError(
            f"column {', '.join(repr(c) for c in text_columns)}: numeric dates could be "
            "day-first or month-first (no day above 12 tells which); give --date-format "
            f"'{day_first}' (day first) or --date-format '{month_first}' (month first)"
        )
    elif clean_orders:
        chosen = clean_orders[0]
    else:
        # Nothing reads every value: keep the order that reads most, and let the caller
        # report the values it cannot read.
        chosen = min(results, key=lambda order: results[order][0])
    return chosen, results[chosen][1]


def _both_orders(frame: pl.DataFrame, column: str) -> tuple[str, str]:
    """The day-first and month-first --date-format of `column`'s dates, with the separator and
    the year's length its first value shows (`%d.%m.%Y` and `%m.%d.%Y` for 03.04.2024)."""
    sample = frame.get_column(column).drop_nulls().head(1).to_list()
    text = str(sample[0]).strip() if sample else ""
    found = re.match(r"\d{1,2}([/.-])\d{1,2}[/.-](\d+)", text)
    separator, year = (
        (found.group(1), "%y" if len(found.group(2)) == 2 else "%Y") if found else ("/", "%Y")
    )
    return (
        f"%d{separator}%m{separator}{year}",
        f"%m{separator}%d{separator}{year}",
    )
