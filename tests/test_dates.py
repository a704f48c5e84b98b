"""Dates and timestamps as exports write them (SPEC §2.5), through `report.load`.

Every timestamp is converted to `--timezone` (default UTC) before it is cut to a date; a
timestamp without an offset is in `--timezone` already.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from mrrcli.errors import InputError
from mrrcli.read import dates, orders
from mrrcli.read.dates import DateParsing, parse_date_columns
from mrrcli.report import load

NEW_YORK = "America/New_York"


def write(tmp_path: Path, text: str, name: str = "dates.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def dates_of(paths: list[str], **options: object) -> list[tuple[date, date | None]]:
    """(start_date, end_date) of every row, in input order."""
    rows = load(paths, **options)  # type: ignore[arg-type]
    return rows.frame.sort("_file", "_row").select("start_date", "end_date").rows()


def starts(tmp_path: Path, values: list[str], **options: object) -> list[date]:
    text = "customer_id,start_date,amount\n" + "".join(
        f"c{i},{v},10\n" for i, v in enumerate(values)
    )
    return [start for start, _ in dates_of([write(tmp_path, text)], **options)]


# --- ISO dates and timestamps -----------------------------------------------------------------


def test_iso_dates_with_empty_end(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,end_date,amount\n"
        "c1,2024-01-15,2024-02-29,10\n"
        "c2,2024-02-01,,10\n"
        "c3,2024-03-01,  ,10\n"
    )
    assert dates_of([write(tmp_path, text)]) == [
        (date(2024, 1, 15), date(2024, 2, 29)),
        (date(2024, 2, 1), None),
        (date(2024, 3, 1), None),
    ]


def test_offset_timestamp_crossing_midnight_in_utc(tmp_path: Path) -> None:
    # 23:30 at −05:00 is 04:30 the next day in UTC
    assert starts(tmp_path, ["2024-01-31T23:30:00-05:00"]) == [date(2024, 2, 1)]


def test_offset_timestamp_in_its_own_zone(tmp_path: Path) -> None:
    # 23:30 at −05:00 is 23:30 in New York (EST in January)
    assert starts(tmp_path, ["2024-01-31T23:30:00-05:00"], timezone=NEW_YORK) == [date(2024, 1, 31)]


def test_utc_timestamps_converted_to_timezone(tmp_path: Path) -> None:
    values = ["2024-02-01T04:30:00Z", "2024-02-01T04:30:00+00:00", "2024-02-01T04:30:00+0000"]
    # 04:30 UTC is the same day in UTC, 23:30 the day before in New York (UTC−5)
    assert starts(tmp_path, values) == [date(2024, 2, 1)] * 3
    assert starts(tmp_path, values, timezone=NEW_YORK) == [date(2024, 1, 31)] * 3


def test_summer_offset_of_the_timezone(tmp_path: Path) -> None:
    # 03:30 UTC on 1 July is 23:30 on 30 June in New York (EDT, UTC−4);
    # 04:30 UTC would be 00:30 on 1 July.
    values = ["2024-07-01T03:30:00Z", "2024-07-01T04:30:00Z"]
    assert starts(tmp_path, values, timezone=NEW_YORK) == [date(2024, 6, 30), date(2024, 7, 1)]


def test_timestamp_with_offset_east_of_utc(tmp_path: Path) -> None:
    # 00:30 at +09:00 (Tokyo) is 15:30 the day before in UTC
    assert starts(tmp_path, ["2024-03-01T00:30:00+09:00"]) == [date(2024, 2, 29)]


def test_timestamps_without_offset_are_in_the_timezone(tmp_path: Path) -> None:
    values = ["2024-01-31 23:30", "2024-01-31 23:30:59", "2024-01-31T23:30:00"]
    values.append("2024-01-31 23:30:00.250")
    # No offset: the wall-clock time is already in --timezone, so the date stays the 31st.
    assert starts(tmp_path, values) == [date(2024, 1, 31)] * 4
    assert starts(tmp_path, values, timezone=NEW_YORK) == [date(2024, 1, 31)] * 4


def test_iso_dates_and_timestamps_mixed_in_one_column(tmp_path: Path) -> None:
    # a plain date is a date; the timestamp still converts: 23:30 at −05:00 → 1 Feb UTC
    values = ["2024-01-01", "2024-01-31T23:30:00-05:00"]
    assert starts(tmp_path, values) == [date(2024, 1, 1), date(2024, 2, 1)]


def test_end_date_timestamp_is_converted_too(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,end_date,amount\nc1,2024-01-10T12:00:00Z,2024-03-01T02:00:00Z,10\n"
    )
    # 02:00 UTC on 1 March is 21:00 on 29 February in New York
    assert dates_of([write(tmp_path, text)], timezone=NEW_YORK) == [
        (date(2024, 1, 10), date(2024, 2, 29))
    ]


def test_parquet_timestamps_are_converted_to_the_timezone(tmp_path: Path) -> None:
    path = str(tmp_path / "timestamps.parquet")
    pl.DataFrame(
        {
            "customer_id": ["c1"],
            "start_date": [datetime(2024, 2, 1, 3, 30)],
            "amount": [10],
        }
    ).with_columns(pl.col("start_date").dt.replace_time_zone("UTC")).write_parquet(path)
    # 03:30 UTC on 1 February is 22:30 on 31 January in New York
    assert dates_of([path]) == [(date(2024, 2, 1), None)]
    assert dates_of([path], timezone=NEW_YORK) == [(date(2024, 1, 31), None)]


# --- numeric dates: month-first, day-first, ambiguous -----------------------------------------


def test_month_first_detected(tmp_path: Path) -> None:
    # 01/13/2024 can only be month-first (there is no month 13), so 02/03/2024 is 3 February
    assert starts(tmp_path, ["01/13/2024", "02/03/2024"]) == [date(2024, 1, 13), date(2024, 2, 3)]


def test_day_first_detected(tmp_path: Path) -> None:
    # 13/01/2024 can only be day-first, so 02/03/2024 is 2 March
    assert starts(tmp_path, ["13/01/2024", "02/03/2024"]) == [date(2024, 1, 13), date(2024, 3, 2)]


def test_unpadded_and_two_digit_years(tmp_path: Path) -> None:
    assert starts(tmp_path, ["1/13/2024", "2/3/2024"]) == [date(2024, 1, 13), date(2024, 2, 3)]
    assert starts(tmp_path, ["1/13/24", "2/3/24"]) == [date(2024, 1, 13), date(2024, 2, 3)]


def test_month_first_with_times(tmp_path: Path) -> None:
    values = ["01/31/2024 23:30", "12/13/2024 01:00"]
    assert starts(tmp_path, values) == [date(2024, 1, 31), date(2024, 12, 13)]


def test_day_first_with_dots(tmp_path: Path) -> None:
    assert starts(tmp_path, ["31.12.2023", "01.02.2024"]) == [date(2023, 12, 31), date(2024, 2, 1)]


def test_each_file_decides_its_own_order(tmp_path: Path) -> None:
    header = "customer_id,start_date,amount\n"
    us = write(tmp_path, header + "c1,12/31/2023,1\nc2,02/03/2024,1\n", "us.csv")
    eu = write(tmp_path, header + "c3,31/12/2023,1\nc4,02/03/2024,1\n", "eu.csv")
    assert [start for start, _ in dates_of([us, eu])] == [
        date(2023, 12, 31),
        date(2024, 2, 3),  # month-first file
        date(2023, 12, 31),
        date(2024, 3, 2),  # day-first file
    ]


def test_ambiguous_numeric_dates_need_date_format(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,start_date,amount\nc1,01/02/2024,1\nc2,03/04/2024,1\n")
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(path)
    assert "--date-format" in message


def test_explicit_date_format_resolves_ambiguity(tmp_path: Path) -> None:
    values = ["01/02/2024", "03/04/2024"]
    assert starts(tmp_path, values, date_format="%d/%m/%Y") == [date(2024, 2, 1), date(2024, 4, 3)]
    assert starts(tmp_path, values, date_format="%m/%d/%Y") == [date(2024, 1, 2), date(2024, 3, 4)]


def test_explicit_date_format_with_time_and_zone(tmp_path: Path) -> None:
    # 31 Jan 2024 23:30 at −05:00 → 1 February in UTC
    values = ["31/01/2024 23:30 -0500"]
    assert starts(tmp_path, values, date_format="%d/%m/%Y %H:%M %z") == [date(2024, 2, 1)]


def test_value_not_matching_explicit_format_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,start_date,amount\nc1,01/02/2024,1\nc2,2024-03-04,1\n")
    with pytest.raises(InputError) as error:
        load([path], date_format="%d/%m/%Y")
    message = str(error.value)
    assert message.startswith(f"{path}, row 3, column 'start_date':")
    assert "2024-03-04" in message


# --- unreadable dates -------------------------------------------------------------------------


def test_unreadable_dates_name_file_row_column_and_others(tmp_path: Path) -> None:
    text = (
        "customer_id,start_date,end_date,amount\n"
        "c1,2024-01-01,,1\n"
        "c2,2024-01-01,2024-02-30,1\n"  # no 30 February
        "c3,2024-01-01,soon,1\n"
        "c4,2024-01-01,2024-13-01,1\n"  # no month 13
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(f"{path}, row 3, column 'end_date':")
    assert "2024-02-30" in message
    assert message.endswith("(2 other rows have the same problem)")


def test_empty_start_date_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "customer_id,start_date,amount\nc1,2024-01-01,1\nc2,,1\n")
    with pytest.raises(InputError) as error:
        load([path])
    assert str(error.value).startswith(f"{path}, row 3, column 'start_date':")


@pytest.mark.parametrize(
    ("values", "day_first", "month_first"),
    [
        (["01/02/2024", "03/04/2024"], "%d/%m/%Y", "%m/%d/%Y"),
        (["01.02.2024", "03.04.2024"], "%d.%m.%Y", "%m.%d.%Y"),
        (["01-02-2024", "03-04-2024"], "%d-%m-%Y", "%m-%d-%Y"),
    ],
)
def test_ambiguous_dates_offer_both_orders_as_written(
    tmp_path: Path, values: list[str], day_first: str, month_first: str
) -> None:
    rows = "".join(f"c{i},{v},1\n" for i, v in enumerate(values))
    path = write(tmp_path, "customer_id,start_date,amount\n" + rows)
    with pytest.raises(InputError) as error:
        load([path])
    assert (
        f"give --date-format '{day_first}' (day first) or --date-format '{month_first}' "
        "(month first)"
    ) in str(error.value)


def test_two_digit_years_are_never_read_as_a_four_digit_year(tmp_path: Path) -> None:
    # 03/04/24 is not the year 3 (a year-first format read it as 0003-04-24): with 25/06/24 in
    # the file the order is day-first, so 03/04/24 is 3 April 2024 and 25/06/24 is 25 June.
    assert starts(tmp_path, ["03/04/24", "25/06/24"]) == [date(2024, 4, 3), date(2024, 6, 25)]
    # Alone, 03/04/24 and 05/06/24 could be either order: that needs --date-format.
    with pytest.raises(InputError, match="day-first or month-first"):
        starts(tmp_path, ["03/04/24", "05/06/24"])


@pytest.mark.parametrize(
    ("values", "parsing", "expected"),
    [
        # Naive times read in a UTC reporting zone keep their day.
        (["2024-03-01 23:30", "2024-03-02"], DateParsing(), [date(2024, 3, 1), date(2024, 3, 2)]),
        (
            ["2024-03-10 02:30:00", "2024-03-10T23:59:59.5"],
            DateParsing(source_timezone="UTC"),
            [date(2024, 3, 10), date(2024, 3, 10)],
        ),
        # Times at UTC (Z, +00:00, +0000) in a UTC reporting zone: their UTC day.
        (
            ["2024-03-01T23:30:00Z", "2024-03-01 23:30+00:00", "2024-02-29T00:00:00+0000"],
            DateParsing(),
            [date(2024, 3, 1), date(2024, 3, 1), date(2024, 2, 29)],
        ),
        # The day as written, whatever the offset (an invoice line in its billing zone).
        (
            ["2024-03-01T23:30:00+05:00", "2024-03-01T00:10:00-08:00"],
            DateParsing(as_written=True),
            [date(2024, 3, 1), date(2024, 3, 1)],
        ),
    ],
)
def test_iso_timestamps_whose_day_is_written_first_are_read_without_the_full_parse(
    monkeypatch: pytest.MonkeyPatch,
    values: list[str],
    parsing: DateParsing,
    expected: list[date],
) -> None:
    frame = pl.DataFrame({"start_date": values})
    full, _ = parse_date_columns(frame, ["start_date"], parsing)
    assert full.get_column("start_date").to_list() == expected

    def no_full_parse(*args: object) -> None:
        raise AssertionError("the full parse ran")

    monkeypatch.setattr(dates, "_numeric_order", no_full_parse)
    fast, order = parse_date_columns(frame, ["start_date"], parsing)
    assert (fast.get_column("start_date").to_list(), order) == (expected, "ymd")


@pytest.mark.parametrize(
    ("values", "parsing", "expected"),
    [
        # 23:30 at UTC is already Mar 2 in Tokyo; 23:30 at +02:00 is 21:30 at UTC.
        (["2024-03-01T23:30:00Z"], DateParsing(timezone="Asia/Tokyo"), [date(2024, 3, 2)]),
        (["2024-03-01T23:30:00+02:00"], DateParsing(), [date(2024, 3, 1)]),
        (["2024-03-01T01:30:00+02:00"], DateParsing(), [date(2024, 2, 29)]),
        # Nuuk skips 23:00-24:00 on 2024-03-30: a naive 23:30 there is 00:00 on Mar 31
        (["2024-03-30 23:30"], DateParsing(timezone="America/Nuuk"), [date(2024, 3, 31)]),
        # naive times of a source in UTC, reported in New York: 03:00 UTC is Feb 29 there
        (
            ["2024-03-01 03:00"],
            DateParsing(timezone="America/New_York", source_timezone="UTC"),
            [date(2024, 2, 29)],
        ),
        # an offset of 24 hours is no offset: unreadable, also when the date is kept as written
        (
            ["2024-03-01T01:00+24:00", "2024-03-02"],
            DateParsing(as_written=True),
            [None, date(2024, 3, 2)],
        ),
        # an hour 25 is no time: unreadable (null, reported by the caller)
        (["2024-03-01 25:00", "2024-03-02"], DateParsing(), [None, date(2024, 3, 2)]),
    ],
)
def test_timestamps_whose_day_may_move_take_the_full_parse(
    values: list[str], parsing: DateParsing, expected: list[date | None]
) -> None:
    frame = pl.DataFrame({"start_date": values})
    assert dates._wall_clock_days(frame, ["start_date"], parsing) is None
    parsed, _ = parse_date_columns(frame, ["start_date"], parsing)
    assert parsed.get_column("start_date").to_list() == expected


@pytest.mark.parametrize(
    ("tally", "order"),
    [
        # (values year-first, month-first, day-first cannot read) → the order chosen
        ((0, 0, 0), "ymd"),  # ISO dates: every order reads them
        ((5, 0, 0), None),  # 5 numeric dates, none above 12: open, --date-format needed
        ((5, 3, 0), "dmy"),  # 3 of them have a month field above 12: day-first only
        ((5, 0, 2), "mdy"),
        ((5, 1, 1), "mdy"),  # no order reads all; a tie goes to the first, month-first
        ((5, 2, 1), "dmy"),  # the one that reads most
        ((1, 2, 2), "ymd"),
    ],
)
def test_the_order_chosen_from_a_tally(tally: orders.Tally, order: str | None) -> None:
    assert orders.chosen_order(tally) == order


def test_a_tally_counts_the_values_each_order_cannot_read() -> None:
    # 13/01/2024 is day-first only, 01/02/2024 both, 2024-03-01 ISO: year-first fails the two
    # numeric ones, month-first fails 13/01 (no month 13), day-first reads all three.
    frame = pl.DataFrame({"start_date": ["13/01/2024", "01/02/2024", "2024-03-01"]})
    parsed, how, tally = dates.read_date_columns(frame, ["start_date"], DateParsing())
    assert (how, tally) == ("dmy", (2, 1, 0))
    assert parsed.get_column("start_date").to_list() == [
        date(2024, 1, 13),
        date(2024, 2, 1),
        date(2024, 3, 1),
    ]
    # Given the file's order (a part of a run in parts), it is read so without a tally.
    frame = pl.DataFrame({"start_date": ["01/02/2024"]})
    for order, day in (("dmy", date(2024, 2, 1)), ("mdy", date(2024, 1, 2))):
        parsed, how, tally = dates.read_date_columns(
            frame, ["start_date"], DateParsing(file_orders=((0, order),)).of_file(0)
        )
        assert (how, tally, parsed.item()) == (order, None, day)
    with pytest.raises(dates.OpenOrder) as open_order:
        dates.read_date_columns(frame, ["start_date"], DateParsing())
    assert open_order.value.tally == (1, 0, 0)
