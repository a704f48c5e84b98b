"""The README's cron script, run as written (issue 12 item 3): it reads only the newest dated
export, mails the failed rules on exit 3 and the error on exit 1 (never an old check.csv), and
stays silent when every rule passes. `mail` is a stand-in that appends to a mailbox file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mrrcli.checks import last_complete_month
from tests.conftest import ROOT, SAMPLE_CSV

SCRIPT = re.search(
    r"```sh\n(#!/bin/sh\n# /srv/finance/mrr-alert\.sh.*?)```",
    (ROOT / "README.md").read_text(),
    re.S,
)


def months_before(day: date, n: int) -> date:
    month = day.month - 1 - n
    return date(day.year + month // 12, month % 12 + 1, 1)


@pytest.fixture
def finance(tmp_path: Path) -> Path:
    """/srv/finance: the script, exports/, a stale reports/check.csv, and `mail` on the PATH."""
    assert SCRIPT is not None, "the README's cron script is gone"
    script = tmp_path / "mrr-alert.sh"
    script.write_text(SCRIPT.group(1))
    script.chmod(0o755)
    (tmp_path / "exports").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "check.csv").write_text("LAST MONTH'S RESULT\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mail = bin_dir / "mail"
    mail.write_text('#!/bin/sh\n{ echo "subject: $2"; echo "to: $3"; cat; } >> "$MAILBOX"\n')
    mail.chmod(0o755)
    mrrcli = bin_dir / "mrrcli"
    mrrcli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mrrcli "$@"\n')
    mrrcli.chmod(0o755)
    return tmp_path


def run_script(finance: Path) -> tuple[int, str]:
    env = {
        "PATH": f"{finance / 'bin'}:/usr/bin:/bin",
        "MAILBOX": str(finance / "mailbox"),
        "MRRCLI": str(finance / "bin" / "mrrcli"),
        "PYTHONPATH": str(ROOT),
        "HOME": str(finance),
    }
    done = subprocess.run(
        ["sh", str(finance / "mrr-alert.sh")], env=env, cwd="/", capture_output=True, text=True
    )
    mailbox = finance / "mailbox"
    return done.returncode, mailbox.read_text() if mailbox.exists() else ""


def fresh_export(today: date, churn: bool) -> str:
    """An export whose last event is today. In the month the check judges (M, the last
    complete month): A (100 since two months before M) grows to 140 on M's 3rd; D starts at
    100 on M's 5th; with `churn`, B (100 since two months before M) ends on M's 2nd.

    M: opening 200 with B, else 100. New 100 (D; 110 if today falls in M, with C's 10).
    Expansion 40. Without churn: expansion ÷ new ≥ 40/110 = 0.36 ≥ 0.30, NRR 140/100 = 1.4,
    gross churn 0: every rule passes. With B's churn: NRR (140 + 0)/200 = 0.7 < 1 and gross
    churn 100/200 = 0.5 > 0.02: two rules fail."""
    m = last_complete_month(today)
    early = months_before(m, 2)
    rows = [
        ("A", early, m + timedelta(days=2), 100),
        ("A", m + timedelta(days=2), None, 140),
        ("D", m + timedelta(days=4), None, 100),
        ("C", today, None, 10),  # the export is fresh: something happened today
    ]
    if churn:
        rows.append(("B", early, m + timedelta(days=1), 100))
    lines = [f"{c},{s},{e or ''},{a}" for c, s, e, a in rows]
    return "customer_id,start_date,end_date,amount\n" + "\n".join(lines) + "\n"


def test_a_stale_export_mails_the_error_not_last_months_result(finance: Path) -> None:
    # sample_data/ ends on 2026-06-30: as of today (2026-11-29 or later) it is stale.
    (finance / "exports" / "billing-2026-06-30.csv").write_bytes(SAMPLE_CSV.read_bytes())
    code, mailbox = run_script(finance)
    assert code == 1
    assert mailbox.startswith("subject: MRR check could not run (exports/billing-2026-06-30.csv")
    assert "stale export: it shows nothing after 2026-06-30" in mailbox
    assert "LAST MONTH'S RESULT" not in mailbox


def test_only_the_newest_dated_export_is_read_and_failures_are_mailed(finance: Path) -> None:
    today = datetime.now(UTC).date()
    exports = finance / "exports"
    # An older dated copy of the same export (without D and C): passed together, the two would
    # stop the run as dated copies; the script reads only the newest.
    older = fresh_export(today, churn=True).replace(f"C,{today},,10\n", "")
    (exports / "billing-2000-01-31.csv").write_text(older.replace(",140\n", ",120\n"))
    newest = exports / f"billing-{today}.csv"
    newest.write_text(fresh_export(today, churn=True))
    code, mailbox = run_script(finance)
    assert code == 3, mailbox
    assert mailbox.startswith(f"subject: MRR alert: a rule failed (exports/billing-{today}.csv)")
    month = last_complete_month(today).strftime("%Y-%m")
    assert f"nrr>=1.0,{month},nrr,0.7,>=,1.0,fail" in mailbox
    assert f"gross_mrr_churn_rate<=0.02,{month},gross_mrr_churn_rate,0.5,<=,0.02,fail" in mailbox
    assert (finance / "reports" / "check.csv").read_text() in mailbox
    # What the old recipe's `billing-*.csv` glob did: both files, stopped as dated copies.
    files = sorted(map(str, exports.glob("*.csv")))
    both = subprocess.run(
        [sys.executable, "-m", "mrrcli", "check", *files, "-r", "nrr>=1"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert both.returncode == 1 and "dated copies of one export" in both.stderr


def test_when_every_rule_passes_nothing_is_mailed(finance: Path) -> None:
    today = datetime.now(UTC).date()
    (finance / "exports" / f"billing-{today}.csv").write_text(fresh_export(today, churn=False))
    code, mailbox = run_script(finance)
    assert code == 0, (finance / "reports" / "check.err").read_text()
    assert mailbox == ""
    assert "pass" in (finance / "reports" / "check.csv").read_text()


def test_no_export_at_all_is_mailed(finance: Path) -> None:
    code, mailbox = run_script(finance)
    assert code == 1
    assert mailbox.startswith("subject: MRR check: no export")


def test_the_script_is_posix_shell() -> None:
    assert SCRIPT is not None
    done = subprocess.run(["sh", "-n"], input=SCRIPT.group(1), text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
