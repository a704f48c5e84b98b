"""Invoice lines and the dates they are read with (SPEC §2.2, §2.5 settled points), end to end
through the command line with `--format csv`. Every expected amount is worked out by hand in
the comment beside it (in cents, then as the CSV shows it)."""

from __future__ import annotations

import csv
import io
from itertools import pairwise
from pathlib import Path

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
