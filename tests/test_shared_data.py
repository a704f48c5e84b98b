"""mrrcli against public datasets nobody on this project wrote (shared/data, see its README).

RavenStack's 5,000 subscriptions are checked month by month, to the cent, against a second
calculation written here in plain Python (csv module, no polars, no mrrcli code). Fivetran's
warehouse seeds for Zuora, Stripe and Recurly are tiny and their ids do not all join: the tests
assert what can be worked out by hand. Skipped when the shared folder is absent.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import InputError
from mrrcli.report import Rows, Settings, load, movements

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RAVENSTACK = DATA / "ravenstack" / "ravenstack_subscriptions.csv"
RAVENSTACK_US = DATA / "ravenstack" / "ravenstack_subscriptions_us_dates.csv"
ZUORA_CHARGES = DATA / "fivetran-zuora" / "zuora_rate_plan_charge_data.csv"
STRIPE_LINES = DATA / "fivetran-stripe" / "invoice_line_item_data.csv"
RECURLY_SUBSCRIPTIONS = DATA / "fivetran-recurly" / "subscription_history_data.csv"
RECURLY_PLANS = DATA / "fivetran-recurly" / "plan_history_data.csv"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")

RAVENSTACK_MAP = {"customer_id": "account_id", "mrr": "mrr_amount"}
RAVENSTACK_AS_OF = date(2024, 12, 31)
MOVEMENT_COLUMNS = (
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "closing_mrr",
)
Months = dict[str, dict[str, int]]  # YYYY-MM → column → cents


def mrrcli_months(rows: Rows, as_of: date, mode: str = "event") -> Months:
    report = movements(rows, Settings(as_of=as_of, mode=mode))  # type: ignore[arg-type]
    unit = 10**rows.exponent
    return {
        row["month"]: {c: int(Decimal(row[c]) * unit) for c in MOVEMENT_COLUMNS}
        for row in report.frame.iter_rows(named=True)
    }


# --- RavenStack: an independent calculation ---------------------------------------------------


def read_ravenstack() -> list[tuple[str, date, date | None, int]]:
    """(account, start, end or None, MRR in cents) per subscription row."""
    rows = []
    with RAVENSTACK.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            end = date.fromisoformat(row["end_date"]) if row["end_date"] else None
            cents = int(Decimal(row["mrr_amount"]) * 100)
            rows.append((row["account_id"], date.fromisoformat(row["start_date"]), end, cents))
    return rows


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def classify(before: int, after: int, had_mrr: bool) -> tuple[str, int] | None:
    """SPEC §4.2's table."""
    if before == after:
        return None
    if before == 0:
        return ("reactivation_mrr" if had_mrr else "new_mrr", after)
    if after == 0:
        return ("churned_mrr", before)
    if after > before:
        return ("expansion_mrr", after - before)
    return ("contraction_mrr", before - after)


def month_range(first: date, as_of: date) -> list[date]:
    months, month = [], date(first.year, first.month, 1)
    while month <= as_of:
        months.append(month)
        month = next_month(month)
    return months


def first_paid_day(rows: list[tuple[str, date, date | None, int]]) -> date:
    return min(start for _, start, end, cents in rows if cents > 0 and (end is None or end > start))


def reference_event_mode(rows: list[tuple[str, date, date | None, int]], as_of: date) -> Months:
    """Per customer, sweep the days where its MRR changes; classify each day's net change."""
    deltas: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for account, start, end, cents in rows:
        if start > as_of:
            continue
        deltas[account][start] += cents
        if end is not None and end <= as_of:
            deltas[account][end] -= cents
    flows: Months = defaultdict(lambda: defaultdict(int))
    level_at_month_end: dict[str, list[tuple[date, int]]] = {}
    for account, by_day in deltas.items():
        mrr, had_mrr, levels = 0, False, []
        for day in sorted(by_day):
            after = mrr + by_day[day]
            movement = classify(mrr, after, had_mrr)
            if movement is not None:
                flows[month_key(day)][movement[0]] += movement[1]
            mrr = after
            had_mrr = had_mrr or mrr > 0
            levels.append((day, mrr))
        level_at_month_end[account] = levels
    result: Months = {}
    opening = 0
    for month in month_range(first_paid_day(rows), as_of):
        last_day = min(next_month(month) - timedelta(days=1), as_of)
        closing = 0
        for levels in level_at_month_end.values():
            on_or_before = [mrr for day, mrr in levels if day <= last_day]
            closing += on_or_before[-1] if on_or_before else 0
        key = month_key(month)
        result[key] = {c: flows[key].get(c, 0) for c in MOVEMENT_COLUMNS}
        result[key]["opening_mrr"] = opening
        result[key]["closing_mrr"] = closing
        opening = closing
    return result


