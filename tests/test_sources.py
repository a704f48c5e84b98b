"""Vendor sources (SPEC §2.4): each export in its real header layout, movements worked by hand.

Every fixture under tests/fixtures/sources/ is written in the header layout of the vendor's own
export (EXPORTS.md in the shared folder; Lago's and Zuora's headers are copied from their code and
Fivetran seeds). Each test states the arithmetic behind the numbers it expects, and covers the
trap its export is known for. Tests marked xfail (strict) assert the correct numbers for traps
the reading mechanism cannot handle yet; each reason names the mechanism that is missing.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.report import Rows, Settings, customers, load, movements
from mrrcli.sources import by_name, detect, source_names
from mrrcli.sources.vendors import VENDORS
from mrrcli.vocabulary import INVOICE_LINE_COLUMNS, PERIODS_COLUMNS, SNAPSHOT_COLUMNS

SOURCES = Path(__file__).parent / "fixtures" / "sources"
COLUMNS = (
    "month",
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "closing_mrr",
)
Table = list[tuple[str, ...]]


def fixture(name: str) -> str:
    return str(SOURCES / name)


def table(rows: Rows, as_of: date, mode: str = "event") -> Table:
    """The movements report as (month, opening, new, expansion, reactivation, contraction,
    churned, closing), money as text in major units."""
    report = movements(rows, Settings(as_of=as_of, mode=mode))  # type: ignore[arg-type]
    return [tuple(str(v) for v in row) for row in report.frame.select(COLUMNS).iter_rows()]


def mrr_by_subscription(rows: Rows) -> dict[str, int]:
    """Each subscription's MRR in minor units (rows of one subscription summed)."""
    frame = rows.frame.group_by("subscription_id").agg(pl.col("mrr").sum())
    return dict(frame.iter_rows())  # type: ignore[arg-type]


def reconciles(result: Table) -> None:
    for month, opening, new, exp, react, contr, churn, closing in result:
        flows = Decimal(new) + Decimal(exp) + Decimal(react) - Decimal(contr) - Decimal(churn)
        assert Decimal(opening) + flows == Decimal(closing), month


# --- Detection -------------------------------------------------------------------------------

DETECTED = [
    ("stripe_subscriptions.csv", "stripe-subscriptions"),
    ("stripe_invoice_lines.csv", "stripe-invoice-lines"),
    ("stripe_invoice_lines_jpy.csv", "stripe-invoice-lines"),
    ("chargebee.csv", "chargebee"),
    ("chargebee_future.csv", "chargebee"),
    ("recurly.csv", "recurly"),
    ("recurly_trial.csv", "recurly"),
    ("recurly_history.csv", "recurly"),
    ("chargify.csv", "chargify"),
    ("chargify_traps.csv", "chargify"),
    ("paddle.csv", "paddle"),
    ("lago.csv", "lago"),
    ("lago_fee_from_date.csv", "lago"),
    ("chartmogul.csv", "chartmogul"),
    ("chartmogul_jpy.csv", "chartmogul"),
    ("baremetrics.csv", "baremetrics"),
    ("zuora.csv", "zuora"),
    ("zuora_charge_types.csv", "zuora"),
    ("zuora_versions.csv", "zuora"),
]


