"""Terminal tables fit the terminal (SPEC §11): no line longer than its width, no number split
across lines, money abbreviated and then the least important columns left out (the caption
says which), every column with --wide; and how values look in a table."""

from __future__ import annotations

import csv
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.fit import ESSENTIAL, abbreviate, leave_out, table_width
from mrrcli.present.tables import display_text, header
from mrrcli.present.terminal import Terminal
from mrrcli.vocabulary import DAYNORM_COLUMNS, MONEY_COLUMNS, RATIO_COLUMNS
from tests.conftest import FIXTURES, SAMPLE_CSV

runner = CliRunner()
AS_OF = ("--as-of", "2026-06-30")
WIDTHS = (80, 100, 120)
COMBINATIONS = list(
    itertools.product(("event", "snapshot"), ("customer", "subscription"), ("strict", "broad"))
)
REPORTS: dict[str, tuple[str, ...]] = {
    "movements": (),
    "expansion": (),
    "metrics": (),
    "customers": ("--month", "2026-03"),
}


def terminal(width: int) -> Terminal:
    return Terminal(stdout_is_terminal=True, stderr_is_terminal=False, width=width, color=False)


def invoke(term: Terminal, *args: str) -> tuple[int, str]:
    """Exit code and stdout, without the terminal's style codes (bold, dim)."""
    result = runner.invoke(app, list(args), obj=term)
    return result.exit_code, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


# --- abbreviations and widths, computed by hand -------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("213912.50", "213.9k"),  # 213,912.50 / 1,000 = 213.9125 → 213.9
        ("1234567", "1.2M"),  # 1,234,567 / 1,000,000 = 1.234567 → 1.2
        ("-2950.83", "-3.0k"),  # sign kept; 2.95083 → 3.0
        ("950000", "950.0k"),  # under a million stays in thousands
        ("999960", "1.0M"),  # 999.96k would round to 1000.0k: said as 1.0M
        ("1000", "1.0k"),
        ("324.33", "324"),  # under a thousand: whole units
        ("999.60", "1.0k"),  # rounds to 1,000
        ("53.50", "54"),  # half up
        ("0.00", "0"),
        ("-0.40", "-0.40"),  # under one unit: the cents, so that it does not read as 0
        ("0.04", "0.04"),
        ("0.995", "1"),  # 0.995 → 1.00 with cents: one unit
        ("0.994", "0.99"),
        ("2500000000", "2.5B"),
    ],
)
def test_abbreviate(amount: str, shown: str) -> None:
    assert abbreviate(Decimal(amount)) == shown


def test_table_width_and_what_is_left_out() -> None:
    # Columns 7, 4 and 10 wide with 3 between: 7 + 3 + 4 + 3 + 10 = 27.
    assert table_width([7, 4, 10]) == 27
    widths = {"month": 7, "days": 4, "opening_mrr": 7, "new_mrr": 6, "closing_mrr": 7}
    # All: 31 + 4 gaps × 3 = 43. To fit 36, leave out days (43 − 7 = 36).
    assert leave_out("movements", widths, 36) == ["days"]
    # To fit 30: days (→ 36), then opening (→ 26).
    assert leave_out("movements", widths, 30) == ["days", "opening_mrr"]
    # Never an essential column: month and closing stay even at 5.
    assert leave_out("movements", widths, 5) == ["days", "opening_mrr", "new_mrr"]


def test_labels_say_the_period_of_nrr_and_grr() -> None:
    assert header("nrr") == "NRR\n(month)"
    assert header("grr") == "GRR\n(month)"
    assert header("nrr_ttm") == "NRR\n(12 mo)"
    assert header("grr_ttm") == "GRR\n(12 mo)"
    assert header("expansion_rate") == "expansion\nMoM"


