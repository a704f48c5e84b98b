"""Segments with `--period quarter|year` (SPEC §5, §9), each segment's trailing-twelve-month
NRR/GRR (§10 with the segment rule of §9), and `check --by` on a month to date.

Expected values are computed by hand in the comments (money in major units, ratios as exact
fractions). Hypothesis then compares the engine with the plain per-key, per-day implementation
of tests/segment_reference.py, in every mode × level × scope, whole and in parts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import RefSettings, Row, month_end, months_between
from segment_reference import (
    month_end_transfers,
    period_flows,
    segment_allocations,
    segment_level,
    segment_retention,
)
from test_period import ratio, shift_months, stretched
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.engine.metrics import metrics_table
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.segment_metrics import segment_metrics_table, segment_movements_table
from mrrcli.engine.segments import SEGMENT_FLOW_COLUMNS
from mrrcli.report import expansion, load, metrics, movements
from mrrcli.vocabulary import Level, Mode, Period, Scope, Settings

ROOT = Path(__file__).parent
PLANS = ROOT / "fixtures" / "spec_example_plans.csv"
runner = CliRunner()

# A 14-month export for the trailing twelve months, plans as segments (customer level):
# K basic 100 from 2024-01-10, to pro 150 on 2024-06-01 (an upgrade across plans);
# L basic 200 from 2024-01-05 to 2024-10-01 (churns); M pro 300 from 2024-01-20, to basic 120
# on 2024-08-01 (a downgrade across plans); N basic 50 from 2024-02-15.
TTM_PLANS = """customer_id,subscription_id,plan_id,start_date,end_date,amount
K,k1,basic,2024-01-10,2024-06-01,100
K,k1,pro,2024-06-01,,150
L,l1,basic,2024-01-05,2024-10-01,200
M,m1,pro,2024-01-20,2024-08-01,300
M,m1,basic,2024-08-01,,120
N,n1,basic,2024-02-15,,50
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def ttm_plans(tmp_path: Path) -> Any:
    path = tmp_path / "plans.csv"
    path.write_text(TTM_PLANS)
    return load([str(path)], by="plan_id")


# --- the SPEC §8 example by plan and quarter -------------------------------------------------


def test_spec_example_by_plan_and_quarter() -> None:
    code, out, err = run(
        "movements", str(PLANS), "--as-of", "2024-05-31", "--by", "plan_id", "--period",
        "quarter", "-f", "csv",
    )  # fmt: skip
    assert code == 0, err
    columns = ("month", "segment", "days", "opening_mrr", "new_mrr", "expansion_mrr")
    columns += ("reactivation_mrr", "contraction_mrr", "churned_mrr", "moved_in_mrr")
    columns += ("moved_out_mrr", "closing_mrr")
    got = [tuple(r[c] for c in columns) for r in rows_of(out)]
    z = "0.00"
    # By hand. 2024-Q1 (31 + 29 + 31 = 91 days), each segment's months summed: addon, B's
    # two-week add-on, expansion 40 on Mar 5 and contraction 40 on Mar 20 (B stays yearly);
    # basic, A new 100 in January, moved out 100 on Feb 10; monthly, C new 60, churned 60;
    # pro, A moved in 100 + expansion 80, closes at 180; yearly, B new 100 on Feb 1.
    # 2024-Q2 to date (30 + 31 = 61 days): pro opens at 180 (its March close) and A churns
    # 180; yearly 100 throughout; monthly2, C reactivates 75 on May 10.
    assert got == [
        ("2024-Q1", "addon", "91", z, z, "40.00", z, "40.00", z, z, z, z),
        ("2024-Q1", "basic", "91", z, "100.00", z, z, z, z, z, "100.00", z),
        ("2024-Q1", "monthly", "91", z, "60.00", z, z, z, "60.00", z, z, z),
        ("2024-Q1", "pro", "91", z, z, "80.00", z, z, z, "100.00", z, "180.00"),
        ("2024-Q1", "yearly", "91", z, "100.00", z, z, z, z, z, z, "100.00"),
        ("2024-Q2", "monthly2", "61", z, z, z, "75.00", z, z, z, z, "75.00"),
        ("2024-Q2", "pro", "61", "180.00", z, z, z, z, "180.00", z, z, z),
        ("2024-Q2", "yearly", "61", "100.00", z, z, z, z, z, z, z, "100.00"),
    ]
    # Summed over segments, Q1: new 100 + 60 + 100 = 260, expansion 40 + 80 = 120,
    # contraction 40, churned 60, closing 280: the unsegmented quarter (SPEC §8 months summed).
    code, whole, _ = run(
        "movements", str(PLANS), "--as-of", "2024-05-31", "--period", "quarter", "-f", "csv"
    )
    q1 = rows_of(whole)[0]
    assert (q1["new_mrr"], q1["expansion_mrr"], q1["closing_mrr"]) == ("260.00", "120.00", "280.00")