def header(name: str) -> list[str]:
    with open(fixture(name), newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


@pytest.mark.parametrize(("name", "expected"), DETECTED)
def test_auto_recognises_each_export_by_its_header(name: str, expected: str) -> None:
    chosen, why = detect(header(name))
    assert chosen.name == expected
    assert chosen.title in why


def test_every_fixture_is_covered_by_detection() -> None:
    assert {p.name for p in SOURCES.glob("*.csv")} == {name for name, _ in DETECTED}


@pytest.mark.parametrize(
    ("name", "expected", "as_of"),
    [
        ("stripe_subscriptions.csv", "stripe-subscriptions", date(2024, 4, 30)),
        ("stripe_invoice_lines.csv", "stripe-invoice-lines", date(2024, 4, 30)),
        ("chargebee.csv", "chargebee", date(2024, 6, 30)),
        ("recurly.csv", "recurly", date(2024, 6, 30)),
        ("chargify.csv", "chargify", date(2024, 6, 30)),
        ("paddle.csv", "paddle", date(2024, 4, 30)),
        ("lago.csv", "lago", date(2024, 4, 30)),
        ("chartmogul.csv", "chartmogul", date(2024, 4, 30)),
        ("baremetrics.csv", "baremetrics", date(2024, 6, 30)),
        ("zuora.csv", "zuora", date(2024, 6, 30)),
    ],
)
def test_auto_and_named_source_read_alike(name: str, expected: str, as_of: date) -> None:
    auto = load([fixture(name)])
    named = load([fixture(name)], source=expected)
    assert auto.source == named.source == expected
    assert auto.notes[0].startswith(f"reading as --source {expected} (")
    assert auto.frame.equals(named.frame)
    reconciles(table(auto, as_of))


GENERIC_HEADERS = [
    (list(PERIODS_COLUMNS), "periods"),
    (["customer_id", "start_date", "end_date", "amount"], "periods"),
    (["customer_id", "subscription_id", "start_date", "end_date", "mrr"], "periods"),
    (list(INVOICE_LINE_COLUMNS), "invoice-lines"),
    (["customer_id", "amount", "period_start", "period_end"], "invoice-lines"),
    (list(SNAPSHOT_COLUMNS), "snapshots"),
    (["customer_id", "month", "mrr"], "snapshots"),
    # Every canonical column of every shape at once is still no vendor's export.
    (sorted({*PERIODS_COLUMNS, *INVOICE_LINE_COLUMNS, *SNAPSHOT_COLUMNS}), "invoice-lines"),
]


@pytest.mark.parametrize(("headers", "expected"), GENERIC_HEADERS)
def test_generic_shapes_are_never_taken_for_a_vendor(headers: list[str], expected: str) -> None:
    chosen, _ = detect(headers)
    assert chosen.name == expected
    assert not any(vendor.matches(headers) for vendor in VENDORS)


@pytest.mark.parametrize(("headers", "expected"), GENERIC_HEADERS[:7])
def test_generic_files_load_as_their_shape(
    tmp_path: Path, headers: list[str], expected: str
) -> None:
    values = {
        "customer_id": "C1",
        "subscription_id": "s1",
        "start_date": "2024-01-01",
        "end_date": "",
        "amount": "100",
        "monthly_amount": "",
        "mrr": "100",
        "currency": "USD",
        "interval": "month",
        "interval_count": "1",
        "quantity": "1",
        "discount_percent": "0",
        "discount_amount": "0",
        "status": "active",
        "plan_id": "p1",
        "period_start": "2024-01-01",
        "period_end": "2024-02-01",
        "kind": "subscription",
        "type": "",
        "proration": "false",
        "tax_amount": "0",
        "month": "2024-01",
        "trial_end": "",
        "addons_amount": "",
        "subscription_item_id": "si_1",
    }
    if "monthly_amount" in headers:
        headers = [h for h in headers if h != "monthly_amount"]
    path = tmp_path / "generic.csv"
    path.write_text(",".join(headers) + "\n" + ",".join(values[h] for h in headers) + "\n")
    rows = load([str(path)])
    assert rows.source == expected
    # One customer at 100.00 a month: new in January.
    assert table(rows, date(2024, 1, 31)) == [
        ("2024-01", "0.00", "100.00", "0.00", "0.00", "0.00", "0.00", "100.00")
    ]


def test_vendor_names_are_unique_and_offered() -> None:
    names = [vendor.name for vendor in VENDORS]
    assert len(names) == len(set(names))
    assert set(names) <= set(source_names())
    for name in names:
        assert by_name(name).name == name


@pytest.mark.parametrize(
    "name", ["stripe-subscriptions", "chargebee", "recurly", "chargify", "baremetrics"]
)
def test_subscription_lists_say_past_changes_are_invisible(name: str) -> None:
    note = by_name(name).note
    assert note is not None and "subscription list" in note


def test_cli_says_which_source_it_chose() -> None:
    result = CliRunner().invoke(
        app, ["movements", fixture("chargebee.csv"), "--as-of", "2024-06-30", "--format", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    assert "reading as --source chargebee" in result.stderr
    assert "subscription list" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[-1]["closing_mrr"] == "131.96"


# --- Stripe ----------------------------------------------------------------------------------


def test_stripe_subscriptions() -> None:
    rows = load([fixture("stripe_subscriptions.csv")])
    assert rows.source == "stripe-subscriptions"
    mrr = mrr_by_subscription(rows)
    assert mrr == {
        "sub_A1": 10000,  # 50.00 × 2, monthly; Canceled At set but Ended At empty: still active
        "sub_B1": 10000,  # 1200.00 a year ÷ 12
        "sub_C1": 0,  # trialing: the export shows the full price, but a trial carries no MRR
        "sub_D1": 0,  # incomplete: never paid
        "sub_A2": 4348,  # 10.00 a week × 30.4375 ÷ 7 = 43.482… → 43.48
        "sub_E1": 6000,  # 20.00 × 3, past_due still counts
    }
    # Churn is Ended At (2024-03-20), not Canceled At (2024-02-05, when it was requested).
    ended = rows.frame.filter(pl.col("subscription_id") == "sub_B1").get_column("end_date")
    assert ended.to_list() == [date(2024, 3, 20)]
    assert table(rows, date(2024, 4, 30)) == [
        # A 100 (Jan 10) + B 100 (Jan 20)
        ("2024-01", "0.00", "200.00", "0.00", "0.00", "0.00", "0.00", "200.00"),
        # E 60 (Feb 14); C trialing and D incomplete add nothing
        ("2024-02", "200.00", "60.00", "0.00", "0.00", "0.00", "0.00", "260.00"),
        # A adds the weekly add-on 43.48 (Mar 5); B ended Mar 20: churn 100
        ("2024-03", "260.00", "0.00", "43.48", "0.00", "0.00", "100.00", "203.48"),
        # A is still active although its cancellation was requested on Mar 15
        ("2024-04", "203.48", "0.00", "0.00", "0.00", "0.00", "0.00", "203.48"),
    ]


def test_stripe_invoice_lines() -> None:
    rows = load([fixture("stripe_invoice_lines.csv")])
    assert rows.source == "stripe-invoice-lines"
    assert rows.currency == "USD"
    # il_3 and il_4 are prorations (one of them a credit), il_8 an invoice item (type invoiceitem)
    assert "2 proration lines set aside" in rows.notes
    assert "1 non-recurring line set aside" in rows.notes
    assert table(rows, date(2024, 4, 30)) == [
        # Amounts in cents: A 5000 → 50 (Jan 1), C 3000 → 30 (Jan 10),
        # B 120000 for Jan 15 2024 → Jan 15 2025, twelve whole months → 100 (Jan 15)
        ("2024-01", "0.00", "180.00", "0.00", "0.00", "0.00", "0.00", "180.00"),
        # C's only line ends Feb 10 with no line after it: churn 30
        ("2024-02", "180.00", "0.00", "0.00", "0.00", "0.00", "30.00", "150.00"),
        # A's March line is 8000 → 80: expansion 30 (the February prorations carry none)
        ("2024-03", "150.00", "0.00", "30.00", "0.00", "0.00", "0.00", "180.00"),
        # A's April line ends May 1, after the as-of date: not churn
        ("2024-04", "180.00", "0.00", "0.00", "0.00", "0.00", "0.00", "180.00"),
    ]


def test_stripe_invoice_lines_jpy_has_no_minor_unit() -> None:
    rows = load([fixture("stripe_invoice_lines_jpy.csv")])
    assert (rows.currency, rows.exponent) == ("JPY", 0)
    assert table(rows, date(2024, 2, 29)) == [
        # amount 1200 in JPY's minor unit is ¥1200, not ¥12
        ("2024-01", "0", "1200", "0", "0", "0", "0", "1200"),
        ("2024-02", "1200", "0", "300", "0", "0", "0", "1500"),  # ¥1500 − ¥1200
    ]


# --- Chargebee -------------------------------------------------------------------------------


def test_chargebee_subscriptions() -> None:
    rows = load([fixture("chargebee.csv")])
    assert rows.source == "chargebee"
    assert mrr_by_subscription(rows) == {
        "sub_1": 3000,  # 10.00 × 3, billing_period 1 month
        "sub_2": 5000,  # 600.00 a year ÷ 12
        "sub_3": 0,  # status 'In Trial' (Title Case) is a trial
        "sub_4": 1500,  # 45.00 every 3 months ÷ 3
        "sub_5": 8696,  # 20.00 a week × 30.4375 ÷ 7 = 86.964… → 86.96
    }
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "30.00", "0.00", "0.00", "0.00", "0.00", "30.00"),  # A (Jan 5)
        ("2024-02", "30.00", "50.00", "0.00", "0.00", "0.00", "0.00", "80.00"),  # B (Feb 10)
        # A's second subscription, Non Renewing: 15 from Mar 1 until Sep 1 (after as-of)
        ("2024-03", "80.00", "0.00", "15.00", "0.00", "0.00", "0.00", "95.00"),
        # B Cancelled, cancelled_at Apr 10: churn 50
        ("2024-04", "95.00", "0.00", "0.00", "0.00", "0.00", "50.00", "45.00"),
        # C starts In Trial on May 20: no MRR
        ("2024-05", "45.00", "0.00", "0.00", "0.00", "0.00", "0.00", "45.00"),
        ("2024-06", "45.00", "86.96", "0.00", "0.00", "0.00", "0.00", "131.96"),  # D (Jun 3)
    ]


def test_columns_filled_from_a_second_header_are_tidied_and_stripped(tmp_path: Path) -> None:
    # Chargebee's interval falls back to plans.period_unit and its customer to
    # subscriptions.customer_id when the first header is empty: the values of the second
    # header ("YEAR ", " cust_B ") are tidied and stripped like those of the first, though
    # duplicates were judged (and their values found) before the two were put together.
    path = tmp_path / "chargebee_fallbacks.csv"
    path.write_text(
        "subscriptions.id,subscriptions.plan_quantity,subscriptions.plan_unit_price,"
        "subscriptions.billing_period,subscriptions.billing_period_unit,plans.period_unit,"
        "subscriptions.status,subscriptions.currency_code,subscriptions.started_at,"
        "customers.id,subscriptions.customer_id\n"
        "sub_1,3,10.00,1,month,,Active,USD,2024-01-05 09:00:00,cust_A,\n"
        "sub_2,1,600.00,1,,YEAR ,Active,USD,2024-02-10 14:00:00,, cust_B \n"
    )
    rows = load([str(path)])
    assert rows.source == "chargebee"
    frame = rows.frame.sort("subscription_id")
    # sub_1: 10.00 × 3 a month = 30.00; sub_2: 600.00 a year ÷ 12 = 50.00
    assert frame.select("subscription_id", "customer_id", "mrr").rows() == [
        ("sub_1", "cust_A", 3000),
        ("sub_2", "cust_B", 5000),
    ]


def test_chargebee_future_subscription_starts_on_its_start_date() -> None:
    rows = load([fixture("chargebee_future.csv")])
    result = table(rows, date(2024, 8, 31))
    assert result[0] == ("2024-01", "0.00", "25.00", "0.00", "0.00", "0.00", "0.00", "25.00")
    # B's Future subscription starts Aug 1: 25.00 × 2 = 50
    assert result[-1] == ("2024-08", "25.00", "50.00", "0.00", "0.00", "0.00", "0.00", "75.00")


# --- Recurly ---------------------------------------------------------------------------------


def test_recurly_subscriptions() -> None:
    rows = load([fixture("recurly.csv")])
    assert rows.source == "recurly"
    assert mrr_by_subscription(rows) == {
        "3a7f1c0e9b2d4e8f": 9900,  # 99.00, interval_unit 'months' (plural)
        "4b8e2d1f0c3e5f9a": 5000,  # 25.00 × 2
        "5c9f3e2a1d4f6a0b": 10000,  # 1200.00 every 12 months
        "6d0a4f3b2e5a7b1c": 6522,  # 30.00 every 14 'days': × 30.4375 ÷ 14 = 65.223… → 65.22
    }
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "50.00", "0.00", "0.00", "0.00", "0.00", "50.00"),  # B (Jan 10)
        # A activated 2024-01-31 20:00 PST = Feb 1 04:00 UTC: new in February
        ("2024-02", "50.00", "99.00", "0.00", "0.00", "0.00", "0.00", "149.00"),
        # B canceled Feb 20 but expires Mar 10: churn in March; C new (Mar 15)
        ("2024-03", "149.00", "100.00", "0.00", "0.00", "0.00", "50.00", "199.00"),
        # C is 'canceled' (will not renew) but expires only in 2025: still paying
        ("2024-04", "199.00", "0.00", "0.00", "0.00", "0.00", "0.00", "199.00"),
        ("2024-05", "199.00", "0.00", "65.22", "0.00", "0.00", "0.00", "264.22"),  # A add-on
        ("2024-06", "264.22", "0.00", "0.00", "0.00", "0.00", "0.00", "264.22"),
    ]


