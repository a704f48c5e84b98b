"""Fresh data for unattended runs (SPEC §12): data_through, stale exports, --max-age.

sample_data/ shows its last event on 2026-06-30 (a start and several ends that day; nothing
later). From 2026-06-30 to 2026-08-04 is 1 (Jul 1) + 30 (to Jul 31) + 4 = 35 days: not more
than the default --max-age 35, so not stale; 2026-08-05 is 36 days: stale.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli import report
from mrrcli.cli import app
from mrrcli.engine.freshness import Freshness, data_through, last_event_day
from mrrcli.errors import ExitCode
from mrrcli.report import Settings, load
from tests.conftest import ROOT, SAMPLE_CSV, SPEC_EXAMPLE

runner = CliRunner()
SAMPLE = str(SAMPLE_CSV)
RULES = ("-r", "nrr>=1", "-r", "gross_mrr_churn_rate<=0.02")


def frame(*rows: tuple[str, str | None]) -> pl.DataFrame:
    """Rows of (start_date, end_date) as Rows.frame holds them."""
    return pl.DataFrame(
        {"start_date": [r[0] for r in rows], "end_date": [r[1] for r in rows]},
        schema={"start_date": pl.String, "end_date": pl.String},
    ).select(pl.all().str.to_date())


# --- the data's last day, by hand -------------------------------------------------------------


def test_periods_count_starts_and_ends_but_not_scheduled_ends() -> None:
    rows = frame(("2024-01-10", "2024-03-05"), ("2024-02-20", "2024-09-01"), ("2024-02-01", None))
    # As of 2024-06-30: starts Jan 10, Feb 20, Feb 1; the end Mar 5; the end Sep 1 is scheduled.
    assert last_event_day(rows, "periods", date(2024, 6, 30)) == date(2024, 3, 5)
    # As of 2024-02-25: Mar 5 is scheduled too; the latest start is Feb 20.
    assert last_event_day(rows, "periods", date(2024, 2, 25)) == date(2024, 2, 20)
    # As of 2024-09-01 the end on that day counts.
    assert last_event_day(rows, "periods", date(2024, 9, 1)) == date(2024, 9, 1)
    # Before the data, nothing has happened yet.
    assert last_event_day(rows, "periods", date(2024, 1, 9)) is None


def test_invoice_lines_count_their_period_starts_only() -> None:
    # Monthly lines: the last one runs Jun 1 to Jul 1; its end is the next line nobody billed.
    lines = frame(("2024-05-01", "2024-06-01"), ("2024-06-01", "2024-07-01"))
    assert last_event_day(lines, "invoice-lines", date(2024, 7, 15)) == date(2024, 6, 1)


def test_a_snapshot_month_counts_to_its_last_day_or_the_as_of_date() -> None:
    # Snapshots of March and April 2024 (rewritten as periods of their months).
    months = frame(("2024-03-01", "2024-04-01"), ("2024-04-01", "2024-05-01"))
    assert last_event_day(months, "snapshots", date(2024, 8, 31)) == date(2024, 4, 30)
    assert last_event_day(months, "snapshots", date(2024, 4, 12)) == date(2024, 4, 12)
    assert last_event_day(months, "snapshots", date(2024, 3, 31)) == date(2024, 3, 31)


def test_data_through_is_the_latest_of_the_parts() -> None:
    parts = [frame(("2024-01-10", "2024-03-05")), frame(("2024-02-20", None)), frame()]
    assert data_through(parts, "periods", date(2024, 6, 30)) == date(2024, 3, 5)
    assert data_through([frame()], "periods", date(2024, 6, 30)) is None


@pytest.mark.parametrize(
    ("as_of", "max_age", "stale"),
    [
        (date(2026, 8, 4), 35, False),  # 35 days: not more than 35
        (date(2026, 8, 5), 35, True),  # 36 days
        (date(2026, 8, 5), 36, False),
        (date(2026, 11, 29), 0, False),  # 0 disables the test
        (date(2026, 6, 30), 35, False),  # the data's own last day: 0 days
    ],
)
def test_stale_when_more_than_max_age_days_after_the_data(
    as_of: date, max_age: int, stale: bool
) -> None:
    assert Freshness(date(2026, 6, 30), as_of, max_age).stale is stale


def test_whole_and_in_parts_agree_on_data_through() -> None:
    whole, split = load([SAMPLE]), load([SAMPLE], parts=4)
    for as_of in (date(2025, 3, 14), date(2026, 6, 29), date(2026, 8, 5)):
        settings = Settings(as_of=as_of)
        assert report.movements(split, settings).meta == report.movements(whole, settings).meta
    # The parts' own last days differ; the export's is the latest of them.
    days = {last_event_day(p.frame, "periods", date(2026, 6, 29)) for p in split.pieces()}
    assert len(days) > 1 and max(d for d in days if d) == date(2026, 6, 29)


def test_whole_and_in_parts_print_the_same_stale_report() -> None:
    args = ["movements", SAMPLE, "--as-of", "2026-08-05", "-f", "json"]
    whole = runner.invoke(app, args)
    split = runner.invoke(app, args, env={"MRRCLI_WHOLE_ROWS": "500"})
    assert "read in 4 parts" in split.stderr
    assert split.stdout == whole.stdout
    warning = [line for line in whole.stderr.splitlines() if "warning: " in line]
    assert len(warning) == 1 and warning[0] in split.stderr.splitlines()


# --- the command line -----------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_meta_states_data_through_and_stale() -> None:
    _, out, _ = run("movements", SAMPLE, "--as-of", "2026-08-04", "-f", "json")
    meta = json.loads(out)["meta"]
    assert (meta["data_through"], meta["stale"], meta["max_age"]) == ("2026-06-30", False, 35)
    code, out, err = run("movements", SAMPLE, "--as-of", "2026-08-05", "-f", "json", "-q")
    meta = json.loads(out)["meta"]
    assert (meta["data_through"], meta["stale"]) == ("2026-06-30", True)
    # A report still runs (exit 0) but warns, even with --quiet, in one line.
    assert code == 0
    assert err.count("\n") == 1 and err.startswith("mrrcli: warning: ")
    assert "2026-06-30" in err and "--as-of 2026-06-30" in err and "--max-age" in err


def test_the_table_caption_says_how_fresh_the_data_is() -> None:
    _, out, _ = run("metrics", SAMPLE, "--as-of", "2026-06-30", "-f", "table", "--from", "2026-05")
    assert "source periods · data through 2026-06-30" in out
    assert "STALE" not in out
    _, out, _ = run("metrics", SAMPLE, "--as-of", "2026-08-05", "-f", "table", "--from", "2026-05")
    # 36 days after the data's last day.
    assert "STALE: the data ends 36 days before the as-of date 2026-08-05" in out


def test_check_on_a_stale_export_exits_1_with_one_line() -> None:
    code, out, err = run("check", SAMPLE, "--as-of", "2026-08-05", *RULES)
    assert code == ExitCode.DATA_ERROR
    assert out == ""  # no outcome a cron job could mistake for a verdict
    assert err.count("\n") == 1
    assert err.startswith(
        f"mrrcli: error: {SAMPLE}: stale export: it shows nothing after 2026-06-30"
    )
    assert "36 days before the as-of date 2026-08-05" in err
    assert "give --as-of 2026-06-30" in err
    assert "--max-age 36 or more (e.g. max_age = 90 in mrrcli.toml)" in err


def test_check_at_the_boundary_judges_the_month() -> None:
    # 35 days: not stale. July 2026 has no movement: gross churn 0, NRR 1 → both pass.
    code, out, _ = run("check", SAMPLE, "--as-of", "2026-08-04", *RULES, "-q")
    assert code == ExitCode.OK
    assert "2026-07" in out


def test_max_age_0_disables_the_test() -> None:
    code, out, err = run("check", SAMPLE, "--as-of", "2026-11-29", "--max-age", "0", *RULES)
    # October 2026: nothing happens after June, so churn 0 and NRR 1 pass (what --max-age 0
    # accepts on purpose).
    assert code == ExitCode.OK, err
    assert "2026-10" in out


def test_a_negative_max_age_is_a_usage_error() -> None:
    code, _, _ = run("movements", SAMPLE, "--as-of", "2026-06-30", "--max-age", "-1")
    assert code == ExitCode.USAGE


def test_max_age_from_the_config_file(in_tmp: Path) -> None:
    # 2026-06-30 → 2026-11-29 is 152 days (Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 29).
    (in_tmp / "mrrcli.toml").write_text("max_age = 152\n")
    code, _, err = run("check", SAMPLE, "--as-of", "2026-11-29", *RULES, "-q")
    assert code == ExitCode.OK, err
    (in_tmp / "mrrcli.toml").write_text("max-age = 151\n")
    code, _, err = run("check", SAMPLE, "--as-of", "2026-11-29", *RULES, "-q")
    assert code == ExitCode.DATA_ERROR
    assert "152 days before" in err
    # The command line wins over the file.
    code, _, _ = run("check", SAMPLE, "--as-of", "2026-11-29", "--max-age", "200", *RULES)
    assert code == ExitCode.OK
    (in_tmp / "mrrcli.toml").write_text('max_age = "ninety"\n')
    code, _, err = run("movements", SAMPLE, "--as-of", "2026-11-29")
    assert code == ExitCode.USAGE and "max_age must be a whole number of days" in err


def test_an_as_of_after_today_is_a_usage_error() -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    code, out, err = run("movements", SAMPLE, "--as-of", tomorrow.isoformat())
    assert code == ExitCode.USAGE and out == ""
    assert "nothing is known about the future" in err


def test_the_issue_repro_without_as_of_fails_stale_and_with_it_judges_june() -> None:
    """Issue 12: without --as-of (today is at least 2026-11-29), the export is stale; as of
    its last day, June 2026 is judged and its gross MRR churn of 3.99% fails the 2% rule."""
    command = [sys.executable, "-m", "mrrcli", "check", "sample_data/subscriptions.csv", *RULES]
    stale = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert stale.returncode == 1
    assert stale.stdout == ""
    assert "stale export: it shows nothing after 2026-06-30" in stale.stderr
    judged = subprocess.run(
        [*command, "--as-of", "2026-06-30"], capture_output=True, text=True, cwd=ROOT
    )
    assert judged.returncode == 3
    assert "gross_mrr_churn_rate<=0.02,2026-06,gross_mrr_churn_rate,0.039891,<=,0.02,fail" in (
        judged.stdout
    )


def test_the_spec_example_is_fresh_as_of_its_own_last_month() -> None:
    # Its last event is C's return on 2024-05-10; as of 2024-05-31 that is 21 days.
    _, out, _ = run("movements", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "-f", "json")
    meta = json.loads(out)["meta"]
    assert (meta["data_through"], meta["stale"]) == ("2024-05-10", False)


# --- the source and the subscription-list caveat (SPEC §12) -----------------------------------

STRIPE_LIST = str(ROOT / "tests/fixtures/sources/stripe_subscriptions.csv")
# Its last event is on 2024-05-01; as of 2024-05-31 (30 days) it is fresh, so -q prints nothing.
STRIPE_AS_OF = ("--as-of", "2024-05-31")


def test_quiet_json_keeps_the_source_and_the_caveat() -> None:
    code, out, err = run("movements", STRIPE_LIST, *STRIPE_AS_OF, "-f", "json", "-q")
    assert code == 0 and err == ""
    meta = json.loads(out)["meta"]
    assert meta["source"] == "stripe-subscriptions"
    assert meta["caveat"].startswith("A Stripe subscriptions export is a subscription list")
    assert "past upgrades and downgrades cannot be seen" in meta["caveat"]
    assert (meta["data_through"], meta["stale"]) == ("2024-05-01", False)


def test_quiet_table_keeps_the_source_and_the_caveat() -> None:
    code, out, err = run("metrics", STRIPE_LIST, *STRIPE_AS_OF, "-f", "table", "-q")
    assert code == 0 and err == ""
    caption = " ".join(out.split())  # the caption wraps at the table's width
    assert "source stripe-subscriptions · data through 2024-05-01" in caption
    assert "! A Stripe subscriptions export is a subscription list" in caption


def test_check_carries_the_caveat_too() -> None:
    code, out, _ = run("check", STRIPE_LIST, *STRIPE_AS_OF, "-r", "closing_mrr>0", "-f", "json")
    assert code == 0
    meta = json.loads(out)["meta"]
    assert meta["source"] == "stripe-subscriptions" and "subscription list" in meta["caveat"]
    assert (meta["data_through"], meta["stale"]) == ("2024-05-01", False)


def test_sources_with_full_history_carry_no_caveat() -> None:
    lines = str(ROOT / "tests/fixtures/sources/stripe_invoice_lines.csv")
    _, out, _ = run("movements", lines, "--as-of", "2024-04-30", "-f", "json", "-q")
    meta = json.loads(out)["meta"]
    assert (meta["source"], meta["caveat"]) == ("stripe-invoice-lines", None)


def test_every_subscription_list_source_has_the_caveat() -> None:
    from mrrcli.sources import all_sources

    lists = {s.name for s in all_sources() if s.caveat is not None}
    assert {"stripe-subscriptions", "chargebee", "recurly", "chargify", "baremetrics"} <= lists
    assert not lists & {"stripe-invoice-lines", "lago", "chartmogul", "paddle", "periods"}
