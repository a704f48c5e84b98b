"""Analysis features: month-to-date runs, the drill-down summing to the totals, the expansion
leaders and the terminal chart."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from mrrcli.present.chart import movement_chart
from mrrcli.report import Settings, customers, expansion, load, movements
from mrrcli.vocabulary import MOVEMENT_COLUMNS
from tests.conftest import SAMPLE_CSV, SPEC_EXAMPLE


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "periods.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("mode", ["event", "snapshot"])
@pytest.mark.parametrize("level", ["customer", "subscription"])
def test_customers_rows_of_a_month_sum_to_its_movements(mode: str, level: str) -> None:
    rows = load([str(SAMPLE_CSV)])
    settings = Settings(as_of=date(2026, 6, 30), mode=mode, level=level)  # type: ignore[arg-type]
    table = movements(rows, settings).frame
    audit = customers(rows, settings).frame
    sums = audit.group_by("month", "movement").agg(pl.col("amount").sum())
    for movement, column in MOVEMENT_COLUMNS.items():
        got = dict(sums.filter(pl.col("movement") == movement).select("month", "amount").rows())
        for month, expected in table.select("month", column).rows():
            assert got.get(month, Decimal("0.00")) == expected, (month, movement)


def test_month_to_date_february_against_march(tmp_path: Path) -> None:
    # One customer expands by 29.00 on Feb 10 and by 31.00 on Mar 10.
    path = write(
        tmp_path,
        "customer_id,subscription_id,start_date,end_date,amount\n"
        "A,a1,2024-01-05,,100\n"
        "A,a2,2024-02-10,,29\n"
        "A,a3,2024-03-10,,31\n",
    )
    rows = load([path])
    # As of 2024-03-15 March is month to date: 15 days elapsed.
    report = expansion(rows, Settings(as_of=date(2024, 3, 15)))
    frame = {r["month"]: r for r in report.frame.to_dicts()}
    assert report.partial_month == "2024-03"
    assert frame["2024-02"]["days"] == 29
    assert frame["2024-03"]["days"] == 15
    # Feb: 29 × 30.4375 / 29 = 30.4375; Mar (15 days): 31 × 30.4375 / 15 = 62.904167
    assert frame["2024-02"]["expansion_mrr_daynorm"] == 30.4375
    assert frame["2024-03"]["expansion_mrr_daynorm"] == 62.904167
    # rate: 62.904166… / 30.4375 − 1 = 31/15 − 1 = 1.066667
    assert frame["2024-03"]["expansion_rate"] == 1.066667
    # A full-month run of March compares at March's own pace: 31 × 30.4375 / 31 = 30.4375.
    full = expansion(rows, Settings(as_of=date(2024, 3, 31))).frame.to_dicts()
    assert full[-1]["expansion_mrr_daynorm"] == 30.4375
    assert full[-1]["expansion_rate"] == 0.0


def test_top_expanding_customers_of_the_last_month(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customer_id,subscription_id,start_date,end_date,amount\n"
        "A,a1,2024-01-05,,100\n"
        "B,b1,2024-01-05,,100\n"
        "C,c1,2024-01-05,,100\n"
        "A,a2,2024-02-03,,10\n"
        "A,a3,2024-02-20,,15\n"
        "B,b2,2024-02-10,,40\n"
        "C,c2,2024-01-20,,500\n",
    )
    report = expansion(load([path]), Settings(as_of=date(2024, 2, 29)))
    leaders = report.extra["top_expanding"]
    # February: B +40 (one change), A +25 (two changes); C expanded in January only.
    assert leaders.select("customer_id", "amount", "changes").rows() == [
        ("B", Decimal("40.00"), 1),
        ("A", Decimal("25.00"), 2),
    ]


def test_chart_draws_bars_line_and_legend() -> None:
    report = movements(load([str(SPEC_EXAMPLE)]), Settings(as_of=date(2024, 5, 31)))
    chart = movement_chart(report.frame.to_dicts(), "USD", width=80)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(chart)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    # Largest inflow month: February, new 100 + expansion 80 = 180; largest outflow: April,
    # churn 180. 14 rows split 7 above and 7 below, 180 / 7 = 25.7 a row.
    assert lines[1].startswith("        180 │") and lines[14].startswith("       -180 │")
    bars = lines[1:15]

    def column(month: int) -> list[str]:  # month 0 = January: cells 14 and 15, then every 3
        return [line[14 + 3 * month : 16 + 3 * month] for line in bars]

    # February: new 100 fills rows [0, 25.7) … [77.1, 102.9) (4 rows, most of the 4th is new),
    # expansion the 3 rows up to 180; each series has its own glyph.
    assert column(1).count("██") == 4 and column(1).count("▓▓") == 3
    # March: contraction 40 below 0: [0, 25.7) and most of [25.7, 51.4) → 2 rows of ░░.
    assert column(2).count("░░") == 2 and column(2).count("▓▓") == 2  # expansion 40 above
    assert column(3).count("xx") == 7  # April's churn 180: all 7 rows below
    assert column(4).count("▒▒") == 3  # May's reactivation 75: 75 / 25.7 = 2.9 → 3 rows
    legend = next(line for line in lines if "churn" in line)
    for glyph, name in (("██", "new"), ("▓▓", "expansion"), ("▒▒", "reactivation")):
        assert f"{glyph} {name}" in legend
    assert "░░ contraction" in legend and "xx churn" in legend
    # Closing MRR on its own scale, 0 to 280, 6 rows: a month's dot at round(closing/280 × 5):
    # January 160 → 2.86 → row 3; February and March 280 → 5; April 100 → 1.79 → 2; May 3.
    top = lines.index("Closing MRR (USD) at each month's end") + 1
    assert lines[top].startswith("        280 │") and lines[top + 5].startswith("          0 ┼")
    dots = {m: next(5 - r for r in range(6) if lines[top + r][14 + 3 * m] == "•") for m in range(5)}
    assert dots == {0: 3, 1: 5, 2: 5, 3: 2, 4: 3}