def test_recurly_trial_carries_no_mrr_until_it_ends() -> None:
    rows = load([fixture("recurly_trial.csv")])
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-03", "0.00", "99.00", "0.00", "0.00", "0.00", "0.00", "99.00"),  # P
        ("2024-04", "99.00", "0.00", "0.00", "0.00", "0.00", "0.00", "99.00"),  # U in trial
        ("2024-05", "99.00", "30.00", "0.00", "0.00", "0.00", "0.00", "129.00"),  # U pays
        ("2024-06", "129.00", "0.00", "0.00", "0.00", "0.00", "0.00", "129.00"),  # T in trial
    ]


# --- Chargify --------------------------------------------------------------------------------


def test_chargify_subscriptions() -> None:
    rows = load([fixture("chargify.csv")])
    assert rows.source == "chargify"
    assert rows.currency == "USD"  # the site currency is not in the file: the default
    assert mrr_by_subscription(rows) == {
        "101": 4900,  # 49.00 every 1 month
        "102": 5000,  # 300.00 every 6 months
        "103": 1500,
        "104": 30438,  # 70.00 every 7 days × 30.4375 ÷ 7 = 304.375 → 304.38 (half away from 0)
    }
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "50.00", "0.00", "0.00", "0.00", "0.00", "50.00"),  # 102 (Jan 5)
        # 101 activated 2024-01-31 21:30 -0500 = Feb 1 02:30 UTC
        ("2024-02", "50.00", "49.00", "0.00", "0.00", "0.00", "0.00", "99.00"),
        ("2024-03", "99.00", "0.00", "0.00", "0.00", "0.00", "0.00", "99.00"),
        ("2024-04", "99.00", "0.00", "0.00", "0.00", "0.00", "50.00", "49.00"),  # 102 canceled
        ("2024-05", "49.00", "0.00", "15.00", "0.00", "0.00", "0.00", "64.00"),  # 103, same cust
        ("2024-06", "64.00", "304.38", "0.00", "0.00", "0.00", "0.00", "368.38"),  # 104
    ]


