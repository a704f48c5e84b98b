"""Reading dates and timestamps as exports write them (SPEC §2.5).

Every column becomes a `pl.Date` in the reporting time zone. ISO 8601 dates and timestamps are
read directly; numeric day-first or month-first dates are read when the file's own values make
the order unambiguous; anything else needs `--date-format`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import cast

import polars as pl

from mrrcli.read.orders import TALLY_ORDERS, Tally, chosen_order

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

# A trailing UTC offset, as `_clean` leaves it (`+00:00`, `-0500`), or `Z` as written.
_OFFSET = r"\s*[+-]\d{2}:?\d{2}$"
_OFFSET_OR_Z = r"\s*(?:[+-]\d{2}:?\d{2}|Z)$"
_TIME_SUFFIXES = ("", " %H:%M:%S%.f", " %H:%M")
_ORDERS = {
    "ymd": ("%Y-%m-%d", "%Y/%m/%d"),
    "mdy": ("%m/%d/%y", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y"),
    "dmy": ("%d/%m/%y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"),
}


class DateFormatError(Exception):
    """The values of a date column cannot be read, or their order is ambiguous."""


class OpenOrder(DateFormatError):
    """Numeric dates that read day-first and month-first alike: no day above 12 tells which.
    (A run in parts reads such a part again in the order its whole file shows: SPEC §13.)"""

    def __init__(self, columns: Sequence[str], problem: str, tally: Tally) -> None:
        self.tally, self.columns, self.problem = tally, tuple(columns), problem
        super().__init__(self.naming(str))

    def naming(self, shown: Callable[[str], str]) -> str:
        """The message, each column named as `shown` gives it (the file's own header)."""
        return f"column {', '.join(repr(shown(c)) for c in self.columns)}: {self.problem}"


@dataclass(frozen=True)
class DateParsing:
    """How to turn text into dates: an explicit format, the zones involved."""

    date_format: str | None = None
    timezone: str = "UTC"
    source_timezone: str | None = None  # the zone of timestamps written without an offset
    # A timestamp with an offset keeps the date of its own wall clock instead of being moved to
    # `timezone` (how long an invoice line is, measured in the billing system's zone).
    as_written: bool = False
    # The order of numeric dates ("ymd", "mdy" or "dmy") when the whole file has told it: a
    # part of a run in parts is read in its file's order, not its own (SPEC §13).
    order: str | None = None
    # For a run in parts: the order of each file (by its index, `_file`) chosen from all its
    # parts (chosen_order), as (file index, order) pairs; see of_file.
    file_orders: tuple[tuple[int, str], ...] = ()

    def of_file(self, index: int) -> DateParsing:
        """How the dates of file `index` are read: in its own order when `orders` names one."""
        order = dict(self.file_orders).get(index)
        return self if order is None else replace(self, order=order)


def month_as_date(text: pl.Expr) -> pl.Expr:
    """A month as snapshot exports write it, as a date to read (SPEC §2.3): `2024-03` names
    the month, read as its first day; any date in the month is read as it is (stripped)."""
    text = text.str.strip_chars()
    return pl.when(text.str.contains(r"^\d{4}-\d{1,2}$")).then(text + "-01").otherwise(text)


def _clean(col: pl.Expr) -> pl.Expr:
    """Normalise separators and zone spellings so one family of formats reads them all."""
    text = col.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})T", "$1 ")
    for abbreviation, offset in ZONE_ABBREVIATIONS.items():
        pattern = rf"(\d)\s*{abbreviation}$" if len(abbreviation) == 1 else rf"\s+{abbreviation}$"
        replacement = f"${{1}}{offset}" if len(abbreviation) == 1 else offset
        text = text.str.replace(pattern, replacement)
    return text


# A column's values parsed: dates (date-only values and timestamps with an offset, already in
# the reporting zone) and the naive timestamps still to be placed in their zone.
Parsed = tuple[pl.Expr, pl.Expr]
_NO_NAIVE = pl.lit(None, dtype=pl.Datetime("us"))