def test_spec_example_metrics_and_expansion_by_plan_and_quarter() -> None:
    rows = load([str(PLANS)], by="plan_id")
    quarter = Settings(as_of=date(2024, 5, 31), period=Period.quarter)
    frame = metrics(rows, quarter).frame
    q2 = {r["segment"]: r for r in frame.filter(pl.col("month") == "2024-Q2").rows(named=True)}
    # Q2 NRR by hand, over the customers paying in each plan at the end of March: pro, A 180
    # then 0 at the end of May, no transfer: 0 / 180 = 0; yearly, B 100 then 100: 1;
    # monthly2, nobody paid in it at the opening: empty. (Unsegmented: 100 / 280.)
    assert (q2["pro"]["nrr"], q2["pro"]["grr"]) == (0.0, 0.0)
    assert (q2["yearly"]["nrr"], q2["yearly"]["grr"]) == (1.0, 1.0)
    assert q2["monthly2"]["nrr"] is None
    # Counts per quarter: pro had one customer at the opening and churned one.
    assert (q2["pro"]["customers_opening"], q2["pro"]["churned_customers"]) == (1, 1)
    assert (q2["monthly2"]["reactivated_customers"], q2["monthly2"]["customers_closing"]) == (1, 1)
    # Q1 has no opening MRR anywhere: every NRR is empty.
    assert frame.filter(pl.col("month") == "2024-Q1").get_column("nrr").null_count() == 5
    # Expansion per quarter, day-normalized to a standard quarter: pro 80 × 91.3125 ÷ 91 =
    # 80.274725; addon 40 × 91.3125 ÷ 91 = 40.137363.
    grown = expansion(rows, quarter).frame.filter(pl.col("month") == "2024-Q1")
    daynorm = dict(zip(grown["segment"], grown["expansion_mrr_daynorm"], strict=True))
    assert daynorm["pro"] == pytest.approx(80.274725) and daynorm["addon"] == pytest.approx(
        40.137363
    )


def test_a_quarter_counts_transfers_as_retained(ttm_plans: Any) -> None:
    frame = metrics(ttm_plans, Settings(as_of=date(2025, 2, 28), period=Period.quarter)).frame
    got = {(r["month"], r["segment"]): r for r in frame.rows(named=True)}
    # 2024-Q3, customers paying at the end of June: basic L 200, N 50 (K left basic in June);
    # at the end of September L 200, N 50 (M's 120 moved in is not theirs): 250 / 250 = 1.
    # pro: K 150, M 300; at the end of September K 150, M 0 in pro + moved_out 120 (Aug 1,
    # pro 300 → basic 120: basic moved_in 120, pro moved_out 120 + contraction 180) = 270;
    # NRR 270 / 450 = 0.6, GRR min(150, 150) + min(300, 120) = 270 / 450 = 0.6.
    assert got["2024-Q3", "basic"]["nrr"] == 1.0
    assert (got["2024-Q3", "pro"]["nrr"], got["2024-Q3", "pro"]["grr"]) == (0.6, 0.6)
    # 2024-Q4, basic: L 200, N 50, M 120 at the end of September; L churns Oct 1: 170 / 370.
    assert got["2024-Q4", "basic"]["nrr"] == ratio(Fraction(170, 370))
    assert got["2024-Q4", "pro"]["nrr"] == 1.0
    movements_q3 = movements(ttm_plans, Settings(as_of=date(2025, 2, 28), period=Period.quarter))
    q3 = {r["segment"]: r for r in movements_q3.frame.rows(named=True) if r["month"] == "2024-Q3"}
    # Q3 movements: basic opens at 250, moved_in 120, closes at 370; pro opens at 450
    # (K 150 + M 300), moved_out 120 and contraction 180, closes at 150.
    assert [str(q3["basic"][c]) for c in ("opening_mrr", "moved_in_mrr", "closing_mrr")] == [
        "250.00",
        "120.00",
        "370.00",
    ]
    assert [
        str(q3["pro"][c])
        for c in ("opening_mrr", "moved_out_mrr", "contraction_mrr", "closing_mrr")
    ] == ["450.00", "120.00", "180.00", "150.00"]