def test_display_values() -> None:
    assert display_text("closing_mrr", Decimal("291023.60"), 2) == "291,023.60"
    assert display_text("closing_mrr", Decimal("291023.60"), 2, short=True) == "291.0k"
    # Day-normalized expansion is money: 10,470.06 × 30.4375 ÷ 31 = 10,280.0791… → 10,280.08
    assert display_text("expansion_mrr_daynorm", 10280.079073, 2) == "10,280.08"
    assert display_text("expansion_mrr_daynorm", 1528.0, 0) == "1,528"
    assert display_text("nrr", 1.007777, 2) == "100.8%"
    assert display_text("quick_ratio", 1.5, 2) == "1.50×"


def test_daynorm_is_money_in_the_table_and_six_places_in_csv() -> None:
    args = ("expansion", str(SAMPLE_CSV), *AS_OF, "--from", "2026-01")
    _, table = invoke(terminal(200), *args, "-f", "table")
    _, text = invoke(terminal(200), *args, "-f", "csv")
    # January 2026: 10,470.06 × 30.4375 = 318,682.45125; ÷ 31 = 10,280.079073 (6 places)
    assert "10,280.08" in table
    assert "10280.079073" in text


# --- every report at 80, 100 and 120 columns -----------------------------------------------


def _value(column: str, text: str) -> Any:
    """A CSV cell back as the report holds it."""
    if text == "":
        return None
    if column in MONEY_COLUMNS:
        return Decimal(text)
    if column in RATIO_COLUMNS or column in DAYNORM_COLUMNS:
        return float(text)
    if column == "benchmark_met":
        return text == "true"
    return int(text) if text.lstrip("-").isdigit() else text


def _shown(column: str, text: str) -> set[str]:
    """How a CSV cell may appear in the table: in full, or abbreviated."""
    value = _value(column, text)
    return {display_text(column, value, 2), display_text(column, value, 2, short=True)}


def _data_lines(table: str) -> list[str]:
    """The lines under the header rule that start with a month or a day."""
    lines = table.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    return [line for line in lines[rule + 1 :] if re.match(r"\d{4}-\d{2}", line)]


def _whole_in(line: str, shown: str) -> bool:
    return re.search(rf"(^|\s){re.escape(shown)}(\s|$)", line) is not None


def assert_fits(table: str, csv_text: str, width: int, kind: str) -> None:
    """No line wider than `width`; one line per CSV row; every number on it whole."""
    assert max(len(line) for line in table.splitlines()) <= width, table
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    lines = _data_lines(table)
    assert len(lines) == len(rows), table  # a row never wraps onto a second line
    for row, line in zip(rows, lines, strict=True):
        allowed = {part for c, text in row.items() for s in _shown(c, text) for part in s.split()}
        for token in line.replace(" *", "").split():
            assert token in allowed, (token, line)  # never a piece of a number
        for column in ESSENTIAL[kind] & row.keys():
            if row[column]:
                assert any(_whole_in(line, s) for s in _shown(column, row[column])), (column, line)


def _table_and_csv(width: int, *args: str) -> tuple[str, str]:
    code, table = invoke(terminal(width), *args)
    assert code == 0, table
    code, text = invoke(terminal(width), *args, "-f", "csv")
    assert code == 0
    return table, text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", REPORTS)
def test_every_report_fits(kind: str, width: int) -> None:
    table, text = _table_and_csv(width, kind, str(SAMPLE_CSV), *AS_OF, *REPORTS[kind])
    assert_fits(table, text, width, kind)


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@pytest.mark.parametrize("kind", REPORTS)
def test_every_mode_fits_80_columns(kind: str, mode: str, level: str, scope: str) -> None:
    combo = ("--mode", mode, "--level", level, "--expansion-scope", scope)
    args = (kind, str(SAMPLE_CSV), *AS_OF, "--from", "2025-10", *REPORTS[kind], *combo)
    table, text = _table_and_csv(80, *args)
    assert_fits(table, text, 80, kind)