def _year_first(text: pl.Expr, fmt: str) -> pl.Expr:
    """`text` for a year-first format only where it starts with a four-digit year (`%Y` alone
    would read 03/04/24 as the year 3)."""
    return pl.when(text.str.contains(r"^\d{4}\D")).then(text) if fmt.startswith("%Y") else text


def _parse_family(text: pl.Expr, date_formats: tuple[str, ...], p: DateParsing) -> Parsed:
    """Every date/time format of one field order, coalesced."""
    formats = [f + suffix for f in date_formats for suffix in _TIME_SUFFIXES[1:]]
    dates = [_year_first(text, f).str.to_date(f, strict=False) for f in date_formats]
    aware = pl.coalesce(
        _year_first(text, f).str.to_datetime(
            f + "%z", strict=False, time_unit="us", time_zone="UTC"
        )
        for f in formats
    )
    naive = pl.coalesce(
        _year_first(text, f).str.to_datetime(f, strict=False, time_unit="us") for f in formats
    )
    if p.as_written:
        # The offset written is the billing system's own zone: keep its wall-clock date.
        stripped = text.str.replace(_OFFSET, "")
        written = pl.coalesce(
            _year_first(stripped, f).str.to_datetime(f, strict=False, time_unit="us")
            for f in formats
        )
        aware_date: pl.Expr = pl.when(aware.is_not_null()).then(written.dt.date())
    else:
        aware_date = aware.dt.convert_time_zone(p.timezone).dt.date()
    return pl.coalesce(*dates, aware_date), naive


def _explicit(text: pl.Expr, p: DateParsing) -> Parsed:
    assert p.date_format is not None
    fmt = p.date_format
    if "%H" not in fmt and "%s" not in fmt:
        return text.str.to_date(fmt, strict=False), _NO_NAIVE
    if p.as_written and ("%z" in fmt or "%:z" in fmt):
        # The wall-clock date as written, in the offset the export wrote.
        fmt = fmt.replace("%:z", "").replace("%z", "").rstrip()
        written = text.str.strip_chars().str.replace(_OFFSET_OR_Z, "")
        return written.str.to_datetime(fmt, strict=False, time_unit="us").dt.date(), _NO_NAIVE
    if "%z" in fmt or "%Z" in fmt:
        aware = text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
        return aware.dt.convert_time_zone(p.timezone).dt.date(), _NO_NAIVE
    return pl.lit(None, dtype=pl.Date), text.str.to_datetime(fmt, strict=False, time_unit="us")


# Zones that never skip or repeat a wall-clock time: no gap to look for. (All are UTC.)
FIXED_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "GMT", "Etc/GMT", "Zulu"})


def localize(naive: pl.Series, zone: str) -> pl.Series:
    """Naive wall-clock datetimes as instants in `zone` (SPEC §2.5, settled): a time the zone
    repeats (the fall-back hour) is its first occurrence; a time it skips (a daylight-saving
    gap) is the first instant after the gap (03:00 for 02:30 in New York's spring-forward)."""
    naive = naive.cast(pl.Datetime("us"))
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    if zone in FIXED_ZONES:
        return local
    in_gap = local.is_null() & naive.is_not_null()
    if not in_gap.any():
        return local
    return local.scatter(in_gap.arg_true(), _end_of_gap(naive.filter(in_gap), zone))


def _end_of_gap(naive: pl.Series, zone: str) -> pl.Series:
    """For naive times inside a gap of `zone` (few rows), the transition that made the gap:
    its first instant after, in `zone`.

    Read at the offset in force after the gap, the wall time is an instant before the
    transition, which follows it by no more than the gap (at most a day). The transition is
    the first whole hour from there in the new offset, less the minutes, then the seconds,
    before it also in the new offset: a fixed number of candidates, no loop over rows."""
    wall = pl.col("wall")
    after = pl.col("after")

    def first_in_new_offset(base: pl.Expr, steps: list[pl.Expr]) -> pl.Expr:
        candidates = [base + step for step in steps]
        return pl.coalesce(pl.when(_utc_offset(c, zone) == after).then(c) for c in candidates)

    hours = [pl.duration(hours=k) for k in range(1, 26)]
    minutes = [pl.duration(minutes=k) for k in range(-59, 1)]
    seconds = [pl.duration(seconds=k) for k in range(-59, 1)]
    found = (
        pl.DataFrame({"wall": naive.dt.replace_time_zone("UTC")})
        .with_columns(after=_utc_offset(wall + pl.duration(days=1), zone))
        .with_columns(hour=(wall - after).dt.truncate("1h"))
        .with_columns(hour=first_in_new_offset(pl.col("hour"), hours))
        .with_columns(minute=first_in_new_offset(pl.col("hour"), minutes))
        .with_columns(second=first_in_new_offset(pl.col("minute"), seconds))
    )
    return found.get_column("second").dt.convert_time_zone(zone).cast(pl.Datetime("us", zone))