# --- the trailing twelve months per segment ----------------------------------------------------


@pytest.mark.parametrize("mode", ["event", "snapshot"])
def test_ttm_per_segment(ttm_plans: Any, mode: str) -> None:
    frame = metrics(ttm_plans, Settings(as_of=date(2025, 2, 28), mode=mode)).frame
    got = {(r["month"], r["segment"]): r for r in frame.rows(named=True)}
    # Empty for the first twelve months (nobody paid at the end of 2023).
    assert all(r["nrr_ttm"] is None for (m, _), r in got.items() if m < "2025-01")
    # 2025-01, customers paying at the end of January 2024. basic: K 100, L 200; K is 0 in
    # basic now but moved out 100 (June, to pro): retained 100; L churned: 0. NRR 100 / 300,
    # GRR min(100, 100) + min(200, 0) = 100 / 300. pro: M 300, 0 in pro now, moved out 120
    # (August): retained 120; NRR = GRR = 120 / 300 = 0.4.
    assert got["2025-01", "basic"]["nrr_ttm"] == ratio(Fraction(1, 3))
    assert got["2025-01", "basic"]["grr_ttm"] == ratio(Fraction(1, 3))
    assert (got["2025-01", "pro"]["nrr_ttm"], got["2025-01", "pro"]["grr_ttm"]) == (0.4, 0.4)
    # 2025-02, customers paying at the end of February 2024: N (from Feb 15) joins basic:
    # base 100 + 200 + 50 = 350, retained 100 + 0 + 50 = 150: 3/7, GRR 3/7. pro unchanged.
    assert got["2025-02", "basic"]["nrr_ttm"] == ratio(Fraction(3, 7))
    assert got["2025-02", "pro"]["nrr_ttm"] == 0.4
    # The whole report over the same customers: K 100 → 150, L 200 → 0, M 300 → 120:
    # NRR 270 / 600 = 0.45 (segments do not add up in ratios; their sums are per segment).
    whole = metrics(replace(ttm_plans, by=None), Settings(as_of=date(2025, 2, 28))).frame
    assert whole.filter(pl.col("month") == "2025-01").get_column("nrr_ttm").item() == 0.45


def test_ttm_per_segment_of_a_quarter_to_date(ttm_plans: Any) -> None:
    settings = Settings(as_of=date(2025, 2, 20), period=Period.quarter)
    frame = metrics(ttm_plans, settings).frame.filter(pl.col("month") == "2025-Q1")
    got = dict(zip(frame["segment"], frame["nrr_ttm"], strict=True))
    # Closing at the as-of day, 2025-02-20, against the end of February 2024 (twelve months
    # before the quarter's last reported month): as in the test above, basic 3/7, pro 0.4.
    assert got["basic"] == ratio(Fraction(3, 7)) and got["pro"] == 0.4


# --- check --by on a month to date -----------------------------------------------------------


def test_check_by_paces_each_segment_of_the_month_to_date() -> None:
    code, out, err = run(
        "check", str(PLANS), "--as-of", "2024-05-20", "--by", "plan_id", "--month", "current",
        "-r", "reactivation_mrr<100", "-f", "csv",
    )  # fmt: skip
    # May to 20 days: monthly2's reactivation 75 (C back on May 10) at its pace is
    # 75 × 30.4375 ÷ 20 = 114.140625, not below 100: fails; yearly's 0 passes.
    assert code == 3, err
    got = [(r["segment"], r["value"], r["result"]) for r in rows_of(out)]
    assert got == [("monthly2", "114.140625", "fail"), ("yearly", "0.000000", "pass")]
    assert "to date (20 days)" in rows_of(out)[0]["reason"]
    assert "1 of 2 rules failed: reactivation_mrr<100 in monthly2" in err


def test_check_by_paces_each_segment_of_the_quarter_to_date() -> None:
    code, out, err = run(
        "check", str(PLANS), "--as-of", "2024-05-20", "--by", "plan_id", "--period", "quarter",
        "--month", "current", "-r", "churned_mrr<=150", "-r", "nrr>=0.5", "-f", "csv",
    )  # fmt: skip
    # Q2 to date: April's 30 days + 20 = 50. pro: A churned 180 → 180 × 91.3125 ÷ 50 =
    # 328.725 > 150: fails; its NRR (A 180 at the end of March, 0 now) is 0: fails. yearly:
    # churn 0, NRR 1: passes. monthly2: churn 0 passes, NRR empty (no opening): fails.
    assert code == 3, err
    got = [(r["segment"], r["metric"], r["value"], r["result"]) for r in rows_of(out)]
    assert got == [
        ("monthly2", "churned_mrr", "0.000000", "pass"),
        ("monthly2", "nrr", "", "fail"),
        ("pro", "churned_mrr", "328.725000", "fail"),
        ("pro", "nrr", "0.0", "fail"),
        ("yearly", "churned_mrr", "0.000000", "pass"),
        ("yearly", "nrr", "1.0", "pass"),
    ]
    assert "3 of 6 rules failed" in err and "churned_mrr<=150 in pro" in err