def test_chargify_expired_and_trialing_subscriptions() -> None:
    rows = load([fixture("chargify_traps.csv")])
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "40.00", "0.00", "0.00", "0.00", "0.00", "40.00"),  # 201
        ("2024-02", "40.00", "30.00", "0.00", "0.00", "0.00", "0.00", "70.00"),  # 202: 90 ÷ 3
        ("2024-03", "70.00", "0.00", "0.00", "0.00", "0.00", "0.00", "70.00"),
        ("2024-04", "70.00", "0.00", "0.00", "0.00", "0.00", "0.00", "70.00"),
        # 202 expired May 1 (expires_at; canceled_at is empty)
        ("2024-05", "70.00", "0.00", "0.00", "0.00", "0.00", "30.00", "40.00"),
        ("2024-06", "40.00", "0.00", "0.00", "0.00", "0.00", "0.00", "40.00"),  # 203 trialing
    ]


# --- Paddle ----------------------------------------------------------------------------------


def test_paddle_transaction_line_items() -> None:
    rows = load([fixture("paddle.csv")])
    assert rows.source == "paddle"
    assert table(rows, date(2024, 4, 30)) == [
        # subtotal in cents, before discount and tax: A 3000 → 30 (Jan 5);
        # B 120000 for twelve whole months → 100 (Jan 20)
        ("2024-01", "0.00", "130.00", "0.00", "0.00", "0.00", "0.00", "130.00"),
        # A: 3000 − discount 500 → 25: contraction 5 (Feb 5); C's transaction was canceled
        ("2024-02", "130.00", "0.00", "0.00", "0.00", "5.00", "0.00", "125.00"),
        ("2024-03", "125.00", "0.00", "35.00", "0.00", "0.00", "0.00", "160.00"),  # A: 6000
        # A's April transaction is past_due: still MRR
        ("2024-04", "160.00", "0.00", "0.00", "0.00", "0.00", "0.00", "160.00"),
    ]