def _utc_offset(instant: pl.Expr, zone: str) -> pl.Expr:
    local = instant.dt.convert_time_zone(zone)
    return local.dt.base_utc_offset() + local.dt.dst_offset()


def _placed(frame: pl.DataFrame, parsed: dict[str, Parsed], p: DateParsing) -> pl.DataFrame:
    """`frame` with each parsed column as dates in the reporting zone: its naive timestamps
    placed in the source's zone (else the reporting zone), gaps and repeats as SPEC §2.5."""
    zone = p.source_timezone or p.timezone
    staged = frame.with_columns(
        pl.struct(dated.alias("dated"), naive.cast(pl.Datetime("us")).alias("naive")).alias(c)
        for c, (dated, naive) in parsed.items()
    )
    placed = []
    for c in parsed:
        fields = staged.get_column(c).struct
        dated = fields.field("dated")
        naive_dates = localize(fields.field("naive"), zone).dt.convert_time_zone(p.timezone)
        placed.append(dated.zip_with(dated.is_not_null(), naive_dates.dt.date()).alias(c))
    return staged.with_columns(placed)


def _typed_timestamp(column: str, dtype: pl.DataType, p: DateParsing) -> Parsed:
    """A Parquet timestamp: dates if it has a zone, else naive."""
    value = pl.col(column)
    assert isinstance(dtype, pl.Datetime)
    if dtype.time_zone is None:
        return pl.lit(None, dtype=pl.Date), value
    if p.as_written:
        return value.dt.date(), _NO_NAIVE
    return value.dt.convert_time_zone(p.timezone).dt.date(), _NO_NAIVE


def _failures(frame: pl.DataFrame, columns: list[str], parsed: dict[str, Parsed]) -> int:
    """How many values of `columns` neither parse reads."""
    checks = [
        (pl.col(c).is_not_null() & parsed[c][0].is_null() & parsed[c][1].is_null()).sum()
        for c in columns
    ]
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
    parsed, how, _ = read_date_columns(frame, columns, p)
    return parsed, how


def read_date_columns(
    frame: pl.DataFrame, columns: list[str], p: DateParsing
) -> tuple[pl.DataFrame, str, Tally | None]:
    """parse_date_columns, and the tally of the values (Tally) when the order was chosen from
    them (None: typed columns, --date-format, or an order given in `p`)."""
    typed = {
        c: _typed_timestamp(c, dtype, p)
        for c, dtype in frame.schema.items()
        if c in columns and isinstance(dtype, pl.Datetime)
    }
    if typed:
        frame = _placed(frame, typed, p)
    # Numbers (epoch seconds? days? a spreadsheet serial?) are not dates: read them as text,
    # so they are reported as unreadable rather than guessed.
    frame = frame.with_columns(
        pl.col(c).cast(pl.String)
        for c in columns
        if frame.schema[c] != pl.Date and not isinstance(frame.schema[c], pl.Datetime)
    )
    text_columns = [c for c in columns if frame.schema[c] == pl.String]
    if not text_columns:
        return frame, "typed", None
    cleaned = frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in text_columns
    )
    if p.date_format:
        placed = _placed(cleaned, {c: _explicit(pl.col(c), p) for c in text_columns}, p)
        return placed, "explicit", None

    # Fast path: plain ISO dates, the common case for large files. (Every order reads what
    # year-first reads: each also tries the year-first formats.)
    iso = None if p.order else (0, 0, 0)
    plain = {c: (pl.col(c).str.to_date("%Y-%m-%d", strict=False), _NO_NAIVE) for c in text_columns}
    if _failures(cleaned, text_columns, plain) == 0:
        return cleaned.with_columns(plain[c][0].alias(c) for c in text_columns), "ymd", iso
    days = _wall_clock_days(cleaned, text_columns, p)
    if days is not None:
        return days, "ymd", iso

    chosen, parsed, tally = _numeric_order(cleaned, text_columns, p)
    return _placed(cleaned, parsed, p), chosen, tally