def reference_snapshot_mode(rows: list[tuple[str, date, date | None, int]], as_of: date) -> Months:
    """Each customer's MRR at the end of every month-end (or the as-of day), compared."""
    result: Months = {}
    previous: dict[str, int] = {}
    ever_paid: set[str] = set()
    for month in month_range(first_paid_day(rows), as_of):
        day = min(next_month(month) - timedelta(days=1), as_of)
        current: dict[str, int] = defaultdict(int)
        for account, start, end, cents in rows:
            if start <= day and (end is None or end > day):
                current[account] += cents
        totals = dict.fromkeys(MOVEMENT_COLUMNS, 0)
        for account in set(previous) | set(current):
            movement = classify(previous.get(account, 0), current[account], account in ever_paid)
            if movement is not None:
                totals[movement[0]] += movement[1]
        totals["opening_mrr"] = sum(previous.values())
        totals["closing_mrr"] = sum(current.values())
        result[month_key(month)] = totals
        ever_paid |= {account for account, mrr in current.items() if mrr > 0}
        previous = dict(current)
    return result


@pytest.fixture(scope="module")
def ravenstack() -> Rows:
    return load([str(RAVENSTACK)], source="periods", mapping=RAVENSTACK_MAP)


def test_ravenstack_reads_every_row(ravenstack: Rows) -> None:
    assert ravenstack.read == 5000
    assert ravenstack.currency == "USD"
    # The 778 trial rows carry 0 already (is_trial needs no status mapping).
    assert ravenstack.zero_rows == 778


@pytest.mark.parametrize("mode", ["event", "snapshot"])
def test_ravenstack_movements_match_an_independent_calculation(ravenstack: Rows, mode: str) -> None:
    rows = read_ravenstack()
    expected = (reference_event_mode if mode == "event" else reference_snapshot_mode)(
        rows, RAVENSTACK_AS_OF
    )
    got = mrrcli_months(ravenstack, RAVENSTACK_AS_OF, mode)
    assert list(got) == list(expected)  # 2023-01 … 2024-12
    assert len(got) == 24
    for month in expected:
        assert got[month] == expected[month], month


def test_ravenstack_us_dates_give_byte_identical_reports() -> None:
    runner = CliRunner()
    common = ["--map", "customer_id=account_id", "--map", "mrr=mrr_amount"]
    common += ["--as-of", RAVENSTACK_AS_OF.isoformat(), "--format", "csv"]
    for command in (["movements"], ["movements", "--mode", "snapshot"], ["metrics"]):
        outputs = []
        for path in (RAVENSTACK, RAVENSTACK_US):
            result = runner.invoke(app, [command[0], str(path), *command[1:], *common])
            assert result.exit_code == 0, result.stderr
            outputs.append(result.stdout_bytes)
        assert outputs[0] == outputs[1], command
        assert outputs[0].count(b"\n") == 25  # header + 24 months


# --- Fivetran Zuora: rate_plan_charge -----------------------------------------------------------

ZUORA_AS_OF = date(2024, 1, 31)


def zuora_expected() -> Months:
    """Worked by hand from the seed: of its 5 charges, one is deleted (`_fivetran_deleted`),
    one is Usage (mrr empty, JPY); the three Recurring ones all belong to account
    2c92c0f967640caa… with mrr 0, 0 and 49 — the 49 effective 2019-12-31 to 2023-12-31."""
    expected: Months = {}
    for month in month_range(date(2019, 12, 1), ZUORA_AS_OF):
        key = month_key(month)
        flows = dict.fromkeys(MOVEMENT_COLUMNS, 0)
        flows["opening_mrr"] = 0 if key <= "2019-12" or key >= "2024-01" else 4900
        flows["closing_mrr"] = 0 if key >= "2023-12" else 4900
        if key == "2019-12":
            flows["new_mrr"] = 4900
        if key == "2023-12":
            flows["churned_mrr"] = 4900
        expected[key] = flows
    return expected


def test_fivetran_zuora_recurring_charges(tmp_path: Path) -> None:
    """The seed with what the source cannot yet set aside removed by hand: deleted rows and
    non-Recurring charges. Every header is Zuora's own."""
    path = tmp_path / "rate_plan_charge.csv"
    with ZUORA_CHARGES.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        assert reader.fieldnames is not None
        kept = [
            row
            for row in reader
            if row["charge_type"] == "Recurring" and row["_fivetran_deleted"] == "FALSE"
        ]
        with path.open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, reader.fieldnames)
            writer.writeheader()
            writer.writerows(kept)
    assert len(kept) == 3
    rows = load([str(path)])
    assert rows.source == "zuora"
    assert mrrcli_months(rows, ZUORA_AS_OF) == zuora_expected()


def test_fivetran_zuora_rate_plan_charge_as_synced() -> None:
    rows = load([str(ZUORA_CHARGES)], source="zuora")
    assert mrrcli_months(rows, ZUORA_AS_OF) == zuora_expected()


