"""Exports of several tables or versions (SPEC §2.4): Stripe's warehouse tables, Recurly's
subscription history, Zuora's charge versions and segments, Chargebee's add-ons.

Fixtures are built from the documented columns (EXPORTS.md in the shared folder) in the header
layout of Fivetran's seeds (github.com/fivetran/dbt_stripe, dbt_recurly, dbt_zuora, Apache-2.0)
and Chargebee's `SubscriptionAddons.csv`; every expected number is worked out in a comment.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import InputError
from mrrcli.report import Rows, Settings, load, movements
from mrrcli.sources import by_name, detect, lookup_for
from mrrcli.sources.inputs import headers_of

SOURCES = Path(__file__).parent / "fixtures" / "sources"
WAREHOUSE = SOURCES / "stripe_warehouse"
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


def table(rows: Rows, as_of: date) -> Table:
    """(month, opening, new, expansion, reactivation, contraction, churned, closing)."""
    report = movements(rows, Settings(as_of=as_of))
    return [tuple(str(v) for v in row) for row in report.frame.select(COLUMNS).iter_rows()]


def tables_of(folder: Path) -> list[str]:
    return [str(f) for f in sorted(folder.glob("*.csv"))]


# --- Stripe warehouse tables -------------------------------------------------------------------

# By hand (minor units: cents; unit_amount_decimal wins over unit_amount):
# - sub_A (cus_A) from 2024-01-15: si_A1 2 × 2999 = 5998 a month → new 59.98 in January;
#   si_A2 added 2024-03-05 (its `created`), 4 seats × 1250.5 = 5002 (not 4 × 1251 = 5004) →
#   expansion 50.02 in March; si_A3 is metered (usage): set aside.
# - sub_B (cus_B) from 2024-02-01: si_B1 9000 a quarter = 3000 a month → new 30.00 in
#   February; cancellation requested 2024-03-20 (canceled_at), service ended 2024-04-01
#   (ended_at) → churn 30.00 in April, not March. si_B2 is deleted (_fivetran_deleted): aside.
# - sub_C (cus_C) trialing until 2024-07-01: 0 MRR through June.
# - sub_F (cus_F) from 2024-06-10 on a legacy plan (in plan.csv, not price.csv): 5000 → new
#   50.00 in June.
WAREHOUSE_MONTHS = [
    ("2024-01", "0.00", "59.98", "0.00", "0.00", "0.00", "0.00", "59.98"),
    ("2024-02", "59.98", "30.00", "0.00", "0.00", "0.00", "0.00", "89.98"),
    ("2024-03", "89.98", "0.00", "50.02", "0.00", "0.00", "0.00", "140.00"),
    ("2024-04", "140.00", "0.00", "0.00", "0.00", "0.00", "30.00", "110.00"),
    ("2024-05", "110.00", "0.00", "0.00", "0.00", "0.00", "0.00", "110.00"),
    ("2024-06", "110.00", "50.00", "0.00", "0.00", "0.00", "0.00", "160.00"),
]


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_stripe_warehouse_tables_are_joined_into_a_subscription_list(order: str) -> None:
    files = tables_of(WAREHOUSE)
    if order == "reversed":
        files.reverse()
    rows = load(files)
    assert rows.source == "stripe-warehouse"
    assert table(rows, date(2024, 6, 30)) == WAREHOUSE_MONTHS
    notes = "\n".join(rows.notes)
    assert "Stripe subscriptions joined in" in notes
    assert "Stripe prices joined in" in notes and "Stripe plans joined in" in notes
    # The same caveat as the Dashboard export: a plan change overwrites the item.
    assert "past upgrades and downgrades cannot be seen" in notes
    assert rows.set_aside == {
        "rows with _fivetran_deleted true": 1,
        "rows with price.usage_type metered": 1,
    }


def test_stripe_warehouse_is_recognised_by_auto_and_said_on_stderr() -> None:
    result = CliRunner().invoke(
        app, ["movements", *tables_of(WAREHOUSE), "--as-of", "2024-06-30", "-f", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    assert "reading as --source stripe-warehouse" in result.stderr
    # The closing MRR of June, worked out above: 59.98 + 50.02 + 50.00 = 160.00.
    assert result.stdout.splitlines()[-1].endswith(",160.00")


def test_stripe_warehouse_named_and_with_price_id_items(tmp_path: Path) -> None:
    # --source stripe-warehouse reads it as auto does; items written with `price_id` (newer
    # connectors) instead of `plan_id` join the same prices: the months worked out above.
    assert load(tables_of(WAREHOUSE), source="stripe-warehouse").frame.equals(
        load(tables_of(WAREHOUSE)).frame
    )
    for name in ("subscription.csv", "price.csv", "plan.csv"):
        (tmp_path / name).write_text((WAREHOUSE / name).read_text())
    items = (WAREHOUSE / "subscription_item.csv").read_text().replace(",plan_id,", ",price_id,", 1)
    (tmp_path / "subscription_item.csv").write_text(items)
    assert table(load(tables_of(tmp_path)), date(2024, 6, 30)) == WAREHOUSE_MONTHS


def test_stripe_warehouse_needs_its_subscription_and_price_tables() -> None:
    with pytest.raises(InputError, match="need Stripe subscriptions passed with them"):
        load([str(WAREHOUSE / "subscription_item.csv")])
    with pytest.raises(InputError, match="need Stripe prices or plans passed with them"):
        load([str(WAREHOUSE / "subscription_item.csv"), str(WAREHOUSE / "subscription.csv")])
    # Without plan.csv, si_F1's plan is in no table: the row is named (row 8 of the items).
    with pytest.raises(InputError, match=r"row 8.*'plan_legacy' is not in Stripe prices or plans"):
        load(
            [str(WAREHOUSE / f) for f in ("subscription_item.csv", "subscription.csv", "price.csv")]
        )


def test_stripe_warehouse_reads_the_active_rows_of_subscription_history(tmp_path: Path) -> None:
    # subscription_history keeps every version (_fivetran_active false for the old ones): an
    # old version of sub_B said it was still active, the active one ended it 2024-04-01.
    # Only the active version is joined: the months are those worked out above.
    current = (WAREHOUSE / "subscription.csv").read_text().splitlines()
    header = current[0].replace("id,", "id,_fivetran_active,", 1)
    rows = [line.replace(",", ",true,", 1) for line in current[1:]]
    old_b = next(r for r in current[1:] if r.startswith("sub_B,"))
    old_b = old_b.replace("2024-04-01 00:00:00,TRUE,{}", ",TRUE,{}").replace(
        ",canceled,", ",active,"
    )
    history = tmp_path / "subscription_history.csv"
    # The old version comes last, where "the last row of an id" would wrongly take it.
    history.write_text("\n".join([header, *rows, old_b.replace(",", ",false,", 1)]) + "\n")
    files = [str(WAREHOUSE / f) for f in ("subscription_item.csv", "price.csv", "plan.csv")]
    rows_read = load([*files, str(history)])
    assert table(rows_read, date(2024, 6, 30)) == WAREHOUSE_MONTHS


def test_stripe_warehouse_is_read_whole() -> None:
    # Its rows take their customer from the subscription table.
    assert by_name("stripe-warehouse").read_whole_because() is not None
    assert load(tables_of(WAREHOUSE), parts=3).parts == []


# --- Recurly subscription history ---------------------------------------------------------------

# By hand (Fivetran's subscription_history layout, major units, monthly plans):
# - sub1 (acct-X): 50.00 from its activation 2024-01-05; the 2024-02-05 version (a renewal)
#   changes no price; upgraded to 80.00 on 2024-03-10 (expansion 30.00); canceled 2024-05-20,
#   service until expires_at 2024-06-01 (churn 80.00 in June, not May); the expired version
#   written after that carries nothing and is set aside.
# - sub2 (acct-Y): 2 seats × 20.00 + add-ons 5.00 = 45.00 from 2024-02-15; one seat from
#   2024-04-01: 1 × 20.00 + 5.00 = 25.00 (contraction 20.00 in April).
# - sub3 (acct-Z): a `future` version from 2024-04-20 (not paying yet), active at 100.00 from
#   2024-05-01 (new 100.00 in May).
RECURLY_HISTORY_MONTHS = [
    ("2024-01", "0.00", "50.00", "0.00", "0.00", "0.00", "0.00", "50.00"),
    ("2024-02", "50.00", "45.00", "0.00", "0.00", "0.00", "0.00", "95.00"),
    ("2024-03", "95.00", "0.00", "30.00", "0.00", "0.00", "0.00", "125.00"),
    ("2024-04", "125.00", "0.00", "0.00", "0.00", "20.00", "0.00", "105.00"),
    ("2024-05", "105.00", "100.00", "0.00", "0.00", "0.00", "0.00", "205.00"),
    ("2024-06", "205.00", "0.00", "0.00", "0.00", "0.00", "80.00", "125.00"),
]


def test_recurly_history_versions_become_price_changes() -> None:
    rows = load([str(SOURCES / "recurly_history.csv")])
    assert rows.source == "recurly"
    assert table(rows, date(2024, 6, 30)) == RECURLY_HISTORY_MONTHS
    assert rows.set_aside == {"versions written after their subscription expired": 1}
    # A history shows past upgrades: the subscription-list caveat is not said.
    notes = "\n".join(rows.notes)
    assert "A history of subscription versions" in notes
    assert "cannot be seen" not in notes


def test_recurly_history_upgrade_day_and_churn_month() -> None:
    result = CliRunner().invoke(
        app,
        ["customers", str(SOURCES / "recurly_history.csv"), "--as-of", "2024-06-30", "-f", "csv"],
    )
    assert result.exit_code == 0, result.stderr
    assert "reading as --source recurly" in result.stderr
    lines = result.stdout.splitlines()
    # 50 → 80 on the day of the upgrading version; churn of 80 when service ends.
    assert "2024-03-10,2024-03,acct-X,expansion,50.00,80.00,30.00" in lines
    assert "2024-06-01,2024-06,acct-X,churn,80.00,0.00,80.00" in lines


def test_recurly_history_without_updated_at_is_a_subscription_list() -> None:
    # The plain export (one row per subscription, no updated_at) still says it cannot show
    # past upgrades.
    rows = load([str(SOURCES / "recurly.csv")])
    assert any("cannot be seen" in note for note in rows.notes)
    assert by_name("recurly").read_whole_because() is not None


# --- Zuora charge versions and segments ---------------------------------------------------------

# By hand (`mrr` is already monthly; effective end dates exclusive):
# - C-00000101 (acct_A): version 1 is one open segment at 100.00 from 2024-01-01; the price
#   rise amended on 2024-03-10 wrote version 2: segment 1 at 100.00 until 2024-03-15, segment 2
#   at 150.00 from then. Version 2 counts, both segments: new 100.00 in January, expansion 50.00
#   in March (counting every version would give 200.00 in January). A version 3 row was
#   deleted (_fivetran_deleted): set aside, so version 2 stays the latest.
# - C-00000102 (acct_B): 60.00 from 2024-02-01; version 2 ends it 2024-05-01: churn in May.
# - C-00000104 (acct_C): 30.00 from 2024-02-10, copied unchanged into a second subscription
#   version with the same charge version: counted once. February: new 60.00 + 30.00 = 90.00.
ZUORA_MONTHS = [
    ("2024-01", "0.00", "100.00", "0.00", "0.00", "0.00", "0.00", "100.00"),
    ("2024-02", "100.00", "90.00", "0.00", "0.00", "0.00", "0.00", "190.00"),
    ("2024-03", "190.00", "0.00", "50.00", "0.00", "0.00", "0.00", "240.00"),
    ("2024-04", "240.00", "0.00", "0.00", "0.00", "0.00", "0.00", "240.00"),
    ("2024-05", "240.00", "0.00", "0.00", "0.00", "0.00", "60.00", "180.00"),
    ("2024-06", "180.00", "0.00", "0.00", "0.00", "0.00", "0.00", "180.00"),
]


def test_zuora_counts_each_charge_segment_once_from_its_latest_version() -> None:
    rows = load([str(SOURCES / "zuora_versions.csv")])
    assert rows.source == "zuora"
    assert table(rows, date(2024, 6, 30)) == ZUORA_MONTHS
    # rpc_a1 and rpc_b1 (older versions) and rpc_c1 (an older copy): 3; rpc_a4 deleted: 1.
    assert rows.set_aside == {
        "rows with _fivetran_deleted true": 1,
        "older versions or repeated copies of a row (history table)": 3,
    }


def test_zuora_data_source_headers_version_alike(tmp_path: Path) -> None:
    # The same charges under a Data Source export's headers (RatePlanCharge.*): same months.
    renames = {
        "charge_number": "RatePlanCharge.ChargeNumber",
        "version": "RatePlanCharge.Version",
        "segment": "RatePlanCharge.Segment",
        "updated_date": "RatePlanCharge.UpdatedDate",
        "charge_type": "RatePlanCharge.ChargeType",
        "mrr": "RatePlanCharge.MRR",
    }
    lines = (SOURCES / "zuora_versions.csv").read_text().splitlines()
    header = ",".join(renames.get(h, h) for h in lines[0].split(","))
    path = tmp_path / "charges.csv"
    path.write_text("\n".join([header, *lines[1:]]) + "\n")
    assert table(load([str(path)], source="zuora"), date(2024, 6, 30)) == ZUORA_MONTHS


def test_zuora_is_read_whole_and_auto_recognises_it() -> None:
    # A charge's latest version may name another account than its older ones.
    assert by_name("zuora").read_whole_because() is not None
    result = CliRunner().invoke(
        app, ["movements", str(SOURCES / "zuora_versions.csv"), "--as-of", "2024-06-30"]
    )
    assert result.exit_code == 0, result.stderr
    assert "reading as --source zuora" in result.stderr


# --- Chargebee add-ons --------------------------------------------------------------------------

ADDONS = SOURCES / "chargebee_addons"

# By hand (major units; each add-on has its subscription's customer, period, interval, status):
# - cust_A, sub_1 from 2024-01-05: plan 3 × 10.00 = 30.00, add-ons 2 × 5.00 = 10.00 and
#   1 × 2.50 = 2.50 → new 42.50 in January (the plan alone would be 30.00).
# - cust_B, sub_2 yearly from 2024-02-10: 600.00 / 12 = 50.00 + add-on 120.00 / 12 = 10.00 →
#   new 60.00 in February; cancelled 2024-04-10 → churn 60.00 in April.
# - cust_A, sub_4 from 2024-03-01: 10.00 + add-on 15.00 = 25.00 → expansion 25.00 in March.
# - cust_C, sub_3 in trial until 2024-07-20: its plan and its add-on carry 0 through June.
ADDON_MONTHS = [
    ("2024-01", "0.00", "42.50", "0.00", "0.00", "0.00", "0.00", "42.50"),
    ("2024-02", "42.50", "60.00", "0.00", "0.00", "0.00", "0.00", "102.50"),
    ("2024-03", "102.50", "0.00", "25.00", "0.00", "0.00", "0.00", "127.50"),
    ("2024-04", "127.50", "0.00", "0.00", "0.00", "0.00", "60.00", "67.50"),
    ("2024-05", "67.50", "0.00", "0.00", "0.00", "0.00", "0.00", "67.50"),
    ("2024-06", "67.50", "0.00", "0.00", "0.00", "0.00", "0.00", "67.50"),
]


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_chargebee_add_ons_add_their_mrr_to_their_subscription(order: str) -> None:
    files = tables_of(ADDONS)
    if order == "reversed":
        files.reverse()
    rows = load(files)
    assert rows.source == "chargebee"
    assert table(rows, date(2024, 6, 30)) == ADDON_MONTHS
    assert any("Chargebee subscription add-ons joined in" in note for note in rows.notes)
    # 4 subscriptions and 5 add-ons read.
    assert rows.read == 9


def test_chargebee_add_ons_do_not_take_the_plan_price_of_their_subscription() -> None:
    # The subscriptions carry plan_unit_price_in_decimal too; an add-on row must not fall
    # back to it. sub_1's MRR by hand: 30.00 + 10.00 + 2.50 = 42.50 (in cents, 4250).
    rows = load(tables_of(ADDONS))
    sub_1 = rows.frame.filter(
        (rows.frame["subscription_id"] == "sub_1") & (rows.frame["mrr"] > 0)
    ).get_column("mrr")
    assert sorted(sub_1.to_list()) == [250, 1000, 3000]


def test_chargebee_add_on_of_an_unknown_subscription_is_an_error(tmp_path: Path) -> None:
    addons = tmp_path / "SubscriptionAddons.csv"
    addons.write_text((ADDONS / "SubscriptionAddons.csv").read_text() + "sub_9,sso,1,15.00,15.00\n")
    with pytest.raises(InputError) as error:
        load([str(ADDONS / "Subscriptions.csv"), str(addons)])
    message = str(error.value)
    assert "SubscriptionAddons.csv" in message and "row 7" in message and "'sub_9'" in message


def test_chargebee_alone_may_be_split_with_add_ons_it_is_read_whole() -> None:
    # The add-ons file has no customer column: beside it, the export is read whole.
    assert by_name("chargebee").read_whole_because() is None
    assert load(tables_of(ADDONS), parts=3).parts == []
    assert load([str(SOURCES / "chargebee.csv")], parts=3).parts


def test_chargebee_add_ons_are_recognised_by_auto() -> None:
    result = CliRunner().invoke(
        app, ["movements", *tables_of(ADDONS), "--as-of", "2024-06-30", "-f", "csv"]
    )
    assert result.exit_code == 0, result.stderr
    assert "reading as --source chargebee" in result.stderr
    assert "Chargebee subscription add-ons joined in" in result.stderr
    assert result.stdout.splitlines()[-1].endswith(",67.50")


def test_chargebee_add_on_without_a_price_is_an_error_not_the_plan_price(tmp_path: Path) -> None:
    # An add-on row with no unit price must not fall back to its subscription's
    # plan_unit_price_in_decimal (10.00): the row is named instead.
    addons = tmp_path / "SubscriptionAddons.csv"
    addons.write_text((ADDONS / "SubscriptionAddons.csv").read_text() + "sub_4,seats,2,,\n")
    with pytest.raises(InputError) as error:
        load([str(ADDONS / "Subscriptions.csv"), str(addons)])
    assert "SubscriptionAddons.csv" in str(error.value) and "row 7" in str(error.value)


def test_chargebee_add_on_exported_twice_counts_once(tmp_path: Path) -> None:
    # sub_4's add-on row repeated: counted once (same months as above), reported as a
    # duplicate; with --keep-duplicates it counts twice: March expansion 10.00 + 2 × 15.00.
    addons = tmp_path / "SubscriptionAddons.csv"
    addons.write_text((ADDONS / "SubscriptionAddons.csv").read_text() + "sub_4,sso,1,15.00,15.00\n")
    files = [str(ADDONS / "Subscriptions.csv"), str(addons)]
    rows = load(files)
    assert rows.duplicates == 1
    assert table(rows, date(2024, 6, 30)) == ADDON_MONTHS
    kept = load(files, keep_duplicates=True)
    assert table(kept, date(2024, 3, 31))[2][3] == "40.00"


# --- The public Fivetran samples: their real headers are told apart -----------------------------

DATA = next(
    (
        d
        for d in (
            Path(__file__).resolve().parents[2] / "shared" / "data",
            Path("/work/shared/data"),
        )
        if d.is_dir()
    ),
    None,
)


@pytest.mark.skipif(DATA is None, reason="shared data not found")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("subscription_data.csv", "Stripe subscriptions"),
        ("subscription_history_data.csv", "Stripe subscriptions"),
        ("price_data.csv", "Stripe prices"),
        ("plan_data.csv", "Stripe plans"),
    ],
)
def test_fivetran_stripe_tables_are_told_apart_by_their_headers(name: str, expected: str) -> None:
    assert DATA is not None
    found = lookup_for(headers_of(str(DATA / "fivetran-stripe" / name)))
    assert found is not None and found[0].name == "stripe-warehouse"
    assert found[1].title == expected


@pytest.mark.skipif(DATA is None, reason="shared data not found")
def test_fivetran_stripe_subscription_items_are_the_main_table() -> None:
    assert DATA is not None
    headers = headers_of(str(DATA / "fivetran-stripe" / "subscription_item_data.csv"))
    assert lookup_for(headers) is None
    assert detect(headers)[0].name == "stripe-warehouse"
    # The sample's ids do not all join (its README says so): the first item whose
    # subscription is missing is named, never silently dropped.
    stripe = DATA / "fivetran-stripe"
    with pytest.raises(InputError, match=r"row 4.*'sdfg5637' is not in Stripe subscriptions"):
        load(
            [
                str(stripe / f)
                for f in ("subscription_item_data.csv", "subscription_data.csv", "plan_data.csv")
            ]
        )