def test_wide_prints_every_column_in_full() -> None:
    args = ("metrics", str(SAMPLE_CSV), *AS_OF, "--from", "2026-01")
    _, narrow = invoke(terminal(80), *args)
    _, wide = invoke(terminal(80), *args, "--wide")
    assert "--wide shows every" in narrow
    assert "ARPA" not in narrow.split("─")[0]  # not among the headers, only in the caption
    assert "--wide" not in wide
    # Every column, money in full: June 2026 closes at 291,023.60 with ARPA 915.17.
    for column in ("month", "opening_mrr", "arpa", "customers_opening", "reactivated_customers"):
        assert header(column).split("\n")[0] in wide
    assert "291,023.60" in wide and "915.17" in wide
    assert len(_data_lines(wide)) == 6  # January to June, one line each


def test_a_table_in_a_pipe_has_no_trailing_spaces() -> None:
    pipe = Terminal(stdout_is_terminal=False, width=120)
    _, out = invoke(pipe, "expansion", str(SAMPLE_CSV), *AS_OF, "-f", "table", "--from", "2026-01")
    assert "Expansion MRR · USD" in out
    assert all(line == line.rstrip() for line in out.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_validate_problems_fit(width: int) -> None:
    bad = str(FIXTURES / "bad" / "several_problems.csv")
    code, table = invoke(terminal(width), "validate", bad)
    _, text = invoke(terminal(width), "validate", bad, "-f", "csv")
    assert code == 1
    assert max(len(line) for line in table.splitlines()) <= width, table
    words = set(re.split(r"[\s,]+", table))
    for row in csv.DictReader(io.StringIO(text)):
        # Row numbers and counts appear whole ("12", not "1" and "2").
        numbers = [*re.findall(r"\d+", row["rows"]), row["count"]]
        assert all(number in words for number in numbers), (numbers, table)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_outcomes_fit(width: int) -> None:
    rules = ("-r", "expansion_to_new>=0.30", "-r", "nrr>=1", "-r", "churned_mrr<5000")
    code, table = invoke(terminal(width), "check", str(SAMPLE_CSV), *AS_OF, *rules)
    _, text = invoke(terminal(width), "check", str(SAMPLE_CSV), *AS_OF, *rules, "-f", "csv")
    assert code == 3
    assert max(len(line) for line in table.splitlines()) <= width, table
    # CSV 3.668791, 1.007777 and 6255.36 shown whole as the reports show them.
    assert "3.668791" in text and "1.007777" in text and "6255.36" in text
    assert {"366.9%", "100.8%", "6,255.36"} <= set(table.split())


def test_labels_follow_the_period() -> None:
    assert header("nrr", period="quarter") == "NRR\n(quarter)"
    assert header("nrr_ttm", period="quarter") == "NRR\n(12 mo)"


@pytest.mark.parametrize("kind", ["movements", "expansion", "metrics"])
def test_a_month_to_date_fits(kind: str) -> None:
    args = (kind, str(SAMPLE_CSV), "--as-of", "2026-06-17", "--from", "2026-01")
    table, text = _table_and_csv(80, *args)
    assert_fits(table, text, 80, kind)
    assert "2026-06 *" in table and "* 2026-06 is month to date: 17 days" in table


def test_wide_from_the_config_file(in_tmp: Path) -> None:
    (in_tmp / "mrrcli.toml").write_text("wide = true\n")
    _, out = invoke(terminal(80), "movements", str(SAMPLE_CSV), *AS_OF, "--from", "2026-06")
    # June 2026 in full: opening 284,911.41, reactivation 196.00, closing 291,023.60.
    assert {"284,911.41", "196.00", "291,023.60"} <= set(out.split())
    assert "reactivation" in out and "--wide" not in out


def test_a_month_to_date_of_one_day_says_1_day() -> None:
    # As of 2026-06-01 June has run one day: "1 day", not "1 days"; as of 2026-06-17, 17 days.
    _, out = invoke(terminal(120), "movements", str(SAMPLE_CSV), "--as-of", "2026-06-01")
    assert "* 2026-06 is month to date: 1 day, through 2026-06-01" in out
    _, out = invoke(terminal(120), "movements", str(SAMPLE_CSV), "--as-of", "2026-06-17")
    assert "* 2026-06 is month to date: 17 days, through 2026-06-17" in out
