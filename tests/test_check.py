"""`mrrcli check` end to end: rules, months, exit codes for cron."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date

import pytest
from typer.testing import CliRunner

from mrrcli.checks import last_complete_month, parse_rule
from mrrcli.cli import app
from mrrcli.errors import ExitCode, UsageError
from tests.conftest import SPEC_EXAMPLE

runner = CliRunner()
AS_OF = ["--as-of", "2024-05-31"]


def check(*args: str) -> tuple[int, list[dict[str, str]], str]:
    result = runner.invoke(app, ["check", str(SPEC_EXAMPLE), *AS_OF, "-q", *args])
    rows = list(csv.DictReader(io.StringIO(result.stdout))) if result.stdout else []
    return result.exit_code, rows, result.stderr


def test_all_rules_pass_exit_0() -> None:
    # February (SPEC §8): expansion 80, new 100 → expansion_to_new 0.8; closing 280.00.
    code, rows, _ = check(
        "--month", "2024-02", "-r", "expansion_to_new>=0.30", "-r", "closing_mrr == 280"
    )
    assert code == ExitCode.OK
    assert [(r["metric"], r["value"], r["result"]) for r in rows] == [
        ("expansion_to_new", "0.8", "pass"),
        ("closing_mrr", "280.00", "pass"),
    ]


def test_a_failing_rule_exits_3_and_says_which() -> None:
    # April: churned 180.00 > 100.
    code, rows, _ = check("--month", "2024-04", "-r", "churned_mrr<100", "-r", "nrr>0.3")
    assert code == ExitCode.CHECK_FAILED
    assert [(r["rule"], r["value"], r["result"]) for r in rows] == [
        ("churned_mrr<100", "180.00", "fail"),
        # NRR April: cohort A (180) + B (100) → 100 / 280 = 0.357143
        ("nrr>0.3", "0.357143", "pass"),
    ]


def test_an_empty_value_fails() -> None:
    # March has no new MRR: expansion_to_new is empty and cannot pass.
    code, rows, _ = check("--month", "2024-03", "-r", "expansion_to_new>=0")
    assert code == ExitCode.CHECK_FAILED
    assert rows[0]["value"] == ""
    assert rows[0]["result"] == "fail"


def test_default_month_is_the_last_complete_month() -> None:
    # As of 2024-05-31 May is complete: May's reactivation is 75.00.
    code, rows, _ = check("-r", "reactivation_mrr>=75")
    assert code == 0
    assert rows[0]["month"] == "2024-05"
    result = runner.invoke(
        app,
        ["check", str(SPEC_EXAMPLE), "--as-of", "2024-05-30", "-q", "-r", "churned_mrr>=180"],
    )
    # As of 2024-05-30, May is partial: the last complete month is April (churn 180.00).
    assert result.exit_code == 0
    assert "2024-04" in result.stdout


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("foo>=1", "unknown metric 'foo'"),
        ("nrr=>1", "malformed rule"),
        ("nrr>=", "malformed rule"),
        ("nrr>=abc", "not a number"),
        (">=1", "malformed rule"),
    ],
)
def test_unknown_metric_or_malformed_rule_exits_2(rule: str, words: str) -> None:
    code, rows, err = check("-r", rule)
    assert code == ExitCode.USAGE
    assert rows == []
    assert words in err


def test_rule_parsing_accepts_spaces_and_all_operators() -> None:
    known = {"nrr"}
    for op in (">=", ">", "<=", "<", "=="):
        rule = parse_rule(f" nrr {op} 0.9 ", known)
        assert (rule.metric, rule.op, str(rule.threshold)) == ("nrr", op, "0.9")
    with pytest.raises(UsageError):
        parse_rule("nrr != 1", known)


@pytest.mark.parametrize(
    ("as_of", "month"),
    [
        (date(2024, 5, 31), date(2024, 5, 1)),
        (date(2024, 5, 30), date(2024, 4, 1)),
        (date(2024, 1, 15), date(2023, 12, 1)),
        (date(2024, 2, 29), date(2024, 2, 1)),
    ],
)
def test_last_complete_month(as_of: date, month: date) -> None:
    assert last_complete_month(as_of) == month


def test_check_as_a_cron_job_subprocess() -> None:
    command = [
        sys.executable,
        "-m",
        "mrrcli",
        "check",
        str(SPEC_EXAMPLE),
        "--as-of",
        "2024-05-31",
        "--month",
        "2024-04",
        "-r",
        "churned_mrr<100",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 3
    assert "churned_mrr<100,2024-04,churned_mrr,180.00,<,100,fail" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_table_shows_values_as_the_reports_do_and_a_summary() -> None:
    # April (SPEC §8): churned 180.00 (money, 2 decimals), NRR 100 / 280 = 35.7%, quick ratio
    # (0 + 0 + 0) / (0 + 180) = 0.00×; March has no new MRR, so expansion_to_new is empty.
    from mrrcli.present.terminal import Terminal

    rules = ["-r", "churned_mrr<100", "-r", "nrr>0.3", "-r", "quick_ratio>=0"]
    result = runner.invoke(
        app,
        ["check", str(SPEC_EXAMPLE), *AS_OF, "--month", "2024-04", *rules, "-f", "table"],
        obj=Terminal(stdout_is_terminal=False, width=80),
    )
    assert result.exit_code == ExitCode.CHECK_FAILED
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["rule", "month", "value", "result"]
    assert lines[3].split() == ["churned_mrr<100", "2024-04", "180.00", "fail"]
    assert lines[4].split() == ["nrr>0.3", "2024-04", "35.7%", "pass"]
    assert lines[5].split() == ["quick_ratio>=0", "2024-04", "0.00×", "pass"]
    assert lines[6] == "1 of 3 rules failed: churned_mrr<100"
    assert "mrrcli: 1 of 3 rules failed: churned_mrr<100" in result.stderr


def test_an_empty_value_says_why() -> None:
    # March: new MRR is 0, so expansion ÷ new is empty; opening 280 gives a growth rate of 0.
    code, rows, _ = check(
        "--month", "2024-03", "-r", "expansion_to_new>=0", "-r", "mrr_growth_rate>=0"
    )
    assert code == ExitCode.CHECK_FAILED
    assert [(r["value"], r["result"], r["reason"]) for r in rows] == [
        ("", "fail", "empty: new MRR is 0"),
        ("0.0", "pass", ""),
    ]
    result = runner.invoke(
        app,
        [
            "check",
            str(SPEC_EXAMPLE),
            *AS_OF,
            "--month",
            "2024-03",
            "-r",
            "expansion_to_new>=0",
            "-f",
            "table",
        ],
    )
    assert "fail (empty: new MRR is 0)" in result.stdout
    assert "1 of 1 rule failed: expansion_to_new>=0" in result.stdout


def test_month_current_judges_the_month_to_date_at_its_pace() -> None:
    # SPEC §8 as of 2024-03-20: March to date, 20 days. Opening 280 (A 180 + B 100). B's add-on
    # b2 (40) starts Mar 5 (expansion 40) and ends Mar 20, the as-of day (contraction 40).
    # Day-normalized: 40 × 30.4375 ÷ 20 = 60.875 each; gross churn 40 ÷ 280 × 30.4375 ÷ 20
    # = 0.142857… × 1.521875 = 0.217410714… → 0.217411. NRR (a level ratio, not paced): A and B
    # paying at the opening close at 180 + 100 = 280 → 1.
    result = runner.invoke(
        app,
        [
            "check",
            str(SPEC_EXAMPLE),
            "--as-of",
            "2024-03-20",
            "--month",
            "current",
            "-r",
            "contraction_mrr<=60",
            "-r",
            "expansion_mrr>=60.875",
            "-r",
            "gross_mrr_churn_rate<=0.2",
            "-r",
            "nrr>=1",
            "-f",
            "csv",
        ],
    )
    assert result.exit_code == ExitCode.CHECK_FAILED
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["month"], r["metric"], r["value"], r["result"]) for r in rows] == [
        ("2024-03", "contraction_mrr", "60.875000", "fail"),
        ("2024-03", "expansion_mrr", "60.875000", "pass"),
        ("2024-03", "gross_mrr_churn_rate", "0.217411", "fail"),
        ("2024-03", "nrr", "1.0", "pass"),
    ]
    # The paced rules say so; the level ratio does not.
    assert "day-normalized (x 30.4375 / 20)" in rows[0]["reason"]
    assert rows[3]["reason"] == ""
    assert "2024-03: to date (20 days)" in result.stderr


def test_month_current_on_a_complete_month_is_that_month_as_it_is() -> None:
    # As of 2024-05-31 the current month is complete: May judged unpaced (reactivation 75).
    code, rows, _ = check("--month", "current", "-r", "reactivation_mrr==75")
    assert code == ExitCode.OK
    assert [(r["month"], r["value"], r["reason"]) for r in rows] == [("2024-05", "75.00", "")]


def test_before_any_complete_month_the_line_offers_the_month_to_date() -> None:
    # As of 2024-01-20 the SPEC example has only January to date: the default month, the last
    # complete one (2023-12), has no data, and the line says how to check January so far.
    result = runner.invoke(
        app, ["check", str(SPEC_EXAMPLE), "--as-of", "2024-01-20", "-q", "-r", "nrr>=0.9"]
    )
    assert result.exit_code == ExitCode.DATA_ERROR
    assert result.stderr == (
        "mrrcli: error: no data for 2023-12: the report covers 2024-01 to 2024-01; "
        "--month current checks 2024-01 to date\n"
    )
