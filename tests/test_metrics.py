"""The `expansion` and `metrics` reports (SPEC §5, §6, §8), through the library API.

Ratios are Float64 rounded to 6 places, so each expected ratio is written rounded, with its
exact fraction in a comment, and compared to within 1e-9. A ratio whose denominator is 0 is
None.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mrrcli.report import Settings, expansion, load, metrics

FIXTURES = Path(__file__).parent / "fixtures"
SPEC_EXAMPLE = str(FIXTURES / "spec_example.csv")
AS_OF = date(2024, 5, 31)


def ratio(value: float | None) -> Any:
    """An expected 6-place ratio; None stays None."""
    return None if value is None else pytest.approx(value, abs=1e-9)


def column(report_frame: Any, name: str) -> list[Any]:
    return report_frame.get_column(name).to_list()


def write(tmp_path: Path, text: str, name: str = "periods.csv") -> str:
    path = tmp_path / name
    path.write_text("customer_id,subscription_id,start_date,end_date,amount,plan_id\n" + text)
    return str(path)


# --- expansion report on the SPEC §8 example --------------------------------------------------


@pytest.fixture(scope="module")
def spec_expansion() -> Any:
    return expansion(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF)).frame


def test_expansion_columns(spec_expansion: Any) -> None:
    assert spec_expansion.columns == [
        "month",
        "days",
        "opening_mrr",
        "new_mrr",
        "expansion_mrr",
        "expansion_mrr_daynorm",
        "expansion_rate",
        "expansion_pct_of_opening",
        "expansion_to_new",
        "benchmark_met",
        "expanded_customers",
    ]


def test_expansion_money_and_days(spec_expansion: Any) -> None:
    rows = spec_expansion.select("month", "days", "opening_mrr", "new_mrr", "expansion_mrr").rows()
    d = Decimal
    assert rows == [
        ("2024-01", 31, d("0.00"), d("160.00"), d("0.00")),
        ("2024-02", 29, d("160.00"), d("100.00"), d("80.00")),
        ("2024-03", 31, d("280.00"), d("0.00"), d("40.00")),
        ("2024-04", 30, d("280.00"), d("0.00"), d("0.00")),
        ("2024-05", 31, d("100.00"), d("0.00"), d("0.00")),
    ]


def test_expansion_daynorm(spec_expansion: Any) -> None:
    assert column(spec_expansion, "expansion_mrr_daynorm") == [
        ratio(0.0),
        ratio(83.965517),  # 80 × 30.4375 ÷ 29 = 83.9655172…
        ratio(39.274194),  # 40 × 30.4375 ÷ 31 = 39.2741935…
        ratio(0.0),
        ratio(0.0),
    ]


def test_expansion_rate(spec_expansion: Any) -> None:
    assert column(spec_expansion, "expansion_rate") == [
        None,  # no month before January
        None,  # January's expansion is 0
        ratio(-0.532258),  # (40/31 − 80/29) ÷ (80/29) = 1160/2480 − 1 = −0.5322580…
        ratio(-1.0),  # (0 − 39.27…) ÷ 39.27…
        None,  # April's expansion is 0
    ]


def test_expansion_pct_of_opening(spec_expansion: Any) -> None:
    assert column(spec_expansion, "expansion_pct_of_opening") == [
        None,  # opening 0
        ratio(0.5),  # 80 ÷ 160
        ratio(0.142857),  # 40 ÷ 280 = 0.1428571…
        ratio(0.0),  # 0 ÷ 280
        ratio(0.0),  # 0 ÷ 100
    ]


def test_expansion_to_new_and_benchmark(spec_expansion: Any) -> None:
    assert column(spec_expansion, "expansion_to_new") == [
        ratio(0.0),  # 0 ÷ 160
        ratio(0.8),  # 80 ÷ 100
        None,  # new is 0
        None,
        None,
    ]
    # benchmark_met = expansion_to_new ≥ 0.30, empty when the ratio is
    assert column(spec_expansion, "benchmark_met") == [False, True, None, None, None]


def test_expanded_customers(spec_expansion: Any) -> None:
    # A in February, B in March
    assert column(spec_expansion, "expanded_customers") == [0, 1, 1, 0, 0]


def test_expansion_rate_of_first_reported_month_uses_the_month_before() -> None:
    frame = expansion(
        load([SPEC_EXAMPLE]), Settings(as_of=AS_OF, month_from=date(2024, 3, 1))
    ).frame
    assert column(frame, "month") == ["2024-03", "2024-04", "2024-05"]
    # March against February, as in the full report: −0.532258
    assert column(frame, "expansion_rate") == [ratio(-0.532258), ratio(-1.0), None]
    assert column(frame, "opening_mrr") == [Decimal(280), Decimal(280), Decimal(100)]


def test_expansion_from_before_the_first_paid_month_shows_empty_months() -> None:
    # --from 2023-12 with data from 2024-01: December is reported, as in `movements` (§5)
    settings = Settings(as_of=date(2024, 2, 29), month_from=date(2023, 12, 1))
    frame = expansion(load([SPEC_EXAMPLE]), settings).frame
    assert column(frame, "month") == ["2023-12", "2024-01", "2024-02"]
    assert column(frame, "days") == [31, 31, 29]
    assert column(frame, "expansion_mrr") == [Decimal(0), Decimal(0), Decimal(80)]


def test_expansion_in_snapshot_mode() -> None:
    frame = expansion(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF, mode="snapshot")).frame
    # March's add-on nets out at month end: no expansion in March.
    assert column(frame, "expansion_mrr") == [Decimal(0), Decimal(80), Decimal(0), 0, 0]
    assert column(frame, "expansion_rate") == [None, None, ratio(-1.0), None, None]


def test_benchmark_boundary(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a,a1,2024-01-01,2024-02-01,100,\n"
        "a,a1,2024-02-01,,130,\n"  # +30 expansion in February
        "b,b1,2024-02-01,,100,\n"  # 100 new in February
        "c,c1,2024-01-01,2024-03-01,100,\n"
        "c,c1,2024-03-01,,129.99,\n"  # +29.99 expansion in March
        "d,d1,2024-03-01,,100,\n",  # 100 new in March
    )
    frame = expansion(load([path]), Settings(as_of=date(2024, 3, 31))).frame
    # February: 30 ÷ 100 = 0.30 exactly → met; March: 29.99 ÷ 100 = 0.2999 → not met
    assert column(frame, "expansion_to_new") == [ratio(0.0), ratio(0.3), ratio(0.2999)]
    assert column(frame, "benchmark_met") == [False, True, False]


# --- metrics report ---------------------------------------------------------------------------

# February: p 100, q 200, r 50 and t 30 arrive; t leaves on Feb 15.
# March: s arrives (80); p grows 100 → 120 → 150 (two expansions); q shrinks 200 → 120;
# r churns; t comes back with 40.
COHORT = (
    "p,p1,2024-02-01,2024-03-10,100,\n"
    "p,p1,2024-03-10,2024-03-12,120,\n"
    "p,p1,2024-03-12,,150,\n"
    "q,q1,2024-02-01,2024-03-15,200,\n"
    "q,q1,2024-03-15,,120,\n"
    "r,r1,2024-02-01,2024-03-20,50,\n"
    "s,s1,2024-03-05,,80,\n"
    "t,t1,2024-02-01,2024-02-15,30,\n"
    "t,t2,2024-03-25,,40,\n"
)


@pytest.fixture
def cohort_metrics(tmp_path: Path) -> Any:
    return metrics(load([write(tmp_path, COHORT)]), Settings(as_of=date(2024, 3, 31))).frame


def test_metrics_columns(cohort_metrics: Any) -> None:
    assert cohort_metrics.columns == [
        "month",
        "opening_mrr",
        "closing_mrr",
        "net_new_mrr",
        "mrr_growth_rate",
        "quick_ratio",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "nrr",
        "grr",
        "nrr_ttm",
        "grr_ttm",
        "arpa",
        "customers_opening",
        "customers_closing",
        "new_customers",
        "expanded_customers",
        "contracted_customers",
        "churned_customers",
        "reactivated_customers",
    ]


def test_metrics_month_with_every_movement(cohort_metrics: Any) -> None:
    march = cohort_metrics.row(1, named=True)
    assert march["month"] == "2024-03"
    # opening p 100 + q 200 + r 50 = 350
    # new 80 (s), expansion 50 (p: +20, +30), reactivation 40 (t),
    # contraction 80 (q), churn 50 (r); closing 350 + 80 + 50 + 40 − 80 − 50 = 390
    # = p 150 + q 120 + s 80 + t 40
    assert march["opening_mrr"] == Decimal("350.00")
    assert march["closing_mrr"] == Decimal("390.00")
    assert march["net_new_mrr"] == Decimal("40.00")
    assert march["mrr_growth_rate"] == ratio(0.114286)  # 40 ÷ 350 = 0.1142857…
    assert march["quick_ratio"] == ratio(1.307692)  # (80 + 50 + 40) ÷ (80 + 50) = 1.3076923…
    assert march["gross_mrr_churn_rate"] == ratio(0.371429)  # 130 ÷ 350 = 0.3714285…
    assert march["net_mrr_churn_rate"] == ratio(0.114286)  # (130 − 50 − 40) ÷ 350
    # cohort paying at the opening: p, q, r
    assert march["nrr"] == ratio(0.771429)  # (150 + 120 + 0) ÷ 350 = 0.7714285…
    assert march["grr"] == ratio(0.628571)  # (min(100,150) + min(200,120) + 0) ÷ 350 = 220/350
    assert march["arpa"] == Decimal("97.50")  # 390 ÷ 4 paying customers
    assert march["customers_opening"] == 3  # p, q, r
    assert march["customers_closing"] == 4  # p, q, s, t
    # p expanded twice but is one customer
    counts = ("new", "expanded", "contracted", "churned", "reactivated")
    assert [march[f"{kind}_customers"] for kind in counts] == [1, 1, 1, 1, 1]


def test_metrics_first_month(cohort_metrics: Any) -> None:
    february = cohort_metrics.row(0, named=True)
    assert february["month"] == "2024-02"
    # new p 100 + q 200 + r 50 + t 30 = 380; t churns 30; closing 350
    assert february["opening_mrr"] == Decimal("0.00")
    assert february["closing_mrr"] == Decimal("350.00")
    # opening 0: every ratio over the opening is empty
    for name in ("mrr_growth_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr"):
        assert february[name] is None, name
    assert february["quick_ratio"] == ratio(12.666667)  # 380 ÷ 30 = 12.666…
    assert february["arpa"] == Decimal("116.67")  # 350 ÷ 3 = 116.666… → 116.67
    assert february["customers_opening"] == 0
    assert february["customers_closing"] == 3  # p, q, r
    assert february["new_customers"] == 4  # p, q, r, t
    assert february["churned_customers"] == 1  # t


def test_metrics_spec_example() -> None:
    frame = metrics(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF)).frame
    assert column(frame, "mrr_growth_rate") == [
        None,  # opening 0
        ratio(0.75),  # (280 − 160) ÷ 160
        ratio(0.0),
        ratio(-0.642857),  # (100 − 280) ÷ 280 = −0.6428571…
        ratio(0.75),  # (175 − 100) ÷ 100
    ]
    assert column(frame, "quick_ratio") == [
        None,  # 160 ÷ 0
        ratio(3.0),  # (100 + 80) ÷ 60
        ratio(1.0),  # 40 ÷ 40
        ratio(0.0),  # 0 ÷ 180
        None,  # 75 ÷ 0
    ]
    assert column(frame, "gross_mrr_churn_rate") == [
        None,
        ratio(0.375),  # 60 ÷ 160
        ratio(0.142857),  # 40 ÷ 280
        ratio(0.642857),  # 180 ÷ 280
        ratio(0.0),
    ]
    assert column(frame, "net_mrr_churn_rate") == [
        None,
        ratio(-0.125),  # (60 − 80) ÷ 160
        ratio(0.0),  # (40 − 40) ÷ 280
        ratio(0.642857),
        ratio(-0.75),  # (0 − 75) ÷ 100: the reactivation counts against churn
    ]
    # February's cohort A (100) and C (60) both expands and churns: A → 180, C → 0
    assert column(frame, "nrr") == [
        None,
        ratio(1.125),  # (180 + 0) ÷ 160
        ratio(1.0),  # A 180, B 100 → 180, 100 (B's add-on came and went)
        ratio(0.357143),  # (0 + 100) ÷ 280
        ratio(1.0),  # B 100 → 100; C's return is not in the cohort
    ]
    assert column(frame, "grr") == [
        None,
        ratio(0.625),  # (min(100, 180) + min(60, 0)) ÷ 160
        ratio(1.0),
        ratio(0.357143),
        ratio(1.0),
    ]
    d = Decimal
    # closing ÷ paying customers: 160/2, 280/2, 280/2, 100/1, 175/2
    assert column(frame, "arpa") == [d("80.00"), d(140), d(140), d(100), d("87.50")]
    assert column(frame, "customers_opening") == [0, 2, 2, 2, 1]
    assert column(frame, "customers_closing") == [2, 2, 2, 1, 2]
    assert column(frame, "new_customers") == [2, 1, 0, 0, 0]
    assert column(frame, "expanded_customers") == [0, 1, 1, 0, 0]
    assert column(frame, "contracted_customers") == [0, 0, 1, 0, 0]
    assert column(frame, "churned_customers") == [0, 1, 0, 1, 0]
    assert column(frame, "reactivated_customers") == [0, 0, 0, 0, 1]


def test_metrics_spec_example_snapshot_mode() -> None:
    frame = metrics(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF, mode="snapshot")).frame
    march = frame.row(2, named=True)
    # the add-on nets out: no flows, so the quick ratio is 0 ÷ 0
    assert march["quick_ratio"] is None
    assert march["gross_mrr_churn_rate"] == ratio(0.0)
    assert march["expanded_customers"] == 0
    assert march["contracted_customers"] == 0
    assert march["nrr"] == ratio(1.0)


def test_metrics_from_month_counts_opening_customers_from_history() -> None:
    frame = metrics(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF, month_from=date(2024, 4, 1))).frame
    assert column(frame, "month") == ["2024-04", "2024-05"]
    assert column(frame, "customers_opening") == [2, 1]  # A and B; then B
    assert column(frame, "opening_mrr") == [Decimal(280), Decimal(100)]
    assert column(frame, "nrr") == [ratio(0.357143), ratio(1.0)]


def test_zero_denominators_are_none(tmp_path: Path) -> None:
    # x pays 100 in January only; February it churns; March has nothing at all.
    path = write(tmp_path, "x,x1,2024-01-01,2024-02-01,100,\n")
    frame = metrics(load([path]), Settings(as_of=date(2024, 3, 31))).frame
    february, march = frame.row(1, named=True), frame.row(2, named=True)
    assert february["mrr_growth_rate"] == ratio(-1.0)  # (0 − 100) ÷ 100
    assert february["quick_ratio"] == ratio(0.0)  # 0 ÷ 100
    assert february["gross_mrr_churn_rate"] == ratio(1.0)
    assert february["net_mrr_churn_rate"] == ratio(1.0)
    assert february["nrr"] == ratio(0.0)
    assert february["grr"] == ratio(0.0)
    assert february["arpa"] is None  # no paying customer at the close
    ratios = ("mrr_growth_rate", "quick_ratio", "gross_mrr_churn_rate", "net_mrr_churn_rate")
    for name in (*ratios, "nrr", "grr", "arpa"):
        assert march[name] is None, name
    assert march["customers_opening"] == 0
    assert march["customers_closing"] == 0

    exp = expansion(load([path]), Settings(as_of=date(2024, 3, 31))).frame
    assert column(exp, "expansion_rate") == [None, None, None]
    assert column(exp, "expansion_pct_of_opening") == [None, ratio(0.0), None]
    assert column(exp, "expansion_to_new") == [ratio(0.0), None, None]
    assert column(exp, "benchmark_met") == [False, None, None]


def test_metrics_at_subscription_level_count_customers(tmp_path: Path) -> None:
    # At subscription level B's add-on b2 is new in March and churns in March; B is one
    # customer, paying at both ends of the month.
    frame = metrics(load([SPEC_EXAMPLE]), Settings(as_of=AS_OF, level="subscription")).frame
    march = frame.row(2, named=True)
    assert march["new_customers"] == 1
    assert march["churned_customers"] == 1
    assert march["expanded_customers"] == 0
    assert march["customers_opening"] == 2
    assert march["customers_closing"] == 2
    assert march["nrr"] == ratio(1.0)
    assert march["quick_ratio"] == ratio(1.0)  # 40 new ÷ 40 churned
