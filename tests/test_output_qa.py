"""Output details found by an adversarial review of SPEC §7.1 and §11, end to end."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal
from tests.conftest import SPEC_EXAMPLE

AS_OF = ["--as-of", "2024-05-31"]


def invoke(*args: str, width: int = 200, terminal: bool = False) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), obj=Terminal(stdout_is_terminal=terminal, width=width, color=False)
    )
    return result.exit_code, result.stdout, result.stderr


def line_of(out: str, *starts: str) -> list[str]:
    return [line.split() for line in out.splitlines() if line.split()[:2] == list(starts)]


def test_segment_total_line_is_day_normalized_with_days_per_month() -> None:
    # --days-per-month 30: February's expansion of 80 (A's upgrade, 29 days) is
    # 80 × 30 ÷ 29 = 82.7586 → 82.76 on every line, the total included (it used 30.4375:
    # 80 × 30.4375 ÷ 29 = 83.97, while its segments summed to 82.76).
    args = ("expansion", str(SPEC_EXAMPLE), *AS_OF, "--days-per-month", "30", "-f", "table")
    code, out, err = invoke(*args, "--by", "subscription_id", "--wide", "-q")
    assert code == 0, err
    assert line_of(out, "2024-02", "a1")[0][6] == "82.76"
    assert line_of(out, "2024-02", "total")[0][6] == "82.76"
    # March: 40 × 30 ÷ 31 = 38.709677 → 38.71 (B's two-week add-on).
    assert line_of(out, "2024-03", "total")[0][6] == "38.71"


def chart_of(out: str) -> str:
    return out[out.index("Movements per month") :]


def test_terminal_chart_with_by_is_the_whole_not_the_segments_as_months() -> None:
    # The SPEC example by subscription has 2 to 4 rows a month (a1, b1, b2, c1, c2); the chart
    # drew one bar per row, so 2024-02 had three bars and the closing line jumped between
    # segments. It draws the months of the whole: five bars, as without --by, with
    # February's bars at new 100 + expansion 80 = 180 above 0 and churn 60 below.
    args = ("movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", "-q")
    code, whole, err = invoke(*args, width=100, terminal=True)
    assert code == 0, err
    code, by, err = invoke(*args, "--by", "subscription_id", width=100, terminal=True)
    assert code == 0, err
    assert chart_of(by) == chart_of(whole)
    assert "180 │" in chart_of(by)  # the scale's top: February's 180 of inflows


def test_chart_file_with_by_is_the_whole(tmp_path: Path) -> None:
    # --chart PATH.svg with --by draws the report without --by (the segments add up to it), for
    # movements, expansion and metrics alike: the same picture, byte for byte.
    for command in ("movements", "expansion", "metrics"):
        whole, by = tmp_path / f"{command}.svg", tmp_path / f"{command}-by.svg"
        args = (command, str(SPEC_EXAMPLE), *AS_OF, "-q", "-f", "csv")
        assert invoke(*args, "--chart", str(whole))[0] == 0
        assert invoke(*args, "--by", "subscription_id", "--chart", str(by))[0] == 0
        assert by.read_bytes() == whole.read_bytes(), command


def test_output_html_eml_png_on_a_report_names_what_writes_them(tmp_path: Path) -> None:
    # `movements -o board.html` said "mrrcli cannot write .html files", while `mrrcli report`
    # writes exactly that: the usage error now says which command or option does.
    hints = {
        "board.html": "mrrcli report FILE... -o report.html",
        "board.eml": "mrrcli report FILE... -o report.eml",
        "board.png": "--chart PATH.png",
        "board.svg": "--chart PATH.svg",
    }
    for name, hint in hints.items():
        code, out, err = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", str(tmp_path / name))
        assert code == 2 and out == "", err
        assert err.count("\n") == 1 and hint in err, err
        assert not (tmp_path / name).exists()


def test_output_that_cannot_be_written_exits_1_like_report_and_chart(tmp_path: Path) -> None:
    # A folder that does not exist: exit 1 with one line, as `report -o` and `--chart PATH`
    # do (the tables exited 2 for the same path, the report command 1).
    gone = tmp_path / "no" / "such" / "m.csv"
    code, out, err = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "-q", "-o", str(gone))
    assert (code, out) == (1, "")
    assert err == f"mrrcli: error: {gone}: cannot write the report: No such file or directory\n"
    page = tmp_path / "no" / "such" / "r.html"
    assert invoke("report", str(SPEC_EXAMPLE), *AS_OF, "-q", "-o", str(page))[0] == 1


def test_output_without_a_file_name_is_a_usage_error(in_tmp: Path) -> None:
    # `-o ''` (an unset shell variable; the option is a path, so it arrives as '.') said
    # ".: cannot write the report: Device or resource busy"; `-o ..` is no file name either.
    for output, shown in (("", "."), (".", "."), ("..", "..")):
        code, out, err = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", output)
        assert (code, out) == (2, ""), err
        assert err == f"mrrcli: error: -o '{shown}': give the name of the file to write\n"
    assert list(in_tmp.iterdir()) == []


def test_report_to_an_address_says_mail_to(tmp_path: Path) -> None:
    # SPEC §11 says `--to` fills the e-mail's To: header, but `--to` is the last month of every
    # report (§7); the e-mail's recipients are --mail-to, and `--to an@address` says so
    # (it said "--to must be a month YYYY-MM, not 'revops@example.com'").
    mail = str(tmp_path / "r.eml")
    code, _, err = invoke("report", str(SPEC_EXAMPLE), *AS_OF, "-o", mail, "--to", "a@b.com")
    assert code == 2
    assert err == (
        "mrrcli: error: --to is the last month of the report (YYYY-MM), not 'a@b.com'; "
        "the e-mail's recipients are --mail-to\n"
    )


def test_mail_headers_are_checked_before_anything_is_read(tmp_path: Path) -> None:
    # A new line in --subject (a header injection: 'Bcc: ...') ended in "error: ValueError:
    # Header values may not contain linefeed" (exit 1); an address without @ was written as
    # `To: not an address`, which sendmail -t cannot deliver. Both are usage errors now.
    mail = tmp_path / "r.eml"
    base = ("report", str(tmp_path / "missing.csv"), *AS_OF, "-o", str(mail))
    code, _, err = invoke(*base, "--subject", "MRR\nBcc: someone@example.com")
    assert (code, err) == (
        2,
        "mrrcli: error: --subject must be one line, not 'MRR\\nBcc: someone@example.com'\n",
    )
    for option in ("--mail-to", "--mail-from"):
        code, _, err = invoke(*base, option, "not an address")
        assert code == 2 and f"{option} 'not an address' is not an e-mail address" in err
    assert not mail.exists()


def test_mail_recipients_as_sendmail_reads_them(tmp_path: Path) -> None:
    import email
    from email import policy

    # Several --mail-to, one of them a comma-separated list with a quoted name holding a
    # comma, and a non-ASCII name and domain: the domain in IDNA form (exämple.com →
    # xn--exmple-cua.com; it was written as an encoded word, which no mail server reads).
    mail = tmp_path / "r.eml"
    code, _, err = invoke(
        "report", str(SPEC_EXAMPLE), *AS_OF, "-o", str(mail), "-q",
        "--mail-to", "Jörg Müller <jm@exämple.com>",
        "--mail-to", 'a@x.com, "Doe, J" <j@y.com>',
        "--mail-from", "Finance <fin@example.com>",
    )  # fmt: skip
    assert code == 0, err
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    to = [(a.display_name, a.addr_spec) for a in message["To"].addresses]
    assert to == [("Jörg Müller", "jm@xn--exmple-cua.com"), ("", "a@x.com"), ("Doe, J", "j@y.com")]
    assert message["From"] == "Finance <fin@example.com>"
    assert all(line.isascii() for line in mail.read_text().splitlines()[:8])


def test_mail_without_recipient_says_so(tmp_path: Path) -> None:
    mail = tmp_path / "r.eml"
    code, _, err = invoke("report", str(SPEC_EXAMPLE), *AS_OF, "-o", str(mail))
    assert code == 0 and mail.exists()
    assert f"mrrcli: {mail} has no To: header (sendmail -t finds no recipient): --mail-to\n" in err
    # -q: a mail for `sendmail ADDRESS < r.eml` needs no To: header; nothing is said.
    assert invoke("report", str(SPEC_EXAMPLE), *AS_OF, "-o", str(mail), "-q")[2] == ""


def test_check_json_values_and_thresholds_are_numbers(tmp_path: Path) -> None:
    import json

    # A pays 1,000,000.00 from January and 999,999.00 from February 10: February's gross MRR
    # churn rate is 1.00 ÷ 1,000,000.00 = 0.000001, which Python writes 1e-06: the value was
    # "1E-6" in CSV; 1e2 as a threshold was "1E+2". JSON held both as strings.
    export = tmp_path / "big.csv"
    export.write_text(
        "customer_id,start_date,end_date,amount\n"
        "A,2024-01-01,2024-02-10,1000000\nA,2024-02-10,,999999\n"
    )
    rules = ("-r", "gross_mrr_churn_rate<=0.000001", "-r", "nrr>=1e2", "-r", "arpa>=-5")
    args = ("check", str(export), "--as-of", "2024-02-29", "-q", *rules)
    code, out, _ = invoke(*args, "-f", "csv")
    assert code == 3
    assert out.splitlines()[1:] == [
        "gross_mrr_churn_rate<=0.000001,2024-02,gross_mrr_churn_rate,0.000001,<=,0.000001,pass,",
        # NRR 999,999 ÷ 1,000,000 = 0.999999
        "nrr>=1e2,2024-02,nrr,0.999999,>=,100,fail,",
        # ARPA: 999,999.00 ÷ 1 customer
        "arpa>=-5,2024-02,arpa,999999.00,>=,-5,pass,",
    ]
    code, out, _ = invoke(*args, "-f", "json")
    rows = json.loads(out)["rows"]
    assert [(r["value"], r["threshold"]) for r in rows] == [
        (0.000001, 0.000001),
        (0.999999, 100),
        (999999.00, -5),
    ]
    assert '"value":999999.00' in out  # money keeps its decimals, as in the reports
    code, out, _ = invoke(*args, "-f", "ndjson")
    assert [json.loads(line)["threshold"] for line in out.splitlines()] == [0.000001, 100, -5]


def words_kept(out: str, text: str, column: str) -> bool:
    """Every character of `text` is in the table's `column` (the last), in order, whatever
    the wrapping."""
    lines = out.splitlines()
    start = next(line for line in lines if line.startswith(("rule", "severity"))).index(column)
    return "".join(text.split()) in "".join("".join(line[start:] for line in lines).split())


def test_check_table_keeps_every_word_of_a_reason_at_any_width() -> None:
    # June 2026 to date (17 days) of the sample, judged at its pace: the reason
    # "to date (17 days): flows day-normalized (x 30.4375 / 17) before they are compared" is
    # in the result column. From 50 to 70 columns Rich, left to shrink the columns, drew the
    # table wider than the terminal and cut words off ("fail (to dat", "day-normaliz").
    reason = (
        "fail (to date (17 days): flows day-normalized (x 30.4375 / 17) before they are compared)"
    )
    rules = ("-r", "nrr>=1", "-r", "gross_mrr_churn_rate<=0.02", "--month", "current")
    for width in (56, 60, 64, 70, 80):
        code, out, _ = invoke(
            "check", "sample_data/subscriptions.csv", "--as-of", "2026-06-17", *rules, "-q",
            width=width, terminal=True,
        )  # fmt: skip
        assert code == 3
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert max(len(line) for line in plain.splitlines()) <= width, plain
        assert words_kept(plain, reason, "result"), plain
        assert "30.4375" in plain and "gross_mrr_churn_rate<=0.02" in plain  # never broken


def test_validate_table_keeps_every_word_at_a_narrow_width() -> None:
    # The five problems of several_problems.csv at 50 columns: each problem's text whole (at
    # 40 to 49 columns whole words such as '2024-13-01' and 'fortnight' went missing).
    problems = [
        "cannot read '2024-13-01' as a date (expected e.g. 2024-01-31)",
        "end_date '2024-01-01' is before start_date",
        "negative amount '-10'",
        "unknown interval 'fortnight' (expected day, week, month, quarter or year)",
    ]
    for width in (50, 60):
        code, out, _ = invoke(
            "validate", "tests/fixtures/bad/several_problems.csv", width=width, terminal=True
        )
        assert code == 1
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert max(len(line) for line in plain.splitlines()) <= width, plain
        assert all(words_kept(plain, problem, "problem") for problem in problems), plain
        assert "'2024-13-01'" in plain  # a word with a digit never wraps


def test_fitted_widths_by_hand() -> None:
    from mrrcli.present.fit import fitted_widths

    least, widest = [4, 6, 12], [10, 8, 30]
    # Every column at its widest: 10 + 8 + 30 + 2 gaps × 3 = 54.
    assert fitted_widths(least, widest, None) == [10, 8, 30]
    assert fitted_widths(least, widest, 54) == [10, 8, 30]
    # 40: 14 too wide, taken from the widest column: 30 − 14 = 16 (still the widest).
    assert fitted_widths(least, widest, 40) == [10, 8, 16]
    # 20: the third column down to its least (12, −18), then the other two, the wider first,
    # down to theirs (10 → 4, 8 → 6): 4 + 6 + 12 + 6 = 28, wider than 20 but nothing cut.
    assert fitted_widths(least, widest, 20) == [4, 6, 12]


def test_report_says_the_subscription_list_caveat_once(tmp_path: Path) -> None:
    import email
    from email import policy

    # A Stripe subscriptions export: its caveat is in meta and among the notes of the read;
    # the page's Notes and the mail's text listed it twice.
    caveat = "A Stripe subscriptions export is a subscription list"
    export = "tests/fixtures/sources/stripe_subscriptions.csv"
    page, mail = tmp_path / "r.html", tmp_path / "r.eml"
    for path in (page, mail):
        code, _, err = invoke("report", export, "--max-age", "0", "-q", "-o", str(path))
        assert code == 0, err
    notes = page.read_text().split("<h2>Notes</h2>")[1]
    assert notes.count(caveat) == 1
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message.get_body(("plain",)).get_content().count(caveat) == 1


def test_mail_text_names_the_period_of_its_table(tmp_path: Path) -> None:
    import email
    from email import policy

    # --period quarter: the HTML part shows the movements of the last 12 quarters (its heading
    # says so); the text part said "the last 12 months".
    mail = tmp_path / "q.eml"
    args = ("report", str(SPEC_EXAMPLE), *AS_OF, "--period", "quarter", "-q", "-o", str(mail))
    assert invoke(*args)[0] == 0
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "the movements of the last 12 quarters are in the HTML part" in text
    html = message.get_body(("html",)).get_content()
    assert "Movements, last 12 quarters (USD)" in html
