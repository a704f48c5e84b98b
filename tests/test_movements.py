"""Movement classification and monthly totals (SPEC §4, §5, §8), through the library API.

Each test writes a tiny `periods` CSV, computes the movements with `report.movements` (or
`report.customers` for the audit trail) and compares them with a table worked out by hand.
Money in a Report is Decimal in major units.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from mrrcli.report import Settings, customers, expansion, load, movements

FIXTURES = Path(__file__).parent / "fixtures"
SPEC_EXAMPLE = str(FIXTURES / "spec_example.csv")

COLUMNS = (
    "month",
    "days",
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "closing_mrr",
)
HEADER = "customer_id,subscription_id,start_date,end_date,amount,interval,status\n"


def money(value: float | str) -> Decimal:
    return Decimal(str(value))


def month(
    name: str,
    days: int,
    opening: float,
    closing: float,
    *,
    new: float = 0,
    expansion: float = 0,
    reactivation: float = 0,
    contraction: float = 0,
    churned: float = 0,
) -> tuple[Any, ...]:
    """One expected row of the movements table; net_new by its definition (§6)."""
    net_new = new + expansion + reactivation - contraction - churned
    values = (opening, new, expansion, reactivation, contraction, churned, net_new, closing)
    return (name, days, *(money(v) for v in values))


def write(tmp_path: Path, body: str, name: str = "periods.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def table(path: str, **settings: Any) -> list[tuple[Any, ...]]:
    report = movements(load([path]), Settings(**settings))
    return report.frame.select(COLUMNS).rows()


def trail(path: str, **settings: Any) -> list[tuple[Any, ...]]:
    """The `customers` audit trail: date, customer, movement, before, after, amount."""
    report = customers(load([path]), Settings(**settings))
    columns = ("date", "customer_id", "movement", "mrr_before", "mrr_after", "amount")
    return report.frame.select(columns).rows()


# --- the worked example of SPEC §8 ------------------------------------------------------------

AS_OF = date(2024, 5, 31)


def test_spec_example_event_mode() -> None:
    assert table(SPEC_EXAMPLE, as_of=AS_OF) == [
        # A 100 (Jan 15) + C 60 (Jan 3) new
        month("2024-01", 31, 0, 160, new=160),
        # B b1 1200/yr = 100 new; A 100 → 180 on Feb 10; C ends Feb 3 (exclusive) → churn 60
        month("2024-02", 29, 160, 280, new=100, expansion=80, churned=60),
        # B's add-on b2 +40 on Mar 5, −40 on Mar 20
        month("2024-03", 31, 280, 280, expansion=40, contraction=40),
        # A ends Apr 15 → churn 180; B 100 stays
        month("2024-04", 30, 280, 100, churned=180),
        # C comes back on May 10 with 75: reactivation
        month("2024-05", 31, 100, 175, reactivation=75),
    ]


def test_spec_example_snapshot_mode() -> None:
    assert table(SPEC_EXAMPLE, as_of=AS_OF, mode="snapshot") == [
        month("2024-01", 31, 0, 160, new=160),
        month("2024-02", 29, 160, 280, new=100, expansion=80, churned=60),
        # the add-on came and went within March: B is 100 at both month ends
        month("2024-03", 31, 280, 280),
        month("2024-04", 30, 280, 100, churned=180),
        month("2024-05", 31, 100, 175, reactivation=75),
    ]


def test_spec_example_audit_trail() -> None:
    m = money
    assert trail(SPEC_EXAMPLE, as_of=AS_OF) == [
        ("2024-01-03", "C", "new", m(0), m(60), m(60)),
        ("2024-01-15", "A", "new", m(0), m(100), m(100)),
        ("2024-02-01", "B", "new", m(0), m(100), m(100)),
        ("2024-02-03", "C", "churn", m(60), m(0), m(60)),
        ("2024-02-10", "A", "expansion", m(100), m(180), m(80)),
        ("2024-03-05", "B", "expansion", m(100), m(140), m(40)),
        ("2024-03-20", "B", "contraction", m(140), m(100), m(40)),
        ("2024-04-15", "A", "churn", m(180), m(0), m(180)),
        ("2024-05-10", "C", "reactivation", m(0), m(75), m(75)),
    ]


def test_spec_example_audit_trail_snapshot_mode() -> None:
    m = money
    # Snapshot mode dates each movement on the month's last day; within a day, largest first.
    assert trail(SPEC_EXAMPLE, as_of=AS_OF, mode="snapshot") == [
        ("2024-01-31", "A", "new", m(0), m(100), m(100)),
        ("2024-01-31", "C", "new", m(0), m(60), m(60)),
        ("2024-02-29", "B", "new", m(0), m(100), m(100)),
        ("2024-02-29", "A", "expansion", m(100), m(180), m(80)),
        ("2024-02-29", "C", "churn", m(60), m(0), m(60)),
        ("2024-04-30", "A", "churn", m(180), m(0), m(180)),
        ("2024-05-31", "C", "reactivation", m(0), m(75), m(75)),
    ]


# --- each rule of the §4.2 table --------------------------------------------------------------


def test_new(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-01-10,,50,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 50, new=50),
        month("2024-02", 29, 50, 50),
    ]


def test_expansion(tmp_path: Path) -> None:
    # more seats on the same subscription: 2 × 10 → 5 × 10 on Feb 15
    path = str(tmp_path / "seats.csv")
    Path(path).write_text(
        "customer_id,start_date,end_date,amount,quantity\n"
        "x,2024-01-01,2024-02-15,10,2\n"
        "x,2024-02-15,,10,5\n",
        encoding="utf-8",
    )
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 20, new=20),
        month("2024-02", 29, 20, 50, expansion=30),  # 50 − 20
    ]


def test_contraction(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-15,100,month,\nx,x1,2024-02-15,,60,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 60, contraction=40),  # 100 − 60
    ]


def test_churn_when_the_rows_stop(tmp_path: Path) -> None:
    # The only row ends on Feb 15 and nothing follows: churn of the whole 100.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-15,100,month,\n")
    assert table(path, as_of=date(2024, 3, 31)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 0, churned=100),
        month("2024-03", 31, 0, 0),
    ]


def test_end_date_is_exclusive(tmp_path: Path) -> None:
    # Paid through Jan 31; the MRR drops to 0 on Feb 1, a February movement.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-01,100,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 0, churned=100),
    ]


def test_last_of_several_subscriptions_stopping_is_churn(tmp_path: Path) -> None:
    # s1 (30) stops Feb 10 while s2 (70) still pays: contraction 30; s2 stops Feb 20: churn 70.
    path = write(
        tmp_path,
        "x,s1,2024-01-01,2024-02-10,30,month,\nx,s2,2024-01-01,2024-02-20,70,month,\n",
    )
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 0, contraction=30, churned=70),
    ]


def test_reactivation_after_churn(tmp_path: Path) -> None:
    # 50 from Jan 1, gone Feb 1; back on Apr 1 with 70 on another subscription.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-01,50,month,\nx,x2,2024-04-01,,70,month,\n")
    assert table(path, as_of=date(2024, 4, 30)) == [
        month("2024-01", 31, 0, 50, new=50),
        month("2024-02", 29, 50, 0, churned=50),
        month("2024-03", 31, 0, 0),
        month("2024-04", 30, 0, 70, reactivation=70),
    ]


def test_reactivation_in_the_month_of_churn(tmp_path: Path) -> None:
    # Gone on Feb 5, back on Feb 20: both happen in February.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-05,50,month,\nx,x1,2024-02-20,,40,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 50, new=50),
        month("2024-02", 29, 50, 40, reactivation=40, churned=50),
    ]


def test_paid_after_trial_is_new_not_reactivation(tmp_path: Path) -> None:
    # A trial carries 0 MRR, so the customer never had MRR > 0 before paying.
    path = write(
        tmp_path,
        "x,x1,2024-01-01,2024-01-15,100,month,trialing\nx,x1,2024-01-15,,100,month,active\n",
    )
    assert table(path, as_of=date(2024, 1, 31)) == [month("2024-01", 31, 0, 100, new=100)]


def test_same_day_plan_change_nets_to_one_expansion(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-10,100,month,\nx,x1,2024-02-10,,180,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 180, expansion=80),  # not churn 100 + new 180
    ]
    m = money
    assert trail(path, as_of=date(2024, 2, 29)) == [
        ("2024-01-01", "x", "new", m(0), m(100), m(100)),
        ("2024-02-10", "x", "expansion", m(100), m(180), m(80)),
    ]


def test_same_day_plan_change_nets_to_one_contraction(tmp_path: Path) -> None:
    # Moving to a yearly plan of 600 (50 a month) on Feb 10: one contraction of 100 − 50.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-10,100,month,\nx,x2,2024-02-10,,600,year,\n")
    m = money
    assert trail(path, as_of=date(2024, 2, 29)) == [
        ("2024-01-01", "x", "new", m(0), m(100), m(100)),
        ("2024-02-10", "x", "contraction", m(100), m(50), m(50)),
    ]


def test_same_day_swap_of_equal_price_is_no_movement(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-10,100,month,\nx,x2,2024-02-10,,100,month,\n")
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 100),
    ]


def test_two_changes_in_one_month_both_count(tmp_path: Path) -> None:
    # 100 → 150 on Mar 5 (+50), 150 → 120 on Mar 20 (−30): gross, not netted to +20.
    path = write(
        tmp_path,
        "x,x1,2024-03-01,2024-03-05,100,month,\n"
        "x,x1,2024-03-05,2024-03-20,150,month,\n"
        "x,x1,2024-03-20,,120,month,\n",
    )
    assert table(path, as_of=date(2024, 3, 31)) == [
        month("2024-03", 31, 0, 120, new=100, expansion=50, contraction=30),
    ]
    # Snapshot mode compares month ends only: 0 at Feb's end, 120 at March's: new 120.
    assert table(path, as_of=date(2024, 3, 31), mode="snapshot") == [
        month("2024-03", 31, 0, 120, new=120),
    ]


def test_two_changes_in_one_month_snapshot_nets_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x,x1,2024-02-01,2024-03-05,100,month,\n"
        "x,x1,2024-03-05,2024-03-20,150,month,\n"
        "x,x1,2024-03-20,,120,month,\n",
    )
    # event: +50 and −30 in March; snapshot: 100 at Feb's end, 120 at March's → +20
    assert table(path, as_of=date(2024, 3, 31)) == [
        month("2024-02", 29, 0, 100, new=100),
        month("2024-03", 31, 100, 120, expansion=50, contraction=30),
    ]
    assert table(path, as_of=date(2024, 3, 31), mode="snapshot") == [
        month("2024-02", 29, 0, 100, new=100),
        month("2024-03", 31, 100, 120, expansion=20),
    ]


def test_snapshot_ignores_a_customer_who_comes_and_goes_within_a_month(tmp_path: Path) -> None:
    path = write(tmp_path, "y,y1,2024-01-01,,10,month,\nx,x1,2024-02-05,2024-02-20,50,month,\n")
    assert table(path, as_of=date(2024, 2, 29), mode="snapshot") == [
        month("2024-01", 31, 0, 10, new=10),
        month("2024-02", 29, 10, 10),
    ]
    # Event mode sees x arrive and leave.
    assert table(path, as_of=date(2024, 2, 29)) == [
        month("2024-01", 31, 0, 10, new=10),
        month("2024-02", 29, 10, 10, new=50, churned=50),
    ]


def test_snapshot_judges_earlier_mrr_on_month_ends_only(tmp_path: Path) -> None:
    # x paid Jan 10–20 only (never at a month end), then again from March.
    path = write(tmp_path, "x,x1,2024-01-10,2024-01-20,50,month,\nx,x1,2024-03-01,,50,month,\n")
    # Months start in January, the first with MRR > 0 on any day, in both modes (§5); the
    # snapshot months before March show nothing.
    assert table(path, as_of=date(2024, 3, 31), mode="snapshot") == [
        month("2024-01", 31, 0, 0),
        month("2024-02", 29, 0, 0),
        month("2024-03", 31, 0, 50, new=50),
    ]
    # In event mode the January stint makes March a reactivation.
    assert table(path, as_of=date(2024, 3, 31)) == [
        month("2024-01", 31, 0, 0, new=50, churned=50),
        month("2024-02", 29, 0, 0),
        month("2024-03", 31, 0, 50, reactivation=50),
    ]


# --- level ------------------------------------------------------------------------------------

TWO_SUBSCRIPTIONS = (
    "x,s1,2024-01-01,,100,month,\n"  # the first subscription
    "x,s2,2024-02-10,2024-03-10,40,month,\n"  # a second one for a month
)


def test_second_subscription_is_expansion_at_customer_level(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_SUBSCRIPTIONS)
    assert table(path, as_of=date(2024, 3, 31)) == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 140, expansion=40),
        month("2024-03", 31, 140, 100, contraction=40),
    ]


def test_second_subscription_is_new_at_subscription_level(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_SUBSCRIPTIONS)
    assert table(path, as_of=date(2024, 3, 31), level="subscription") == [
        month("2024-01", 31, 0, 100, new=100),
        month("2024-02", 29, 100, 140, new=40),
        month("2024-03", 31, 140, 100, churned=40),
    ]
    report = customers(load([path]), Settings(as_of=date(2024, 3, 31), level="subscription"))
    assert report.frame.select("date", "subscription_id", "movement").rows() == [
        ("2024-01-01", "s1", "new"),
        ("2024-02-10", "s2", "new"),
        ("2024-03-10", "s2", "churn"),
    ]


def test_subscription_level_new_subscription_after_churn_is_new(tmp_path: Path) -> None:
    # s1 ends Feb 1; s2 of the same customer starts Apr 1. Per subscription, s2 never paid
    # before: new, where the customer level calls it a reactivation.
    path = write(tmp_path, "x,s1,2024-01-01,2024-02-01,50,month,\nx,s2,2024-04-01,,70,month,\n")
    by_subscription = table(path, as_of=date(2024, 4, 30), level="subscription")
    assert by_subscription[-1] == month("2024-04", 30, 0, 70, new=70)
    assert table(path, as_of=date(2024, 4, 30))[-1] == month("2024-04", 30, 0, 70, reactivation=70)


# --- expansion scope --------------------------------------------------------------------------


def test_broad_scope_counts_reactivation_as_expansion(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-01,50,month,\nx,x2,2024-04-01,,70,month,\n")
    assert table(path, as_of=date(2024, 4, 30), scope="broad") == [
        month("2024-01", 31, 0, 50, new=50),
        month("2024-02", 29, 50, 0, churned=50),
        month("2024-03", 31, 0, 0),
        month("2024-04", 30, 0, 70, expansion=70),  # was reactivation 70
    ]


def test_broad_scope_counts_trial_conversion_as_expansion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x,x1,2024-01-01,2024-01-15,100,month,trialing\n"
        "x,x1,2024-01-15,,100,month,active\n"
        "y,y1,2024-01-20,,30,month,\n",  # paid from day one: still new
    )
    assert table(path, as_of=date(2024, 1, 31)) == [
        month("2024-01", 31, 0, 130, new=130),
    ]
    assert table(path, as_of=date(2024, 1, 31), scope="broad") == [
        month("2024-01", 31, 0, 130, new=30, expansion=100),
    ]


def test_broad_scope_counts_free_plan_conversion_as_expansion(tmp_path: Path) -> None:
    # A free plan (amount 0) in January, paid 25 from February.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-01,0,month,\nx,x1,2024-02-01,,25,month,\n")
    assert table(path, as_of=date(2024, 2, 29), scope="broad") == [
        month("2024-02", 29, 0, 25, expansion=25),
    ]
    assert table(path, as_of=date(2024, 2, 29)) == [month("2024-02", 29, 0, 25, new=25)]


def test_broad_scope_on_the_spec_example() -> None:
    # C's reactivation of 75 in May moves into expansion; everything else is unchanged.
    rows = table(SPEC_EXAMPLE, as_of=AS_OF, scope="broad")
    assert rows[:4] == table(SPEC_EXAMPLE, as_of=AS_OF)[:4]
    assert rows[4] == month("2024-05", 31, 100, 175, expansion=75)


# --- as-of cut-off ----------------------------------------------------------------------------


def test_cancellation_after_as_of_is_not_churn(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x,x1,2024-01-01,2024-06-15,100,month,\n"  # ends after the as-of date
        "y,y1,2024-06-01,,40,month,\n"  # starts after the as-of date: ignored
        "z,z1,2024-05-01,2024-05-31,10,month,\n",  # ends on the as-of day: churn
    )
    assert table(path, as_of=date(2024, 5, 31))[-1] == month(
        "2024-05", 31, 100, 100, new=10, churned=10
    )
    assert [row[0] for row in table(path, as_of=date(2024, 5, 31))][-1] == "2024-05"


def test_row_starting_on_the_as_of_day_counts(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-05-31,,100,month,\n")
    assert table(path, as_of=date(2024, 5, 31)) == [month("2024-05", 31, 0, 100, new=100)]


def test_nothing_before_as_of_gives_no_months(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-06-01,,100,month,\n")
    assert table(path, as_of=date(2024, 5, 31)) == []


# --- --from / --to and partial months ---------------------------------------------------------


def test_from_month_opens_with_earlier_history() -> None:
    assert table(SPEC_EXAMPLE, as_of=AS_OF, month_from=date(2024, 3, 1)) == [
        # opening of March is February's closing, 280
        month("2024-03", 31, 280, 280, expansion=40, contraction=40),
        month("2024-04", 30, 280, 100, churned=180),
        month("2024-05", 31, 100, 175, reactivation=75),
    ]


def test_to_month_ends_the_report() -> None:
    assert table(
        SPEC_EXAMPLE, as_of=AS_OF, month_from=date(2024, 2, 1), month_to=date(2024, 3, 1)
    ) == [
        month("2024-02", 29, 160, 280, new=100, expansion=80, churned=60),
        month("2024-03", 31, 280, 280, expansion=40, contraction=40),
    ]


def test_from_before_the_first_paid_month_shows_empty_months() -> None:
    rows = table(SPEC_EXAMPLE, as_of=date(2024, 1, 31), month_from=date(2023, 12, 1))
    assert rows == [
        month("2023-12", 31, 0, 0),
        month("2024-01", 31, 0, 160, new=160),
    ]


def test_partial_last_month_has_the_days_elapsed() -> None:
    # as of May 10 the month has 10 days so far; C's reactivation on May 10 counts.
    assert table(SPEC_EXAMPLE, as_of=date(2024, 5, 10))[-1] == month(
        "2024-05", 10, 100, 175, reactivation=75
    )
    # as of May 9 it has 9 days and C has not come back yet.
    assert table(SPEC_EXAMPLE, as_of=date(2024, 5, 9))[-1] == month("2024-05", 9, 100, 100)


def test_partial_month_in_snapshot_mode_uses_the_as_of_day(tmp_path: Path) -> None:
    path = write(tmp_path, "x,x1,2024-05-05,2024-05-20,100,month,\n")
    # At the end of May 10 x pays 100; its end on May 20 is after the as-of date.
    assert table(path, as_of=date(2024, 5, 10), mode="snapshot") == [
        month("2024-05", 10, 0, 100, new=100)
    ]
    report = customers(load([path]), Settings(as_of=date(2024, 5, 10), mode="snapshot"))
    assert report.frame.select("date", "movement").rows() == [("2024-05-10", "new")]


# --- day normalization ------------------------------------------------------------------------


def daynorm_of(
    path: str, days_per_month: Fraction | None = None, **settings: Any
) -> list[tuple[str, int, float]]:
    # The standard month is a reading option: the rows carry it to every report.
    given = {} if days_per_month is None else {"days_per_month": days_per_month}
    frame = expansion(load([path], **given), Settings(**settings)).frame
    return frame.select("month", "days", "expansion_mrr_daynorm").rows()


def test_day_normalization_of_full_and_partial_months(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x,x1,2024-01-01,2024-02-10,100,month,\n"
        "x,x1,2024-02-10,2024-04-05,129,month,\n"  # +29 in February (29 days)
        "x,x1,2024-04-05,,139,month,\n",  # +10 in April, as of April 10 (10 days)
    )
    assert daynorm_of(path, as_of=date(2024, 4, 10)) == [
        ("2024-01", 31, pytest.approx(0.0)),
        ("2024-02", 29, pytest.approx(30.4375)),  # 29 × 30.4375 ÷ 29
        ("2024-03", 31, pytest.approx(0.0)),
        ("2024-04", 10, pytest.approx(30.4375)),  # 10 × 30.4375 ÷ 10
    ]
    # --days-per-month 30: 29 × 30 ÷ 29 = 30 and 10 × 30 ÷ 10 = 30
    rows = daynorm_of(path, as_of=date(2024, 4, 10), days_per_month=Fraction(30))
    assert [value for _, _, value in rows] == pytest.approx([0.0, 30.0, 0.0, 30.0])


def test_identity_holds_in_every_mode() -> None:
    for settings in (
        {"mode": "event"},
        {"mode": "snapshot"},
        {"level": "subscription"},
        {"scope": "broad"},
        {"mode": "snapshot", "scope": "broad", "level": "subscription"},
    ):
        for row in table(SPEC_EXAMPLE, as_of=AS_OF, **settings):
            _, _, opening, new, exp, react, contr, churned, net_new, closing = row
            assert opening + new + exp + react - contr - churned == closing
            assert closing - opening == net_new
