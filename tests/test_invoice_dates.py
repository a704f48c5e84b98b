"""Invoice lines and the dates they are read with (SPEC §2.2, §2.5 settled points), end to end
through the command line with `--format csv`. Every expected amount is worked out by hand in
the comment beside it (in cents, then as the CSV shows it)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal

runner = CliRunner()
IN_A_PIPE = Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=100)
NEW_YORK = "America/New_York"
FLOWS = ("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "closing_mrr")
LINES_HEADER = "customer_id,subscription_id,amount,period_start,period_end\n"


def movements(path: Path, *args: str) -> list[tuple[str, ...]]:
    """(month, new, expansion, contraction, churned, closing) of every month, as the CSV says."""
    result = runner.invoke(app, ["movements", str(path), "--format", "csv", *args], obj=IN_A_PIPE)
    assert result.exit_code == 0, result.stderr
    rows = csv.DictReader(io.StringIO(result.stdout))
    return [(row["month"], *(row[c] for c in FLOWS)) for row in rows]


def write(tmp_path: Path, text: str, name: str = "lines.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def monthly_lines(stamps: list[str], amount: str, header: str = LINES_HEADER) -> str:
    """One subscription billed from each stamp to the next."""
    return header + "".join(f"A,s1,{amount},{start},{end}\n" for start, end in pairwise(stamps))


# --- 1. A line's length is measured in the billing system's zone -----------------------------

MONTH_ENDS_UTC = [
    "2024-01-31T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "2024-03-31T00:00:00Z",
    "2024-04-30T00:00:00Z",
    "2024-05-31T00:00:00Z",
    "2024-06-30T00:00:00Z",
]

# Flat 100/month. In UTC every line is one whole month (Jan 31 → Feb 29 is one month, Feb 29 →
# Mar 31 is from a last day to a last day, …), so each carries 10000 cents. Placed in New York
# the first line starts Jan 30 19:00 (EST) → Jan 30: new 10000 cents in 2024-01; the lines follow
# each other, so nothing moves; the last one ends Jun 30 00:00 UTC = Jun 29 20:00 (EDT) → churn
# 10000 cents in 2024-06. (Measured in New York, Jan 30 → Feb 28 was 29 days: 104.96.)
FLAT_100_IN_NEW_YORK = [
    ("2024-01", "100.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-02", "0.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-03", "0.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-04", "0.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-05", "0.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-06", "0.00", "0.00", "0.00", "100.00", "0.00"),
    ("2024-07", "0.00", "0.00", "0.00", "0.00", "0.00"),
]


def test_a_line_anchored_on_the_31st_utc_is_a_whole_month_in_new_york(tmp_path: Path) -> None:
    path = write(tmp_path, monthly_lines(MONTH_ENDS_UTC, "100"))
    args = ("--source", "invoice-lines", "--amount-unit", "major", "--timezone", NEW_YORK)
    assert movements(path, *args, "--as-of", "2024-07-31") == FLAT_100_IN_NEW_YORK


def test_stripe_naive_utc_stamps_are_measured_in_utc(tmp_path: Path) -> None:
    # Stripe's warehouse lines: naive stamps in UTC, amount 10000 minor units = 100.00. Same
    # months as above: whole months in UTC, placed in New York.
    header = "customer,subscription,amount,currency,period_start,period_end,discountable,type\n"
    stamps = [s.replace("T", " ").replace("Z", "") for s in MONTH_ENDS_UTC]
    text = header + "".join(
        f"cus_A,sub_1,10000,usd,{start},{end},TRUE,subscription\n"
        for start, end in pairwise(stamps)
    )
    path = write(tmp_path, text)
    args = ("--source", "stripe-invoice-lines", "--timezone", NEW_YORK, "--as-of", "2024-07-31")
    assert movements(path, *args) == FLAT_100_IN_NEW_YORK


def test_an_offset_names_the_zone_of_a_source_that_declares_none(tmp_path: Path) -> None:
    # Written at +01:00 (the billing system's zone): Jan 31 → Feb 29 → Mar 31 there are whole
    # months, 5000 cents each. Placed in UTC (the default --timezone) they run Jan 30 23:00 →
    # Feb 28 23:00 → Mar 30 23:00: new 5000 cents in 2024-01, churn 5000 cents in 2024-03.
    # (Measured in UTC, Jan 30 → Feb 28 is 29 days: 5000 × 30.4375 / 29 = 5248 cents.)
    stamps = ["2024-01-31T00:00:00+01:00", "2024-02-29T00:00:00+01:00", "2024-03-31T00:00:00+01:00"]
    path = write(tmp_path, monthly_lines(stamps, "50"))
    assert movements(path, "--source", "invoice-lines", "--as-of", "2024-04-30") == [
        ("2024-01", "50.00", "0.00", "0.00", "0.00", "50.00"),
        ("2024-02", "0.00", "0.00", "0.00", "0.00", "50.00"),
        ("2024-03", "0.00", "0.00", "0.00", "50.00", "0.00"),
        ("2024-04", "0.00", "0.00", "0.00", "0.00", "0.00"),
    ]


def test_naive_stamps_of_a_source_without_a_zone_are_in_the_timezone(tmp_path: Path) -> None:
    # No offset and no declared zone: the stamps are New York wall-clock times, so Jan 31 →
    # Feb 29 is a whole month there, 10000 cents, from Jan 31 to Feb 29 (churn in 2024-02).
    stamps = ["2024-01-31 00:00:00", "2024-02-29 00:00:00"]
    path = write(tmp_path, monthly_lines(stamps, "100"))
    args = ("--source", "invoice-lines", "--timezone", NEW_YORK, "--as-of", "2024-02-29")
    assert movements(path, *args) == [
        ("2024-01", "100.00", "0.00", "0.00", "0.00", "100.00"),
        ("2024-02", "0.00", "0.00", "0.00", "100.00", "0.00"),
    ]


# --- 2. A line from a month's last day to a later month's last day spans whole months --------


@pytest.mark.parametrize(
    ("start", "end", "amount", "new_mrr"),
    [
        # Last day → last day: whole months. Feb 29 → Mar 31 is one month (10000 cents); as
        # 31 days it would be 10000 × 30.4375 / 31 = 9819 cents.
        ("2024-02-29", "2024-03-31", "100", "100.00"),
        # Jan 31 → Feb 29: one month, 10000 cents (29 days would be 10496).
        ("2024-01-31", "2024-02-29", "100", "100.00"),
        # Apr 30 → May 31: one month, 10000 cents (31 days would be 9819).
        ("2024-04-30", "2024-05-31", "100", "100.00"),
        # Feb 28 → Mar 31 of a common year: one month, 10000 cents.
        ("2023-02-28", "2023-03-31", "100", "100.00"),
        # Jan 31 → Mar 31: two months, 20000 / 2 = 10000 cents (60 days would be 10146).
        ("2024-01-31", "2024-03-31", "200", "100.00"),
        # The same day-of-month rule as before: Jan 30 → Feb 29 is one month (Feb has no 30th).
        ("2024-01-30", "2024-02-29", "100", "100.00"),
        # Not whole: Jan 31 → Mar 30 is 59 days, 20000 × 30.4375 / 59 = 10317.8 → 10318 cents.
        ("2024-01-31", "2024-03-30", "200", "103.18"),
        # Not whole: Jan 15 → Feb 20 is 36 days, 10000 × 30.4375 / 36 = 8454.9 → 8455 cents.
        ("2024-01-15", "2024-02-20", "100", "84.55"),
    ],
)
def test_whole_months_from_a_last_day(
    tmp_path: Path, start: str, end: str, amount: str, new_mrr: str
) -> None:
    path = write(tmp_path, monthly_lines([start, end], amount))
    rows = movements(path, "--source", "invoice-lines", "--as-of", end)
    month, new, *_ = rows[0]
    assert (month, new) == (start[:7], new_mrr)
    # The line's MRR holds to its end: churned in the month of its end, whole.
    assert rows[-1][0] == end[:7] and rows[-1][4] == new_mrr


# --- 3. Lines of one subscription item do not stack ------------------------------------------

UPGRADE_TO_YEARLY = [
    # Monthly 100 from Jan 1; on Jan 15 an upgrade to yearly 2400, whose unused-time credit is
    # a proration line (set aside). The yearly line starts inside the monthly one, so the
    # monthly line's 10000 cents end on Jan 15; the yearly line is 12 whole months,
    # 240000 / 12 = 20000 cents. 2024-01: new 10000, expansion 20000 − 10000 = 10000, closing
    # 20000; nothing moves until the yearly line ends on 2025-01-15: churn 20000 cents.
    # (Stacked, Jan 15 → Feb 1 would be 30000 and February a contraction of 10000.)
    ("2024-01-01", "2024-02-01", "100", "false"),
    ("2024-01-15", "2024-02-01", "-54.84", "true"),
    ("2024-01-15", "2025-01-15", "2400", "false"),
]


@pytest.mark.parametrize("items", [None, ("si_1", " si_1 ", "si_1")])
def test_an_upgrade_mid_period_ends_the_earlier_line(
    tmp_path: Path, items: tuple[str, ...] | None
) -> None:
    # The item is its subscription when there is no item id, or its item id (spaces aside).
    header = "customer_id,subscription_id,amount,period_start,period_end,proration"
    rows = [f"A,s1,{a},{s},{e},{p}" for s, e, a, p in UPGRADE_TO_YEARLY]
    if items is not None:
        header += ",subscription_item_id"
        rows = [f'{row},"{item}"' for row, item in zip(rows, items, strict=True)]
    path = write(tmp_path, "\n".join([header, *rows]) + "\n")
    got = movements(path, "--source", "invoice-lines", "--as-of", "2025-01-31")
    assert got[:2] == [
        ("2024-01", "100.00", "100.00", "0.00", "0.00", "200.00"),
        ("2024-02", "0.00", "0.00", "0.00", "0.00", "200.00"),
    ]
    assert got[-1] == ("2025-01", "0.00", "0.00", "0.00", "200.00", "0.00")
    assert all(row[1:5] == ("0.00",) * 4 for row in got[1:-1])


def test_lines_of_different_items_stack(tmp_path: Path) -> None:
    # Item i1: 200 for Jan 1 → Mar 1, two whole months, 10000 cents a month. Item i2: 50 for
    # Jan 15 → Feb 15, one month, 5000 cents. Different items of one subscription, so both
    # count: 2024-01 new 10000, expansion 5000, closing 15000; 2024-02 contraction 5000 (i2
    # ends), closing 10000; 2024-03 churn 10000. (As one item, i1 would end on Jan 15: the
    # subscription would go 10000 → 5000 in January and churn in February.)
    text = (
        "customer_id,subscription_id,subscription_item_id,amount,period_start,period_end\n"
        "A,s1,i1,200,2024-01-01,2024-03-01\n"
        "A,s1,i2,50,2024-01-15,2024-02-15\n"
    )
    path = write(tmp_path, text)
    assert movements(path, "--source", "invoice-lines", "--as-of", "2024-03-31") == [
        ("2024-01", "100.00", "50.00", "0.00", "0.00", "150.00"),
        ("2024-02", "0.00", "0.00", "50.00", "0.00", "100.00"),
        ("2024-03", "0.00", "0.00", "0.00", "100.00", "0.00"),
    ]


def test_lines_starting_the_same_day_stack(tmp_path: Path) -> None:
    # Two lines of one subscription (two products, no item id) for the same period: neither
    # starts inside an earlier one, so both count: new 10000 + 5000 = 15000 cents in 2024-01,
    # churn 15000 cents in 2024-02.
    text = LINES_HEADER + "A,s1,100,2024-01-01,2024-02-01\nA,s1,50,2024-01-01,2024-02-01\n"
    path = write(tmp_path, text)
    assert movements(path, "--source", "invoice-lines", "--as-of", "2024-02-29") == [
        ("2024-01", "150.00", "0.00", "0.00", "0.00", "150.00"),
        ("2024-02", "0.00", "0.00", "0.00", "150.00", "0.00"),
    ]


def test_stripe_lines_of_two_items_of_one_subscription_stack(tmp_path: Path) -> None:
    # Stripe (Sigma names the item `subscription_item`): si_1 5000 minor units/month from Jan 1,
    # si_2 2000 from Jan 10 (a seat add-on, one month each). Both items of sub_1 count:
    # 2024-01 new 5000, expansion 2000, closing 7000 cents; si_1 ends Feb 1 (contraction 5000),
    # si_2 ends Feb 10 (churn 2000) — 2024-02: contraction 5000 and churn 2000 cents.
    header = "customer,subscription,subscription_item,amount,currency,period_start,period_end,"
    text = (
        header
        + "discountable,type\n"
        + (
            "cus_A,sub_1,si_1,5000,usd,2024-01-01 00:00:00,2024-02-01 00:00:00,TRUE,subscription\n"
            "cus_A,sub_1,si_2,2000,usd,2024-01-10 00:00:00,2024-02-10 00:00:00,TRUE,subscription\n"
        )
    )
    path = write(tmp_path, text)
    assert movements(path, "--as-of", "2024-02-29") == [
        ("2024-01", "50.00", "20.00", "0.00", "0.00", "70.00"),
        ("2024-02", "0.00", "0.00", "50.00", "20.00", "0.00"),
    ]


def test_lago_subscriptions_of_one_customer_stack(tmp_path: Path) -> None:
    # Lago fees of customer acme: sub_A 6000 cents with 1000 tax = 5000 for Jan 1 → Jan 31
    # 23:59:59 (one month: the period ends at the next midnight), sub_B 3000 for Jan 15 → Feb 14
    # 23:59:59 (one month). Two subscriptions stack: 2024-01 new 5000, expansion 3000, closing
    # 8000; 2024-02 contraction 5000 (sub_A ends Feb 1) and churn 3000 (sub_B ends Feb 15).
    text = (
        "customer_external_id,subscription_external_id,fee_item_type,fee_from_date,fee_to_date,"
        "fee_amount_currency,fee_taxes_amount_cents,fee_total_amount_cents\n"
        "acme,sub_A,subscription,2024-01-01T00:00:00+00:00,2024-01-31T23:59:59+00:00,EUR,1000,6000\n"
        "acme,sub_B,subscription,2024-01-15T00:00:00+00:00,2024-02-14T23:59:59+00:00,EUR,0,3000\n"
    )
    path = write(tmp_path, text)
    assert movements(path, "--source", "lago", "--as-of", "2024-02-29") == [
        ("2024-01", "50.00", "30.00", "0.00", "0.00", "80.00"),
        ("2024-02", "0.00", "0.00", "50.00", "30.00", "0.00"),
    ]


# --- 4. A naive time in a daylight-saving gap is the first instant after it --------------------

PERIODS_HEADER = "customer_id,subscription_id,start_date,end_date,amount\n"


def test_a_time_in_new_yorks_gap_is_read(tmp_path: Path) -> None:
    # 02:30 on 2024-03-10 does not exist in New York (02:00 → 03:00): it is read as 03:00 EDT,
    # March 10. One row at 100/month that never ends: new 10000 cents in 2024-03.
    path = write(tmp_path, PERIODS_HEADER + "N1,n1,2024-03-10 02:30:00,,100\n", "gap.csv")
    rows = movements(path, "--timezone", NEW_YORK, "--as-of", "2024-03-31")
    assert rows == [("2024-03", "100.00", "0.00", "0.00", "0.00", "100.00")]


# A line of 100 whose length is counted in days shows the date its start was read as:
# 10 days → 10000 × 30.4375 / 10 = 30437.5 → 30438 cents; 11 days → 27670.45 → 27670 cents;
# 9 days → 33819.4 → 33819 cents.
@pytest.mark.parametrize(
    ("zone", "start", "end", "mrr"),
    [
        # New York skips 02:00–03:00 on 2024-03-10: 02:30 → 03:00 on Mar 10; to Mar 20 is
        # 10 days.
        ("America/New_York", "2024-03-10 02:30:00", "2024-03-20 00:00:00", "304.38"),
        # Santiago skips 00:00–01:00 on 2024-09-08: 00:30 → 01:00 on Sep 8, 10 days to Sep 18
        # (read at the new offset it would be 23:30 on Sep 7, 11 days: 276.70).
        ("America/Santiago", "2024-09-08 00:30:00", "2024-09-18 00:00:00", "304.38"),
        # Beirut skips 00:00–01:00 on 2024-03-31: 00:30 → 01:00 on Mar 31, 10 days to Apr 10.
        ("Asia/Beirut", "2024-03-31 00:30:00", "2024-04-10 00:00:00", "304.38"),
        # Nuuk skips 23:00–24:00 on 2024-03-30: 23:30 → 00:00 on Mar 31, 9 days to Apr 9
        # (cut to its written date, Mar 30, it would be 10 days: 304.38).
        ("America/Nuuk", "2024-03-30 23:30:00", "2024-04-09 00:00:00", "338.19"),
        # New York repeats 01:00–02:00 on 2024-11-03: 01:30 is its first occurrence (EDT),
        # Nov 3; 10 days to Nov 13.
        ("America/New_York", "2024-11-03 01:30:00", "2024-11-13 00:00:00", "304.38"),
    ],
)
def test_a_time_in_a_gap_is_read_as_the_end_of_the_gap(
    tmp_path: Path, zone: str, start: str, end: str, mrr: str
) -> None:
    path = write(tmp_path, LINES_HEADER + f"A,s1,100,{start},{end}\n")
    args = ("--source", "invoice-lines", "--timezone", zone, "--as-of", f"{end[:7]}-28")
    rows = movements(path, *args)
    assert rows[0][:2] == (start[:7], mrr)
    assert rows[-1][4] == mrr  # churned at the line's end


def test_a_parquet_timestamp_in_a_gap_is_read(tmp_path: Path) -> None:
    # The same rule for typed timestamps: a naive Parquet 2024-09-08 00:30 in Santiago is read
    # as 01:00 on Sep 8. A line of 100 from then to Sep 18 00:00 is 10 days: 30438 cents.
    path = tmp_path / "lines.parquet"
    pl.DataFrame(
        {
            "customer_id": ["A"],
            "subscription_id": ["s1"],
            "amount": ["100"],
            "period_start": [datetime(2024, 9, 8, 0, 30)],
            "period_end": [datetime(2024, 9, 18)],
        }
    ).write_parquet(path)
    args = ("--source", "invoice-lines", "--timezone", "America/Santiago")
    assert movements(path, *args, "--as-of", "2024-09-30") == [
        ("2024-09", "304.38", "0.00", "0.00", "304.38", "0.00")
    ]