# --- Lago ------------------------------------------------------------------------------------


def test_lago_reads_both_date_column_names() -> None:
    old = load([fixture("lago.csv")])
    new = load([fixture("lago_fee_from_date.csv")])
    assert old.source == new.source == "lago"
    assert old.currency == new.currency == "EUR"
    # The two `charge` (usage) fees carry no MRR.
    assert "2 non-recurring lines set aside" in old.notes
    assert "2 non-recurring lines set aside" in new.notes
    columns = ["start_date", "end_date", "mrr", "plan_id"]
    assert old.frame.select(columns).equals(new.frame.select(columns))
    # Without customer_external_id each subscription is its own customer.
    assert old.frame.get_column("customer_id").unique().sort().to_list() == ["sub_A", "sub_B"]
    assert new.frame.get_column("customer_id").unique().sort().to_list() == ["acme", "globex"]


LAGO_MOVEMENTS = [
    # fee_total_amount_cents − fee_taxes_amount_cents: A 6000 − 1000 → 50 (Jan 1),
    # B 12000 − 2000 → 100 (Jan 15)
    ("2024-01", "0.00", "150.00", "0.00", "0.00", "0.00", "0.00", "150.00"),
    ("2024-02", "150.00", "0.00", "0.00", "0.00", "0.00", "0.00", "150.00"),
    # A: 9600 − 1600 → 80 (Mar 1): expansion 30; B's last fee covers through Mar 14: churn
    ("2024-03", "150.00", "0.00", "30.00", "0.00", "0.00", "100.00", "80.00"),
    ("2024-04", "80.00", "0.00", "0.00", "0.00", "0.00", "0.00", "80.00"),
]