def test_check_by_of_a_complete_month_is_not_paced() -> None:
    code, out, _ = run(
        "check", str(PLANS), "--as-of", "2024-05-31", "--by", "plan_id", "--month", "2024-05",
        "-r", "reactivation_mrr<100", "-f", "csv",
    )  # fmt: skip
    # May is complete on the 31st: monthly2's 75 is judged as it is and passes.
    assert code == 0
    assert [(r["segment"], r["value"]) for r in rows_of(out)] == [
        ("monthly2", "75.00"),
        ("yearly", "0.00"),
    ]


def test_the_table_by_quarter_ends_each_quarter_with_a_total_line() -> None:
    from mrrcli.present.terminal import Terminal

    result = runner.invoke(
        app,
        ["movements", str(PLANS), "--as-of", "2024-05-31", "--by", "plan_id", "--period",
         "quarter", "-f", "table", "--wide"],
        obj=Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=200),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    totals = [line.split() for line in result.stdout.splitlines() if " total " in line]
    # Q1 total: the unsegmented quarter, opening 0, new 260, closing 280, 100 moved each way.
    assert totals[0][:5] == ["2024-Q1", "total", "91", "0.00", "260.00"]
    assert totals[0][-4:] == ["100.00", "100.00", "280.00", "280.00"]
    assert totals[1][:2] == ["2024-Q2", "*"]


# --- properties against the plain implementation ---------------------------------------------


@st.composite
def cases(draw: st.DrawFn) -> tuple[Dataset, list[str], Settings]:
    data = stretched(draw(datasets()), draw(st.sampled_from([1, 2, 3])))
    labels = draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(data.rows), max_size=len(data.rows))
    )
    month_from = month_to = None
    first = min(r.start_date for r in data.rows)
    if first <= data.as_of and draw(st.booleans()):
        month_from = draw(st.sampled_from(months_between(first, data.as_of)))
    if first <= data.as_of and draw(st.booleans()):
        month_to = draw(st.sampled_from(months_between(month_from or first, data.as_of)))
    period = draw(st.sampled_from(list(Period)))
    return (
        data,
        labels,
        Settings(data.as_of, month_from=month_from, month_to=month_to, period=period),
    )


def engine_tables(
    rows: list[Row], labels: list[str], settings_: Settings, groups: int = 1
) -> dict[str, pl.DataFrame]:
    frame = frame_of(rows).with_columns(pl.Series("segment", labels))
    customers = sorted({r.customer_id for r in rows})
    pieces = [
        frame.filter(pl.col("customer_id").is_in(customers[g::groups])) for g in range(groups)
    ]
    needs = Needs(counts=True, retention=True, segments=True)
    combined = combine([partial(p, settings_, needs) for p in pieces], settings_)
    return {
        "movements": segment_movements_table(combined),
        "metrics": segment_metrics_table(combined),
        "whole": metrics_table(combined),
    }


def span(row_month: date, settings_: Settings) -> tuple[date, date]:
    """A reported row's first and last months (cut by --from and at the last month)."""
    last = settings_.month_to or settings_.as_of.replace(day=1)
    start = max(row_month, settings_.month_from or row_month)
    return start, min(shift_months(row_month, settings_.period.months - 1), last)