# --- Fivetran Stripe: invoice_line_item --------------------------------------------------------


def test_fivetran_stripe_invoice_lines_need_a_customer() -> None:
    # The table names no customer (it is on `invoice`): a clear error, not a guess.
    with pytest.raises(InputError, match="customer_id"):
        load([str(STRIPE_LINES)])


def test_fivetran_stripe_invoice_lines() -> None:
    """Three lines, each a one-day service period (2021-02-18 14:16:37 → 02-19 14:16:37 UTC).
    Two are prorations. ba222 is 65 cents for 1 day: 0.65 × 30.4375 = 19.784… → 19.78 a month,
    new on Feb 18 and churned on Feb 19, when its period ends with no line after it. The
    invoices they point to are mostly absent, so each subscription item stands for a customer."""
    rows = load([str(STRIPE_LINES)], mapping={"customer_id": "subscription_item_id"})
    assert rows.source == "stripe-invoice-lines"
    assert "2 proration lines set aside" in rows.notes
    assert mrrcli_months(rows, date(2021, 2, 28)) == {
        "2021-02": {
            "opening_mrr": 0,
            "new_mrr": 1978,
            "expansion_mrr": 0,
            "reactivation_mrr": 0,
            "contraction_mrr": 0,
            "churned_mrr": 1978,
            "closing_mrr": 0,
        }
    }


# --- Fivetran Recurly: subscription_history + plan_history -------------------------------------

RECURLY_AS_OF = date(2019, 3, 31)


def recurly_expected(new_in_february_2015: int) -> Months:
    expected: Months = {}
    for month in month_range(date(2015, 2, 1), RECURLY_AS_OF):
        key = month_key(month)
        flows = dict.fromkeys(MOVEMENT_COLUMNS, 0)
        flows["opening_mrr"] = 0 if key == "2015-02" else new_in_february_2015
        flows["closing_mrr"] = new_in_february_2015
        if key == "2015-02":
            flows["new_mrr"] = new_in_february_2015
        expected[key] = flows
    return expected


def recurly_rows(keep: str) -> list[dict[str, str]]:
    """subscription_history with its plan's interval joined in; `keep="latest"` keeps the
    latest `updated_at` version of each subscription, `keep="all"` every version."""
    with RECURLY_PLANS.open(newline="", encoding="utf-8") as handle:
        plans = {p["id"]: p for p in csv.DictReader(handle)}
    with RECURLY_SUBSCRIPTIONS.open(newline="", encoding="utf-8") as handle:
        versions = list(csv.DictReader(handle))
    for row in versions:
        row["interval_unit"] = plans[row["plan_id"]]["interval_unit"]  # 'months'
        row["interval_length"] = plans[row["plan_id"]]["interval_length"]
    if keep == "all":
        return versions
    latest: dict[str, dict[str, str]] = {}
    for row in sorted(versions, key=lambda r: datetime.fromisoformat(r["updated_at"])):
        latest[row["id"]] = row  # a later version replaces an earlier one
    return list(latest.values())


def write_rows(path: Path, rows: list[dict[str, str]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_fivetran_recurly_subscriptions_without_add_ons(tmp_path: Path) -> None:
    """Latest version of each subscription, those without add-ons: 2900cfb1… (99.00 monthly,
    activated 2015-02-11, never expires) and two that start and expire within minutes on
    2019-03-26 (no MRR on any day)."""
    rows = [r for r in recurly_rows("latest") if Decimal(r["add_ons_total"]) == 0]
    assert len(rows) == 3
    loaded = load([write_rows(tmp_path / "subscriptions.csv", rows)])
    assert loaded.source == "recurly"
    assert mrrcli_months(loaded, RECURLY_AS_OF) == recurly_expected(9900)


def test_fivetran_recurly_subscription_history(tmp_path: Path) -> None:
    """Every version as synced. By hand: 2900cfb1… 99.00 from 2015-02-11 and bcd3f1f3…
    2999.00 + add-ons 2597.00 = 5596.00 from 2015-02-13 (its 7-day trial ends 2015-02-20, still
    February): new 5695.00 in February 2015, flat after."""
    loaded = load([write_rows(tmp_path / "subscriptions.csv", recurly_rows("all"))])
    assert mrrcli_months(loaded, RECURLY_AS_OF) == recurly_expected(569500)


def test_fivetran_recurly_subscriptions_with_their_plans_table() -> None:
    """The two tables passed together: the plans table is told apart by its header and gives
    each subscription its interval; by hand, new 99.00 + 5596.00 = 5695.00 in February 2015."""
    loaded = load([str(RECURLY_SUBSCRIPTIONS), str(RECURLY_PLANS)])
    assert loaded.source == "recurly"
    assert any("Recurly plans joined in" in note for note in loaded.notes)
    assert mrrcli_months(loaded, RECURLY_AS_OF) == recurly_expected(569500)