@pytest.mark.parametrize("name", ["lago.csv", "lago_fee_from_date.csv"])
def test_lago_fee_periods_end_on_their_last_day(name: str) -> None:
    assert table(load([fixture(name)]), date(2024, 4, 30)) == LAGO_MOVEMENTS


# --- ChartMogul ------------------------------------------------------------------------------


def test_chartmogul_invoices() -> None:
    rows = load([fixture("chartmogul.csv")])
    assert rows.source == "chartmogul"
    assert "1 proration line set aside" in rows.notes
    assert "2 non-recurring lines set aside" in rows.notes  # one_time setup fee, trial
    assert table(rows, date(2024, 4, 30)) == [
        # Tax is inside 'Amount in cents': cus_1 12000 − 2000 → 100 (Jan 1);
        # cus_2 36000 − 6000 for Jan 15 → Apr 15, three months → 100 (Jan 15)
        ("2024-01", "0.00", "200.00", "0.00", "0.00", "0.00", "0.00", "200.00"),
        ("2024-02", "200.00", "0.00", "0.00", "0.00", "0.00", "0.00", "200.00"),
        # cus_1: 18000 − 3000 → 150: expansion 50 (the amount is already after its discount)
        ("2024-03", "200.00", "0.00", "50.00", "0.00", "0.00", "0.00", "250.00"),
        # cus_2's quarter ends Apr 15 with no invoice after it: churn
        ("2024-04", "250.00", "0.00", "0.00", "0.00", "0.00", "100.00", "150.00"),
    ]


def test_chartmogul_jpy_tax_inside_and_no_minor_unit() -> None:
    rows = load([fixture("chartmogul_jpy.csv")])
    assert (rows.currency, rows.exponent) == ("JPY", 0)
    assert table(rows, date(2024, 2, 29)) == [
        ("2024-01", "0", "1200", "0", "0", "0", "0", "1200"),  # 1320 − tax 120 = ¥1200
        ("2024-02", "1200", "0", "300", "0", "0", "0", "1500"),  # 1650 − 150 = ¥1500
    ]


# --- Baremetrics -----------------------------------------------------------------------------


