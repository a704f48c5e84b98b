"""`--period quarter|year` (SPEC §5) and the trailing twelve months `nrr_ttm`/`grr_ttm` (§10).

Expected values are computed by hand in the comments (money in major units, ratios as exact
fractions, compared to within 1e-9 after the report's rounding to 6 places). Hypothesis then
checks on random exports that a period's row is the sum of its months, that NRR/GRR of a
period and of the trailing twelve months agree with a plain count per customer and month end,
and that partials of disjoint customers add up to the whole.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import Row, month_end, months_between, mrr_on
from test_properties import FAST, Dataset, datasets, frame_of
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.engine.metrics import expansion_table, metrics_table, movements_table
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.timeline import classified_changes
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, expansion, load, metrics, movements
from mrrcli.vocabulary import COUNT_COLUMNS, MOVEMENT_COLUMNS, STANDARD_DAYS_PER_MONTH, Period
from tests.conftest import SAMPLE_CSV, SPEC_EXAMPLE

AS_OF = date(2024, 5, 31)
LATEST_AS_OF = date(2026, 6, 30)  # generated exports end before today
D = Decimal
runner = CliRunner()


def ratio(value: Fraction | float | None) -> Any:
    """An expected ratio as the report rounds it (6 places, the exact value half away from zero,
    engine/ratios.py: 129/128 = 1.0078125 is 1.007813, where round() of the float gives
    1.007812); None stays None."""
    if value is None:
        return None
    exact = Fraction(value)
    size = math.floor(abs(exact) * 10**6 + Fraction(1, 2))
    return pytest.approx((size if exact >= 0 else -size) / 10**6, abs=1e-9)


def by_quarter(**given: Any) -> Settings:
    return Settings(as_of=given.pop("as_of", AS_OF), period=Period.quarter, **given)


# --- the SPEC §8 example by quarter and by year ---------------------------------------------


def test_spec_example_by_quarter_movements() -> None:
    # From the monthly table of SPEC §8:
    # Q1 = Jan + Feb + Mar: new 160 + 100 = 260, expansion 80 + 40 = 120, contraction 40,
    #      churned 60; opening = January's opening 0, closing = March's closing 280;
    #      0 + 260 + 120 − 40 − 60 = 280; days 31 + 29 + 31 = 91.
    # Q2 = Apr + May (as of 2024-05-31, June is not reported): reactivation 75, churned 180;
    #      opening = April's opening 280, closing = May's closing 175; 280 + 75 − 180 = 175;
    #      days 30 + 31 = 61; the quarter is not over, so it is marked partial.
    report = movements(load([str(SPEC_EXAMPLE)]), by_quarter())
    assert report.frame.to_dicts() == [
        {
            "month": "2024-Q1",
            "days": 91,
            "opening_mrr": D("0.00"),
            "new_mrr": D("260.00"),
            "expansion_mrr": D("120.00"),
            "reactivation_mrr": D("0.00"),
            "contraction_mrr": D("40.00"),
            "churned_mrr": D("60.00"),
            "net_new_mrr": D("280.00"),
            "closing_mrr": D("280.00"),
        },
        {
            "month": "2024-Q2",
            "days": 61,
            "opening_mrr": D("280.00"),
            "new_mrr": D("0.00"),
            "expansion_mrr": D("0.00"),
            "reactivation_mrr": D("75.00"),
            "contraction_mrr": D("0.00"),
            "churned_mrr": D("180.00"),
            "net_new_mrr": D("-105.00"),
            "closing_mrr": D("175.00"),
        },
    ]
    assert report.partial_month == "2024-Q2"
    assert report.meta["period"] == "quarter"
    # A quarter that is over is not partial: as of 2024-03-31 only Q1 is reported, whole.
    assert (
        movements(load([str(SPEC_EXAMPLE)]), by_quarter(as_of=date(2024, 3, 31))).partial_month
        is None
    )


def test_spec_example_by_quarter_expansion() -> None:
    frame = expansion(load([str(SPEC_EXAMPLE)]), by_quarter()).frame
    q1, q2 = frame.to_dicts()
    # Q1: 120 × 3 × 30.4375 ÷ 91 = 10957.5 ÷ 91 = 120.412088 (a standard quarter's pace).
    assert q1["expansion_mrr_daynorm"] == pytest.approx(120.412088, abs=1e-9)
    assert q1["expansion_rate"] is None  # no quarter before
    assert q1["expansion_pct_of_opening"] is None  # opening 0
    assert q1["expansion_to_new"] == ratio(Fraction(120, 260))  # 0.461538
    assert q1["benchmark_met"] is True
    assert q1["expanded_customers"] == 2  # A in February, B in March: two customers, not 2 months
    # Q2: no expansion: rate (0 − 120.41) ÷ 120.41 = −1.
    assert q2["expansion_mrr_daynorm"] == 0.0
    assert q2["expansion_rate"] == ratio(-1)
    assert q2["expansion_pct_of_opening"] == ratio(0)


def test_spec_example_by_quarter_metrics() -> None:
    frame = metrics(load([str(SPEC_EXAMPLE)]), by_quarter()).frame
    q1, q2 = frame.to_dicts()
    # Q1: nobody pays at its opening (end of 2023-12): NRR/GRR empty.
    assert (q1["nrr"], q1["grr"], q1["mrr_growth_rate"]) == (None, None, None)
    assert q1["quick_ratio"] == ratio(Fraction(260 + 120, 40 + 60))  # 3.8
    # Distinct customers per kind in the quarter: new A, B, C; expanded A (Feb) and B (Mar);
    # contracted B (Mar); churned C (Feb).
    counts = ("new_customers", "expanded_customers", "contracted_customers", "churned_customers")
    assert [q1[c] for c in counts] == [3, 2, 1, 1]
    assert (q1["customers_opening"], q1["customers_closing"]) == (0, 2)
    assert q1["arpa"] == D("140.00")  # 280 ÷ 2
    # Q2: paying at the end of March: A 180, B 100 (C left in February) → 280.
    # At the end of May: A 0, B 100; C's 75 is a reactivation and not counted → 100.
    # NRR = 100 ÷ 280 = 0.357143; GRR = (min(180, 0) + min(100, 100)) ÷ 280 = the same.
    assert q2["nrr"] == ratio(Fraction(100, 280))
    assert q2["grr"] == ratio(Fraction(100, 280))
    assert q2["mrr_growth_rate"] == ratio(Fraction(175 - 280, 280))  # −0.375
    assert q2["quick_ratio"] == ratio(Fraction(75, 180))  # 0.416667
    assert q2["gross_mrr_churn_rate"] == ratio(Fraction(180, 280))
    assert q2["net_mrr_churn_rate"] == ratio(Fraction(180 - 75, 280))  # 0.375
    assert (q2["customers_opening"], q2["customers_closing"]) == (2, 2)  # A, B → B, C
    assert (q2["churned_customers"], q2["reactivated_customers"]) == (1, 1)


def test_spec_example_by_year() -> None:
    rows = load([str(SPEC_EXAMPLE)])
    settings = Settings(as_of=AS_OF, period="year")
    (year,) = movements(rows, settings).frame.to_dicts()
    # 2024 through May: every month summed; days 31 + 29 + 31 + 30 + 31 = 152;
    # 0 + 260 + 120 + 75 − 40 − 240 = 175.
    assert year == {
        "month": "2024",
        "days": 152,
        "opening_mrr": D("0.00"),
        "new_mrr": D("260.00"),
        "expansion_mrr": D("120.00"),
        "reactivation_mrr": D("75.00"),
        "contraction_mrr": D("40.00"),
        "churned_mrr": D("240.00"),
        "net_new_mrr": D("175.00"),
        "closing_mrr": D("175.00"),
    }
    (grown,) = expansion(rows, settings).frame.to_dicts()
    # 120 × 12 × 30.4375 ÷ 152 = 43830 ÷ 152 = 288.355263.
    assert grown["expansion_mrr_daynorm"] == pytest.approx(288.355263, abs=1e-9)
    (year_metrics,) = metrics(rows, settings).frame.to_dicts()
    # Churned: A (April) and C (February); reactivated: C (May).
    assert year_metrics["churned_customers"] == 2
    assert year_metrics["reactivated_customers"] == 1
    assert movements(rows, settings).partial_month == "2024"


def test_a_period_cut_by_from_starts_there() -> None:
    # --from 2024-02: Q1 holds February and March only. Opening = February's opening 160;
    # new 100, expansion 80 + 40, contraction 40, churned 60; closing 280; days 29 + 31 = 60.
    rows = load([str(SPEC_EXAMPLE)])
    settings = by_quarter(month_from=date(2024, 2, 1))
    q1 = movements(rows, settings).frame.row(0, named=True)
    assert (q1["month"], q1["days"], q1["opening_mrr"], q1["new_mrr"]) == (
        "2024-Q1",
        60,
        D("160.00"),
        D("100.00"),
    )
    assert (q1["expansion_mrr"], q1["closing_mrr"]) == (D("120.00"), D("280.00"))
    m1 = metrics(rows, settings).frame.row(0, named=True)
    # Paying at the end of January: A 100, C 60 → 160. At the end of March: A 180, C 0.
    # NRR = 180 ÷ 160 = 1.125; GRR = (min(100, 180) + 0) ÷ 160 = 0.625.
    assert m1["nrr"] == ratio(Fraction(180, 160))
    assert m1["grr"] == ratio(Fraction(100, 160))
    assert m1["new_customers"] == 1  # B only: A and C were new in January, before --from
    assert m1["customers_opening"] == 2
    e1 = expansion(rows, settings).frame.row(0, named=True)
    # 120 × 3 × 30.4375 ÷ 60 = 182.625 (the pace of the 60 days reported).
    assert e1["expansion_mrr_daynorm"] == pytest.approx(182.625, abs=1e-9)


def test_a_period_cut_by_to_ends_there() -> None:
    # --from 2024-03 --to 2024-03 by year: 2024 holds March alone, although the as-of date
    # (2024-05-31) is later. March: expansion 40 (B's add-on), contraction 40; A's churn in
    # April and C's return in May are after --to and count nowhere, not even in the counts.
    rows = load([str(SPEC_EXAMPLE)])
    settings = Settings(
        as_of=AS_OF, period="year", month_from=date(2024, 3, 1), month_to=date(2024, 3, 1)
    )
    (row,) = metrics(rows, settings).frame.to_dicts()
    assert (row["month"], row["opening_mrr"], row["closing_mrr"]) == ("2024", D(280), D(280))
    counts = ("expanded_customers", "contracted_customers", "churned_customers")
    assert [row[c] for c in (*counts, "reactivated_customers")] == [1, 1, 0, 0]
    # Paying at the end of February: A 180, B 100; at the end of March the same → NRR 1.
    assert (row["nrr"], row["grr"]) == (ratio(1), ratio(1))
    report = movements(rows, settings)
    assert report.partial_month == "2024"  # the year is cut at the end of March
    (grown,) = expansion(rows, settings).extra["top_expanding"].to_dicts()
    assert (grown["customer_id"], grown["amount"], grown["month"]) == ("B", D(40), "2024")


def test_period_month_is_the_monthly_report() -> None:
    rows = load([str(SAMPLE_CSV)])
    plain = Settings(as_of=date(2026, 6, 17), month_from=date(2025, 11, 1))
    monthly = replace(plain, period=Period.month)
    for build in (movements, expansion, metrics):
        assert build(rows, monthly).frame.equals(build(rows, plain).frame)


# --- trailing twelve months on a hand-built 14-month export -----------------------------------

TTM_EXPORT = """customer_id,subscription_id,start_date,end_date,amount
X,x1,2024-01-01,2024-06-01,100
X,x1,2024-06-01,2025-02-10,150
X,x1,2025-02-10,,120
Y,y1,2024-01-10,2024-09-15,200
Z,z1,2024-03-01,,50
W,w1,2024-01-20,2024-11-01,80
W,w1,2024-11-01,2025-02-20,30
"""


@pytest.fixture
def ttm_rows(tmp_path: Path) -> Any:
    path = tmp_path / "ttm.csv"
    path.write_text(TTM_EXPORT)
    return load([str(path)])


@pytest.mark.parametrize("mode", ["event", "snapshot"])
def test_ttm_on_a_14_month_export(ttm_rows: Any, mode: str) -> None:
    frame = metrics(ttm_rows, Settings(as_of=date(2025, 2, 28), mode=mode)).frame
    assert frame.get_column("month").to_list()[0] == "2024-01"
    assert frame.height == 14
    # The first twelve months (2024-01 … 2024-12) have no month m − 12 with MRR: empty.
    assert frame.get_column("nrr_ttm").to_list()[:12] == [None] * 12
    assert frame.get_column("grr_ttm").to_list()[:12] == [None] * 12
    january, february = frame.row(12, named=True), frame.row(13, named=True)
    # 2025-01: paying at the end of 2024-01: X 100, Y 200, W 80 = 380 (Z starts in March).
    # At the end of 2025-01: X 150, Y 0, W 30 → 180. NRR = 180 ÷ 380 = 9/19 = 0.473684.
    # Capped at 2024-01: min(150, 100) + 0 + min(30, 80) = 130 → GRR = 13/38 = 0.342105.
    assert january["nrr_ttm"] == ratio(Fraction(180, 380))
    assert january["grr_ttm"] == ratio(Fraction(130, 380))
    # 2025-02: paying at the end of 2024-02: the same 380. At 2025-02-28: X 120 (down on
    # 02-10), Y 0, W 0 (gone on 02-20) → 120: NRR = 6/19 = 0.315789; GRR = min(120, 100) ÷
    # 380 = 5/19 = 0.263158. Z's 50 is in the closing MRR but not in S.
    assert february["nrr_ttm"] == ratio(Fraction(120, 380))
    assert february["grr_ttm"] == ratio(Fraction(100, 380))
    # The monthly NRR stays: paying at February's opening X 150, Z 50, W 30 = 230; at its
    # close X 120, Z 50, W 0 = 170 → 17/23 = 0.739130.
    assert february["nrr"] == ratio(Fraction(170, 230))


def test_ttm_of_a_month_to_date(ttm_rows: Any) -> None:
    # As of 2025-02-15 W's end on 02-20 has not happened: X 120 + W 30 = 150 of 380
    # (NRR 15/38 = 0.394737); capped min(120, 100) + min(30, 80) = 130 (GRR 0.342105).
    frame = metrics(ttm_rows, Settings(as_of=date(2025, 2, 15))).frame
    last = frame.row(-1, named=True)
    assert last["month"] == "2025-02"
    assert last["nrr_ttm"] == ratio(Fraction(150, 380))
    assert last["grr_ttm"] == ratio(Fraction(130, 380))


def test_ttm_looks_back_before_from(ttm_rows: Any) -> None:
    # --from 2025-01 reports two months, but the twelve months before them are known: 2025-01
    # keeps its 9/19, as the first month's expansion rate uses the month before --from.
    frame = metrics(ttm_rows, Settings(as_of=date(2025, 2, 28), month_from=date(2025, 1, 1))).frame
    assert frame.get_column("month").to_list() == ["2025-01", "2025-02"]
    assert frame.get_column("nrr_ttm").to_list() == [ratio(Fraction(9, 19)), ratio(Fraction(6, 19))]


def test_quarters_of_the_14_month_export(ttm_rows: Any) -> None:
    frame = metrics(ttm_rows, by_quarter(as_of=date(2025, 2, 28))).frame
    assert frame.get_column("month").to_list() == [
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
        "2025-Q1",
    ]
    q = frame.to_dicts()
    # 2024-Q2: paying at the end of March: X 100, Y 200, Z 50, W 80 = 430; at the end of June
    # X 150 (upgraded), the others unchanged → 480: NRR 48/43 = 1.116279; GRR capped: 430 → 1.
    assert q[1]["nrr"] == ratio(Fraction(480, 430))
    assert q[1]["grr"] == ratio(1)
    # 2024-Q3: of those 480, Y (200) leaves on 09-15 → 280: NRR = GRR = 280/480 = 0.583333.
    assert (q[2]["nrr"], q[2]["grr"]) == (ratio(Fraction(280, 480)),) * 2
    # 2024-Q4: paying at the end of September: X 150, Z 50, W 80 = 280; W drops to 30 → 230.
    assert q[3]["nrr"] == ratio(Fraction(230, 280))
    assert q[3]["contracted_customers"] == 1
    # 2025-Q1 (to date, January and February): of X 150, Z 50, W 30 = 230 → X 120, Z 50, W 0.
    assert q[4]["nrr"] == ratio(Fraction(170, 230))
    assert q[4]["grr"] == ratio(Fraction(170, 230))  # min(120, 150) + 50 + 0
    # The TTM at each quarter's end: empty through 2024-12, then 2025-02's 6/19.
    assert [row["nrr_ttm"] for row in q] == [None, None, None, None, ratio(Fraction(6, 19))]
    assert q[4]["grr_ttm"] == ratio(Fraction(5, 19))


# --- the command line --------------------------------------------------------------------------


def test_cli_period_quarter_csv_and_json(in_tmp: Path) -> None:
    args = ["movements", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "--period", "quarter"]
    result = runner.invoke(app, [*args, "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "2024-Q1,91,0.00,260.00,120.00,0.00,40.00,60.00,280.00,280.00",
        "2024-Q2,61,280.00,0.00,0.00,75.00,0.00,180.00,-105.00,175.00",
    ]
    document = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert document["meta"]["period"] == "quarter"
    assert document["meta"]["partial_month"] == "2024-Q2"


def test_cli_period_table_marks_the_quarter_to_date(in_tmp: Path) -> None:
    args = ["metrics", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "--period", "quarter"]
    terminal = Terminal(stdout_is_terminal=True, width=200, color=False)
    result = runner.invoke(app, [*args, "-f", "table"], obj=terminal)
    assert result.exit_code == 0, result.stderr
    assert "2024-Q2 *" in result.stdout
    assert "* 2024-Q2 is quarter to date, through 2024-05-31" in result.stdout
    assert "(quarter)" in result.stdout and "(12 mo)" in result.stdout


def test_cli_period_from_the_config_file_and_bad_values(in_tmp: Path) -> None:
    (in_tmp / "mrrcli.toml").write_text('period = "year"\n')
    result = runner.invoke(app, ["movements", str(SPEC_EXAMPLE), "--as-of", "2024-05-31"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("2024,152,")
    bad = runner.invoke(app, ["movements", str(SPEC_EXAMPLE), "--period", "week"])
    assert bad.exit_code == 2
    (in_tmp / "mrrcli.toml").write_text('period = "week"\n')
    bad = runner.invoke(app, ["movements", str(SPEC_EXAMPLE), "--as-of", "2024-05-31"])
    assert bad.exit_code == 2
    assert "period must be one of month, quarter, year" in bad.stderr


# --- properties on random exports --------------------------------------------------------------


def engine_tables(rows: list[Row], settings: Settings, groups: int = 1) -> dict[str, Any]:
    """movements, expansion and metrics in minor units, the customers in `groups` partials."""
    frame = frame_of(rows)
    needs = Needs(counts=True, retention=True)
    customers = sorted({r.customer_id for r in rows})
    pieces = [
        frame.filter(pl.col("customer_id").is_in(customers[g::groups])) for g in range(groups)
    ]
    combined = combine([partial(p, settings, needs) for p in pieces], settings)
    return {
        "movements": movements_table(combined),
        "expansion": expansion_table(combined, STANDARD_DAYS_PER_MONTH),
        "metrics": metrics_table(combined),
    }


def period_of(month: date, period: Period) -> date:
    n = period.months
    return date(month.year, (month.month - 1) // n * n + 1, 1)


def plain_retention(rows: list[Row], opening: date, closing: date) -> tuple[int, int, int]:
    """Over the customers paying at the end of `opening`: their MRR then, at the end of
    `closing`, and capped at their MRR then — one customer at a time."""
    base = kept = capped = 0
    for customer in {r.customer_id for r in rows}:
        own = [r for r in rows if r.customer_id == customer]
        before, after = mrr_on(own, opening), mrr_on(own, closing)
        if before > 0:
            base, kept, capped = base + before, kept + after, capped + min(before, after)
    return base, kept, capped


def shift_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def stretched(data: Dataset, factor: int) -> Dataset:
    """The same export with every date `factor` times as far from its base day, so that
    exports of 3–14 months become up to 3½ years long and reach the trailing twelve months."""

    # Moved back as a whole when the as-of date would be in the future (an error, SPEC §5).
    late = max((data.base + (data.as_of - data.base) * factor) - LATEST_AS_OF, timedelta(0))

    def far(day: date) -> date:
        return data.base + (day - data.base) * factor - late

    rows = [
        replace(r, start_date=far(r.start_date), end_date=r.end_date and far(r.end_date))
        for r in data.rows
    ]
    return replace(data, rows=rows, as_of=far(data.as_of))


@st.composite
def period_cases(draw: st.DrawFn) -> tuple[Dataset, Settings]:
    data = stretched(draw(datasets()), draw(st.sampled_from([1, 2, 3])))
    period = draw(st.sampled_from([Period.quarter, Period.year]))
    mode = draw(st.sampled_from(["event", "snapshot"]))
    month_from = month_to = None
    first = min(r.start_date for r in data.rows)
    if first <= data.as_of and draw(st.booleans()):
        month_from = draw(st.sampled_from(months_between(first, data.as_of)))
    if first <= data.as_of and draw(st.booleans()):
        month_to = draw(st.sampled_from(months_between(month_from or first, data.as_of)))
    settings = Settings(
        as_of=data.as_of, mode=mode, period=period, month_from=month_from, month_to=month_to
    )
    return data, settings


@FAST
@given(period_cases())
def test_periods_are_sums_of_their_months(case: tuple[Dataset, Settings]) -> None:
    data, settings = case
    periods = engine_tables(data.rows, settings)
    months = engine_tables(data.rows, replace(settings, period=Period.month))["movements"]
    expected: dict[date, dict[str, int]] = {}
    for month in months.to_dicts():
        key = period_of(month["month"], settings.period)
        row = expected.get(key)
        if row is None:
            expected[key] = dict(month, month=key)  # opening of its first reported month
            continue
        for column in (*MOVEMENT_COLUMNS.values(), "net_new_mrr", "days"):
            row[column] += month[column]
        row["closing_mrr"] = month["closing_mrr"]  # closing of its last
    assert periods["movements"].to_dicts() == list(expected.values())
    for row in expected.values():
        flows = row["new_mrr"] + row["expansion_mrr"] + row["reactivation_mrr"]
        flows -= row["contraction_mrr"] + row["churned_mrr"]
        assert row["opening_mrr"] + flows == row["closing_mrr"]
    # Customer counts: distinct customers with such a movement in the period's reported months.
    reported = {m["month"]: period_of(m["month"], settings.period) for m in months.to_dicts()}
    counts: dict[tuple[date, str], set[str]] = {}
    for change in classified_changes(frame_of(data.rows), settings).to_dicts():
        if change["month"] in reported:
            key = (reported[change["month"]], change["movement"])
            counts.setdefault(key, set()).add(change["customer_id"])
    for row in periods["metrics"].to_dicts():
        for movement, column in COUNT_COLUMNS.items():
            assert row[column] == len(counts.get((row["month"], movement), ())), (row, column)


@FAST
@given(period_cases())
def test_period_and_ttm_retention_count_each_customer(case: tuple[Dataset, Settings]) -> None:
    data, settings = case
    tables = engine_tables(data.rows, settings)
    n = settings.period.months
    last_month = settings.month_to or data.as_of.replace(day=1)
    for row in tables["metrics"].to_dicts():
        start = max(row["month"], settings.month_from or row["month"])
        end = min(shift_months(row["month"], n - 1), last_month)
        closing = min(month_end(end), data.as_of)
        opening = start - timedelta(days=1)
        base, kept, capped = plain_retention(data.rows, opening, closing)
        assert row["nrr"] == ratio(Fraction(kept, base) if base else None), row
        assert row["grr"] == ratio(Fraction(capped, base) if base else None), row
        base, kept, capped = plain_retention(data.rows, month_end(shift_months(end, -12)), closing)
        assert row["nrr_ttm"] == ratio(Fraction(kept, base) if base else None), row
        assert row["grr_ttm"] == ratio(Fraction(capped, base) if base else None), row


@FAST
@given(period_cases(), st.integers(2, 3))
def test_partials_of_periods_add_up_to_the_whole(
    case: tuple[Dataset, Settings], groups: int
) -> None:
    data, settings = case
    whole, split = engine_tables(data.rows, settings), engine_tables(data.rows, settings, groups)
    for name, frame in whole.items():
        assert split[name].equals(frame), name


def test_every_period_is_the_same_read_in_parts() -> None:
    whole, in_parts = load([str(SAMPLE_CSV)]), load([str(SAMPLE_CSV)], parts=4)
    for period in Period:
        settings = Settings(as_of=date(2026, 6, 17), period=period, month_from=date(2024, 11, 1))
        for build in (movements, expansion, metrics):
            assert build(in_parts, settings).frame.equals(build(whole, settings).frame)


def test_check_judges_the_last_complete_quarter(in_tmp: Path) -> None:
    base = ["check", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "--period", "quarter"]
    # As of 2024-05-31 Q2 is not over: the last complete quarter is 2024-Q1, whose expansion
    # is 80 + 40 = 120 and whose NRR is empty (nobody paid at its opening): that rule fails.
    result = runner.invoke(app, [*base, "-r", "expansion_mrr>=100", "-r", "nrr>=0.3", "-f", "csv"])
    assert result.exit_code == 3
    assert result.stdout.splitlines()[1:] == [
        "expansion_mrr>=100,2024-Q1,expansion_mrr,120.00,>=,100,pass,",
        "nrr>=0.3,2024-Q1,nrr,,>=,0.3,fail,empty: opening MRR is 0",
    ]
    # --month names the quarter to date, by a month of it or by its label: NRR 100/280.
    for month in ("2024-05", "2024-Q2"):
        result = runner.invoke(app, [*base, "--month", month, "-r", "nrr>=0.3", "-f", "csv"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines()[1] == "nrr>=0.3,2024-Q2,nrr,0.357143,>=,0.3,pass,"
    result = runner.invoke(app, [*base, "--month", "2024-Q5", "-r", "nrr>=0.3"])
    assert result.exit_code == 2
    assert "--month must be a month YYYY-MM or a period such as 2026-Q2" in result.stderr


@pytest.mark.parametrize(
    ("as_of", "months", "expected"),
    [
        (date(2026, 6, 30), 3, date(2026, 4, 1)),  # June ends Q2
        (date(2026, 6, 29), 3, date(2026, 1, 1)),  # Q2 not over: Q1
        (date(2026, 1, 5), 3, date(2025, 10, 1)),  # December ended Q4 of the year before
        (date(2026, 12, 31), 12, date(2026, 1, 1)),
        (date(2026, 12, 30), 12, date(2025, 1, 1)),
        (date(2026, 3, 10), 1, date(2026, 2, 1)),
    ],
)
def test_last_complete_period(as_of: date, months: int, expected: date) -> None:
    from mrrcli.checks import last_complete_period

    assert last_complete_period(as_of, months) == expected


def test_customers_keeps_days_and_months(in_tmp: Path) -> None:
    # The audit trail lists days; --period changes neither its rows nor its months, and its
    # meta says so: the SPEC example has 9 changes (A new, C new, A up, B new, C churn, B add-on
    # up, B add-on down, A churn, C back).
    args = ["customers", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "-f", "json"]
    by_month = json.loads(runner.invoke(app, args).stdout)
    by_quarter = json.loads(runner.invoke(app, [*args, "--period", "quarter"]).stdout)
    assert by_quarter["rows"] == by_month["rows"]
    assert len(by_quarter["rows"]) == 9
    assert {row["month"] for row in by_quarter["rows"]} == {
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
    }
    assert by_quarter["meta"]["period"] == "month"