_DAY = r"^\d{4}-\d{2}-\d{2}"
_TIME = r"[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"


def written_day(column: str, p: DateParsing) -> tuple[pl.Expr, pl.Expr] | None:
    """For ISO timestamps whose date is the day they start with (Stripe's `2024-03-01 12:34`,
    `2024-03-01T12:34:56Z`), as the full reading would find it: (that day, whether the value
    is of such a form, or null). Such are a naive time read in a UTC reporting zone itself (a
    zone with gaps may move it to the next day: Nuuk skips 23:00-24:00), a time at UTC read
    into a UTC reporting zone, and any offset when the date is kept as written
    (`as_written`). None when `p` reads no value this way (another zone, --date-format)."""
    fixed = p.timezone in FIXED_ZONES
    naive = fixed and (p.source_timezone or p.timezone) == p.timezone
    if p.date_format:
        return None
    if p.as_written:
        offset = r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)"
    elif fixed:
        offset = r"(?:Z|[+-]00:?00)"
    else:
        return None
    pattern = f"{_DAY}(?:{_TIME}{offset}{'?' if naive else ''})?$"
    text = pl.col(column)
    day = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return day, text.is_null() | (text.str.contains(pattern) & day.is_not_null())


def _wall_clock_days(
    cleaned: pl.DataFrame, columns: list[str], p: DateParsing
) -> pl.DataFrame | None:
    """Fast path: `cleaned` with the day of each value when every value of `columns` is read
    as the day it starts with (see written_day), else None (the full reading then reads every
    value)."""
    written = [written_day(c, p) for c in columns]
    if any(w is None for w in written):
        return None
    days = [w for w in written if w is not None]
    if not all(cleaned.select(fits.all() for _, fits in days).row(0)):
        return None
    return cleaned.with_columns(day.alias(c) for c, (day, _) in zip(columns, days, strict=True))


def _numeric_order(
    cleaned: pl.DataFrame, text_columns: list[str], p: DateParsing
) -> tuple[str, dict[str, Parsed], Tally | None]:
    """The field order that reads every value ("ymd" first; day-first or month-first only
    when the values tell which: chosen_order), the parsing expressions of each column in it,
    and the tally it was chosen from (None when `p` gives the order)."""
    texts = {c: _clean(pl.col(c)) for c in text_columns}
    results: dict[str, tuple[int, dict[str, Parsed]]] = {}
    orders = {o: f for o, f in _ORDERS.items() if p.order is None or o in ("ymd", p.order)}
    for order, formats in orders.items():
        # ISO dates are never ambiguous: a column may mix them with one numeric order.
        if order != "ymd":
            formats = (*formats, *_ORDERS["ymd"])
        parsed = {c: _parse_family(texts[c], formats, p) for c in text_columns}
        results[order] = (_failures(cleaned, text_columns, parsed), parsed)
        if order == "ymd" and results[order][0] == 0:
            break
    if p.order is not None:
        # The file's order, chosen from all its values (values all year-first read alike).
        chosen = "ymd" if results["ymd"][0] == 0 else p.order
        return chosen, results[chosen][1], None
    tally = cast(Tally, tuple(results[o][0] if o in results else 0 for o in TALLY_ORDERS))
    chosen_one = chosen_order(tally)
    if chosen_one is None:
        day_first, month_first = _both_orders(cleaned, text_columns[0])
        problem = "numeric dates could be day-first or month-first (no day above 12 tells "
        problem += f"which); give --date-format '{day_first}' (day first) or --date-format "
        raise OpenOrder(text_columns, f"{problem}'{month_first}' (month first)", tally)
    return chosen_one, results[chosen_one][1], tally


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