def retention_ratios(found: tuple[int, int, int] | None) -> tuple[Any, Any]:
    base, kept, capped = found or (0, 0, 0)
    if base == 0:
        return None, None
    return ratio(Fraction(kept, base)), ratio(Fraction(capped, base))


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@settings(FAST, max_examples=25)
@given(case=cases())
def test_segment_periods_and_ttm_match_the_plain_implementation(
    case: tuple[Dataset, list[str], Settings], mode: Mode, level: Level, scope: Scope
) -> None:
    data, labels, given_settings = case
    settings_ = replace(given_settings, mode=mode, level=level, scope=scope)
    tables = engine_tables(data.rows, labels, settings_)
    ref = RefSettings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    allocations = segment_allocations(data.rows, labels, ref)
    transfers = month_end_transfers(data.rows, labels, data.as_of)
    kinds = {v: k for k, v in SEGMENT_FLOW_COLUMNS.items()}
    for row in tables["movements"].to_dicts():
        first, last = span(row["month"], settings_)
        flows = period_flows(allocations, first, last)
        for column, kind in kinds.items():
            assert row[column] == flows.get((row["segment"], kind), 0), (row, column)
        opening = segment_level(data.rows, labels, first - timedelta(days=1))
        closing = segment_level(data.rows, labels, min(month_end(last), data.as_of))
        assert row["opening_mrr"] == opening.get(row["segment"], 0), row
        assert row["closing_mrr"] == closing.get(row["segment"], 0), row
    for row in tables["metrics"].to_dicts():
        first, last = span(row["month"], settings_)
        closing_day = min(month_end(last), data.as_of)
        opening_day = first - timedelta(days=1)
        own = segment_retention(data.rows, labels, transfers, opening_day, closing_day)
        assert (row["nrr"], row["grr"]) == retention_ratios(own.get(row["segment"])), row
        ttm_day = month_end(shift_months(last, -12))
        ttm = segment_retention(data.rows, labels, transfers, ttm_day, closing_day)
        assert (row["nrr_ttm"], row["grr_ttm"]) == retention_ratios(ttm.get(row["segment"])), row
    # In parts (2 or 3 partials of whole customers), the same frames.
    split = engine_tables(data.rows, labels, settings_, groups=3)
    for name, frame in tables.items():
        assert split[name].equals(frame), name


@FAST
@given(case=cases())
def test_one_segment_is_the_unsegmented_report(case: tuple[Dataset, list[str], Settings]) -> None:
    """With every row in one segment there is no transfer: the segment's NRR/GRR of the row and
    of the trailing twelve months are the report's without --by, period by period."""
    data, _, settings_ = case
    tables = engine_tables(data.rows, ["all"] * len(data.rows), settings_)
    whole = {r["month"]: r for r in tables["whole"].to_dicts()}
    for row in tables["metrics"].to_dicts():
        for column in ("nrr", "grr", "nrr_ttm", "grr_ttm", "opening_mrr", "closing_mrr"):
            assert row[column] == whole[row["month"]][column], (row, column)


def test_by_segment_and_period_is_the_same_read_in_parts() -> None:
    from tests.conftest import SAMPLE_CSV

    whole = load([str(SAMPLE_CSV)], by="plan_id")
    in_parts = load([str(SAMPLE_CSV)], by="plan_id", parts=4)
    assert len(in_parts.parts) > 1
    for period in Period:
        settings_ = Settings(as_of=date(2026, 6, 17), period=period, month_from=date(2024, 11, 1))
        for build in (movements, expansion, metrics):
            frame = build(whole, settings_).frame
            assert build(in_parts, settings_).frame.equals(frame), (period, build)
        # The trailing twelve months per segment are there, not empty, in the last row.
        if period == Period.month:
            assert metrics(whole, settings_).frame.get_column("nrr_ttm").drop_nulls().len() > 0


def test_a_period_whose_segments_do_not_add_up_is_caught() -> None:
    from mrrcli.engine.segment_metrics import segment_rows
    from mrrcli.engine.totals import IdentityError

    rows = load([str(PLANS)], by="plan_id")
    quarter = Settings(as_of=date(2024, 5, 31), period=Period.quarter)
    combined = combine([partial(rows.frame, quarter, Needs(segments=True))], quarter)
    assert combined.segments is not None
    flows = combined.segments.flows
    # A segment has rows in the periods of its life only: Q1 addon, basic, monthly, pro,
    # yearly; Q2 monthly2, pro, yearly (basic, addon and monthly ended in Q1).
    assert segment_rows(flows, combined.movements, quarter).height == 5 + 3
    # One cent more new MRR in pro in February (its February closing too, so that February
    # alone still reconciles): pro's Q1 is opening 0 + new 0.01 + expansion 80 + moved_in 100
    # = 180.01, but its closing (March's) is 180.00: the period's identity fails.
    pro_feb = (pl.col("segment") == "pro") & (pl.col("month") == date(2024, 2, 1))
    bad = flows.with_columns(
        pl.when(pro_feb).then(pl.col(c) + 1).otherwise(pl.col(c)).alias(c)
        for c in ("new_mrr", "closing_mrr")
    )
    with pytest.raises(IdentityError, match="identity fails in 2024-01-01 for segment 'pro'"):
        segment_rows(bad, combined.movements, quarter)