def test_baremetrics_import() -> None:
    rows = load([fixture("baremetrics.csv")])
    assert rows.source == "baremetrics"
    assert mrr_by_subscription(rows) == {
        "s1": 5800,  # plan_amount 2900 cents × subscription_quantity 2
        "s2": 8250,  # 99000 cents a year ÷ 12
        "s3": 5000,  # 15000 every 3 months
        "s4": 2174,  # 1000 every 2 weeks: 10.00 × 30.4375 ÷ 14 = 21.741… → 21.74
    }
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "58.00", "0.00", "0.00", "0.00", "0.00", "58.00"),
        ("2024-02", "58.00", "82.50", "0.00", "0.00", "0.00", "0.00", "140.50"),
        ("2024-03", "140.50", "0.00", "0.00", "0.00", "0.00", "0.00", "140.50"),
        ("2024-04", "140.50", "0.00", "50.00", "0.00", "0.00", "0.00", "190.50"),  # c1's s3
        ("2024-05", "190.50", "0.00", "0.00", "0.00", "0.00", "82.50", "108.00"),  # s2 ends
        ("2024-06", "108.00", "21.74", "0.00", "0.00", "0.00", "0.00", "129.74"),
    ]


# --- Zuora -----------------------------------------------------------------------------------


def test_zuora_rate_plan_charges() -> None:
    rows = load([fixture("zuora.csv")])
    assert rows.source == "zuora"
    # `mrr` is already monthly: quantity 10 on rpc_3 is not applied again.
    assert mrr_by_subscription(rows) == {"sub_S1": 4900 + 7900, "sub_S2": 12000, "sub_S3": 0}
    assert table(rows, date(2024, 6, 30)) == [
        ("2024-01", "0.00", "49.00", "0.00", "0.00", "0.00", "0.00", "49.00"),
        ("2024-02", "49.00", "120.00", "0.00", "0.00", "0.00", "0.00", "169.00"),
        ("2024-03", "169.00", "0.00", "0.00", "0.00", "0.00", "0.00", "169.00"),
        # segment 2 of sub_S1 from Apr 1: 79 − 49
        ("2024-04", "169.00", "0.00", "30.00", "0.00", "0.00", "0.00", "199.00"),
        # effective_end_date 2024-05-15 (exclusive)
        ("2024-05", "199.00", "0.00", "0.00", "0.00", "0.00", "120.00", "79.00"),
        ("2024-06", "79.00", "0.00", "0.00", "0.00", "0.00", "0.00", "79.00"),
    ]


def test_zuora_one_time_and_usage_charges_carry_no_mrr() -> None:
    rows = load([fixture("zuora_charge_types.csv")])
    assert table(rows, date(2024, 3, 31)) == [
        ("2024-01", "0.00", "49.00", "0.00", "0.00", "0.00", "0.00", "49.00"),
        ("2024-02", "49.00", "0.00", "0.00", "0.00", "0.00", "0.00", "49.00"),
        ("2024-03", "49.00", "0.00", "0.00", "0.00", "0.00", "0.00", "49.00"),
    ]


def test_trial_end_column_makes_a_free_trial_then_a_conversion(tmp_path: Path) -> None:
    """A Stripe row that trialed: free until Trial End, then paying. In broad scope that is a
    free-to-paid conversion (expansion), exactly as when the export writes two rows."""
    path = tmp_path / "stripe.csv"
    path.write_text(
        "id,Customer ID,Plan,Quantity,Currency,Interval,Amount,Status,Start Date (UTC),"
        "Trial End (UTC),Ended At (UTC)\n"
        "sub_1,cus_4,pro,1,usd,month,30.00,active,2024-01-01 00:00,2024-01-15 00:00,\n"
    )
    rows = load([str(path)])
    strict = customers(rows, Settings(as_of=date(2024, 3, 31))).frame
    assert strict.select("date", "movement", "amount").rows() == [
        ("2024-01-15", "new", Decimal("30.00"))
    ]
    broad = customers(rows, Settings(as_of=date(2024, 3, 31), scope="broad")).frame
    assert broad.select("date", "movement", "amount").rows() == [
        ("2024-01-15", "expansion", Decimal("30.00"))
    ]
