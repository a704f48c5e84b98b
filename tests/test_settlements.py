"""The settled points of issue 11 in SPEC §3, §4.4, §5 and §7.1, each with cents worked out
by hand: one FX rate per subscription, snapshot-mode free-to-paid conversions, the months of
a report, an as-of date in the future, and `subscription_id` in the customers report."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from mrrcli.errors import InputError
from mrrcli.report import Settings, load, movements

FLOWS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def flows(path: str, settings: Settings, **options: str) -> dict[str, tuple[str, ...]]:
    """month → (new, expansion, reactivation, contraction, churned, closing) as text."""
    table = movements(load([path], **options), settings).frame  # type: ignore[arg-type]
    return {
        row["month"]: tuple(str(row[c]) for c in (*FLOWS, "closing_mrr"))
        for row in table.to_dicts()
    }


# ---------------------------------------------------------------------------------------------
# §3: every row of a subscription at one rate, that of its first paying day

EUR_RATES = "date,currency,rate\n2023-12-01,EUR,1.10\n2024-01-20,EUR,1.20\n"


def test_a_subscription_keeps_the_rate_of_its_first_paying_day(tmp_path: Path) -> None:
    fx = write(tmp_path, "fx.csv", EUR_RATES)
    data = write(
        tmp_path,
        "eur.csv",
        "customer_id,subscription_id,start_date,end_date,amount,currency\n"
        # s1 first pays on 2024-01-01: rate of 2023-12-01, 1.10, for all its rows.
        "C,s1,2024-01-01,2024-02-01,100,EUR\n"  # 100 × 1.10 = 110.00
        "C,s1,2024-02-01,2024-03-01,100,EUR\n"  # renewal after the move to 1.20: still 110.00
        "C,s1,2024-03-01,,150,EUR\n"  # plan change: 150 × 1.10 = 165.00
        # s2 first pays on 2024-02-15: rate of 2024-01-20, 1.20: 10 × 1.20 = 12.00
        "C,s2,2024-02-15,,10,EUR\n",
    )
    got = flows(data, Settings(as_of=date(2024, 3, 31)), currency="USD", fx=fx)
    # January: new 110.00. February: the renewal is no movement (at each row's own start
    # rate it would be 120 − 110 = 10.00 expansion); s2 adds 12.00. March: the plan change
    # moves MRR by its price difference at s1's rate: (150 − 100) × 1.10 = 55.00.
    # Closing: 110 → 110 + 12 = 122 → 165 + 12 = 177.
    assert got == {
        "2024-01": ("110.00", "0.00", "0.00", "0.00", "0.00", "110.00"),
        "2024-02": ("0.00", "12.00", "0.00", "0.00", "0.00", "122.00"),
        "2024-03": ("0.00", "55.00", "0.00", "0.00", "0.00", "177.00"),
    }


def test_rows_without_a_subscription_share_the_customers_first_paying_day(
    tmp_path: Path,
) -> None:
    fx = write(tmp_path, "fx.csv", EUR_RATES)
    data = write(
        tmp_path,
        "eur.csv",
        "customer_id,subscription_id,start_date,end_date,amount,currency,status\n"
        # D has no subscription ids: its EUR rows share D's first paying day in EUR,
        # 2024-01-10 (rate 1.10): 50 × 1.10 = 55.00, then 60 × 1.10 = 66.00 (not 72.00).
        "D,,2024-01-10,2024-02-10,50,EUR,active\n"
        "D,,2024-02-10,,60,EUR,active\n"
        # T's trial (0 MRR) starts before the rate moves; it first pays on 2024-01-25, after
        # it: 100 × 1.20 = 120.00.
        "T,t1,2024-01-05,2024-01-25,100,EUR,trialing\n"
        "T,t1,2024-01-25,,100,EUR,active\n"
        # F never pays: no rate is needed for its free row before the first rate.
        "F,f1,2023-06-01,,0,EUR,active\n",
    )
    got = flows(data, Settings(as_of=date(2024, 2, 29)), currency="USD", fx=fx)
    # January: new 55.00 (D) + 120.00 (T) = 175.00. February: D 55 → 66, expansion 11.00;
    # closing 66 + 120 = 186.00.
    assert got == {
        "2024-01": ("175.00", "0.00", "0.00", "0.00", "0.00", "175.00"),
        "2024-02": ("0.00", "11.00", "0.00", "0.00", "0.00", "186.00"),
    }


def test_a_trial_end_column_dates_the_first_paying_day(tmp_path: Path) -> None:
    fx = write(tmp_path, "fx.csv", EUR_RATES)
    data = write(
        tmp_path,
        "eur.csv",
        "customer_id,subscription_id,start_date,end_date,trial_end,amount,currency\n"
        # One row, in trial until 2024-01-22: it first pays then, at 1.20: 100 × 1.20 = 120.
        "T,t1,2024-01-08,,2024-01-22,100,EUR\n",
    )
    rows = load([data], currency="USD", fx=fx)
    paying = rows.frame.filter(rows.frame["mrr"] > 0)
    assert paying.select("start_date", "mrr").rows() == [(date(2024, 1, 22), 12000)]


def test_a_paying_subscription_without_a_rate_names_its_row(tmp_path: Path) -> None:
    fx = write(tmp_path, "fx.csv", "date,currency,rate\n2024-03-01,EUR,1.2\n")
    data = write(
        tmp_path,
        "eur.csv",
        "customer_id,subscription_id,start_date,end_date,amount,currency\n"
        "c1,a,2024-01-01,,100,USD\n"
        # Its first paying day, 2024-02-15, has no EUR rate on or before it; its later
        # row would have one, but every row of a subscription takes the first day's rate.
        "c2,b,2024-02-15,2024-03-15,100,EUR\n"
        "c2,b,2024-03-15,,120,EUR\n",
    )
    with pytest.raises(InputError) as error:
        load([data], currency="USD", fx=fx)
    message = str(error.value)
    assert "row 3" in message and "'currency'" in message and "EUR" in message
    assert "(1 other row has the same problem)" in message


# ---------------------------------------------------------------------------------------------
# §4.4: snapshot mode, broad scope: free-to-paid only from a 0-MRR row in force at the
# previous month end

TRIALS = (
    "customer_id,subscription_id,start_date,end_date,amount,status\n"
    # A: in trial over the end of January, pays 100 from February 10.
    "A,a1,2024-01-10,2024-02-10,100,trialing\n"
    "A,a1,2024-02-10,,100,active\n"
    # B: a trial that starts and converts within February, then pays 50.
    "B,b1,2024-02-03,2024-02-17,50,trialing\n"
    "B,b1,2024-02-17,,50,active\n"
)


@pytest.mark.parametrize("level", ["customer", "subscription"])
def test_snapshot_broad_conversion_needs_a_free_row_at_the_previous_month_end(
    tmp_path: Path, level: str
) -> None:
    data = write(tmp_path, "trials.csv", TRIALS)
    broad = Settings(as_of=date(2024, 2, 29), level=level, scope="broad")  # type: ignore[arg-type]
    snapshot = flows(data, replace(broad, mode="snapshot"))
    # Snapshot: A's trial was in force on January 31, so its February arrival is a
    # conversion: expansion 100.00; B's trial started after it: new 50.00. Closing 150.00.
    assert snapshot == {"2024-02": ("50.00", "100.00", "0.00", "0.00", "0.00", "150.00")}
    # Event mode judges day by day: both had rows before their first paying day, so both
    # are conversions: expansion 100 + 50 = 150.00, no new.
    event = flows(data, broad)
    assert event == {"2024-02": ("0.00", "150.00", "0.00", "0.00", "0.00", "150.00")}


FREE_THEN_PAID = (
    "customer_id,subscription_id,start_date,end_date,amount\n"
    # C uses a free plan from January 1, then adds a paid subscription of 30 on February 10.
    "C,c-free,2024-01-01,,0\n"
    "C,c-paid,2024-02-10,,30\n"
)


@pytest.mark.parametrize("mode", ["event", "snapshot"])
def test_a_paid_subscription_after_a_free_one_is_new_at_subscription_level(
    tmp_path: Path, mode: str
) -> None:
    data = write(tmp_path, "free.csv", FREE_THEN_PAID)
    settings = Settings(as_of=date(2024, 2, 29), mode=mode, scope="broad")  # type: ignore[arg-type]
    # Customer level: C's free row was in force on January 31 (and started before February
    # 10): a conversion, expansion 30.00.
    assert flows(data, settings) == {"2024-02": ("0.00", "30.00", "0.00", "0.00", "0.00", "30.00")}
    # Subscription level: the key is c-paid, which had no free row of its own: new 30.00.
    by_subscription = replace(settings, level="subscription")
    assert flows(data, by_subscription) == {
        "2024-02": ("30.00", "0.00", "0.00", "0.00", "0.00", "30.00")
    }


# ---------------------------------------------------------------------------------------------
# §5: both modes list the same months, from the first month with MRR > 0 on any day


def test_event_and_snapshot_list_the_same_months_on_the_spec_example() -> None:
    from tests.conftest import SPEC_EXAMPLE

    rows = load([str(SPEC_EXAMPLE)])
    event = movements(rows, Settings(as_of=date(2024, 5, 31))).frame
    snapshot = movements(rows, Settings(as_of=date(2024, 5, 31), mode="snapshot")).frame  # type: ignore[arg-type]
    # C pays from 2024-01-03 and A from 2024-01-15: January to May in both modes.
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert event.get_column("month").to_list() == months
    assert snapshot.get_column("month").to_list() == months


COMES_AND_GOES = (
    "customer_id,subscription_id,start_date,end_date,amount\n"
    # X, the first to pay, pays 40 from January 5 to 25 and leaves within January.
    "X,x1,2024-01-05,2024-01-25,40\n"
    # Y pays 100 from February 10.
    "Y,y1,2024-02-10,,100\n"
)


def test_a_first_customer_who_comes_and_goes_still_starts_the_snapshot_months(
    tmp_path: Path,
) -> None:
    data = write(tmp_path, "blip.csv", COMES_AND_GOES)
    as_of = date(2024, 2, 29)
    # Event: January new 40.00 and churn 40.00 (closing 0); February new 100.00.
    assert flows(data, Settings(as_of=as_of)) == {
        "2024-01": ("40.00", "0.00", "0.00", "0.00", "40.00", "0.00"),
        "2024-02": ("100.00", "0.00", "0.00", "0.00", "0.00", "100.00"),
    }
    # Snapshot: X is at 0 on both month ends, so January shows nothing, but it is listed:
    # MRR was > 0 on January 5.
    assert flows(data, Settings(as_of=as_of, mode="snapshot")) == {  # type: ignore[arg-type]
        "2024-01": ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
        "2024-02": ("100.00", "0.00", "0.00", "0.00", "0.00", "100.00"),
    }
    # --from still decides: from February only, or from December with an empty month.
    february = Settings(as_of=as_of, mode="snapshot", month_from=date(2024, 2, 1))  # type: ignore[arg-type]
    assert list(flows(data, february)) == ["2024-02"]
    december = Settings(as_of=as_of, mode="snapshot", month_from=date(2023, 12, 1))  # type: ignore[arg-type]
    assert list(flows(data, december)) == ["2023-12", "2024-01", "2024-02"]


# ---------------------------------------------------------------------------------------------
# §5: an --as-of after today is a usage error: nothing is known about the future


def test_an_as_of_after_today_is_a_usage_error(in_tmp: Path) -> None:
    from typer.testing import CliRunner

    from mrrcli.cli import app
    from mrrcli.errors import ExitCode, UsageError
    from mrrcli.present.terminal import Terminal
    from mrrcli.vocabulary import today
    from tests.conftest import SPEC_EXAMPLE

    tomorrow = today() + timedelta(days=1)
    result = CliRunner().invoke(
        app,
        ["movements", str(SPEC_EXAMPLE), "--as-of", tomorrow.isoformat(), "-f", "csv"],
        obj=Terminal(),
    )
    assert result.exit_code == ExitCode.USAGE == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "future" in lines[0] and tomorrow.isoformat() in lines[0]
    # The library says so too, when the settings are made.
    with pytest.raises(UsageError, match="nothing is known about the future"):
        Settings(as_of=tomorrow)
    # Today itself is a month-to-date run, not an error.
    assert Settings(as_of=today()).as_of == today()


# ---------------------------------------------------------------------------------------------
# §7.1: `customers --level subscription` has `subscription_id` after `customer_id`

SUBSCRIPTION_COLUMNS = [
    "date",
    "month",
    "customer_id",
    "subscription_id",
    "movement",
    "mrr_before",
    "mrr_after",
    "amount",
]


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "markdown", "table"])
def test_customers_at_subscription_level_name_the_subscription(in_tmp: Path, fmt: str) -> None:
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from mrrcli.cli import app
    from mrrcli.present.terminal import Terminal
    from mrrcli.vocabulary import CUSTOMERS_COLUMNS, Level, customers_columns
    from tests.conftest import SPEC_EXAMPLE

    assert list(customers_columns(Level.subscription)) == SUBSCRIPTION_COLUMNS
    assert customers_columns(Level.customer) == CUSTOMERS_COLUMNS
    args = ["customers", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "--level", "subscription"]
    args += ["--month", "2024-03", "-f", fmt, "-q"]
    result = CliRunner().invoke(app, args, obj=Terminal(width=200))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    # SPEC §8, March: B's add-on b2 (40/month) starts on the 5th and ends on the 20th; at
    # subscription level that is b2 new 40.00 and b2 churn 40.00 (equal amounts: by date).
    expected = [
        ["2024-03-05", "2024-03", "B", "b2", "new", "0.00", "40.00", "40.00"],
        ["2024-03-20", "2024-03", "B", "b2", "churn", "40.00", "0.00", "40.00"],
    ]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows == [SUBSCRIPTION_COLUMNS, *expected]
    elif fmt in ("json", "ndjson"):
        records = (
            json.loads(out)["rows"]
            if fmt == "json"
            else [json.loads(line) for line in out.splitlines()]
        )
        assert [list(r) for r in records] == [SUBSCRIPTION_COLUMNS] * 2
        assert [
            [str(v) if not isinstance(v, float) else f"{v:.2f}" for v in r.values()]
            for r in records
        ] == expected
    elif fmt == "markdown":
        header = [c.strip() for c in out.splitlines()[0].strip("|").split("|")]
        assert header == SUBSCRIPTION_COLUMNS
        assert "| B | b2 | new |" in out and "| B | b2 | churn |" in out
    else:
        # The Rich table: a `subscription` heading between `customer` and `movement`, and
        # b2 on both rows.
        heading = next(line for line in out.splitlines() if "movement" in line)
        assert heading.index("customer") < heading.index("subscription")
        assert heading.index("subscription") < heading.index("movement")
        assert out.count(" b2 ") == 2
