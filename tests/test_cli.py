"""The command line end to end: through Typer's CliRunner and as a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import ExitCode
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, customers, expansion, load, metrics, movements
from tests.conftest import SAMPLE_CSV, SAMPLE_PARQUET, SPEC_EXAMPLE

runner = CliRunner()
AS_OF = ["--as-of", "2024-05-31"]
COMMANDS = ("movements", "expansion", "metrics", "customers")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_movements_csv_is_the_worked_example() -> None:
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF)
    assert code == 0, err
    rows = rows_of(out)
    assert list(rows[0]) == [
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
    ]
    columns = ("month", "opening_mrr", "new_mrr", "expansion_mrr", "reactivation_mrr")
    columns += ("contraction_mrr", "churned_mrr", "closing_mrr")
    table = [tuple(r[c] for c in columns) for r in rows]
    # SPEC §8, event mode.
    assert table == [
        ("2024-01", "0.00", "160.00", "0.00", "0.00", "0.00", "0.00", "160.00"),
        ("2024-02", "160.00", "100.00", "80.00", "0.00", "0.00", "60.00", "280.00"),
        ("2024-03", "280.00", "0.00", "40.00", "0.00", "40.00", "0.00", "280.00"),
        ("2024-04", "280.00", "0.00", "0.00", "0.00", "0.00", "180.00", "100.00"),
        ("2024-05", "100.00", "0.00", "0.00", "75.00", "0.00", "0.00", "175.00"),
    ]
    assert [r["days"] for r in rows] == ["31", "29", "31", "30", "31"]


def test_snapshot_mode_differs_only_in_march() -> None:
    _, event_out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF)
    code, snap_out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--mode", "snapshot")
    assert code == 0
    event, snapshot = rows_of(event_out), rows_of(snap_out)
    for e, s in zip(event, snapshot, strict=True):
        if e["month"] == "2024-03":
            assert (s["expansion_mrr"], s["contraction_mrr"]) == ("0.00", "0.00")
            assert s["closing_mrr"] == e["closing_mrr"]
        else:
            assert e == s


def test_expansion_report_of_the_worked_example() -> None:
    code, out, _ = run("expansion", str(SPEC_EXAMPLE), *AS_OF)
    assert code == 0
    rows = {r["month"]: r for r in rows_of(out)}
    # 80 × 30.4375 ÷ 29 = 83.965517; 40 × 30.4375 ÷ 31 = 39.274194
    assert rows["2024-02"]["expansion_mrr_daynorm"] == "83.965517"
    assert rows["2024-03"]["expansion_mrr_daynorm"] == "39.274194"
    assert rows["2024-03"]["expansion_rate"] == "-0.532258"
    assert rows["2024-02"]["expansion_rate"] == ""  # January's expansion is 0
    assert rows["2024-02"]["expansion_to_new"] == "0.8"
    assert rows["2024-02"]["benchmark_met"] == "true"
    assert rows["2024-03"]["benchmark_met"] == ""  # no new MRR: the ratio is empty


@pytest.mark.parametrize("command", COMMANDS)
def test_json_equals_the_library_frame(command: str) -> None:
    code, out, _ = run(command, str(SPEC_EXAMPLE), *AS_OF, "--format", "json")
    assert code == 0
    document = json.loads(out, parse_float=Decimal)
    assert document["meta"]["as_of"] == "2024-05-31"
    assert document["meta"]["currency"] == "USD"
    assert document["meta"]["mode"] == "event"
    assert document["meta"]["level"] == "customer"
    assert document["meta"]["expansion_scope"] == "strict"
    assert "mrrcli_version" in document["meta"]
    settings = Settings(as_of=__import__("datetime").date(2024, 5, 31))
    rows = load([str(SPEC_EXAMPLE)])
    report = {"movements": movements, "expansion": expansion, "metrics": metrics}.get(
        command, customers
    )(rows, settings)
    expected = report.frame.to_dicts()
    assert len(document["rows"]) == len(expected)
    for got, want in zip(document["rows"], expected, strict=True):
        assert list(got) == list(want)
        for column, value in want.items():
            if isinstance(value, float):
                assert float(got[column]) == value, column
            else:
                assert got[column] == value, column


def test_money_in_json_is_a_number_with_the_currency_decimals() -> None:
    _, out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--format", "json")
    assert '"new_mrr":160.00' in out
    _, out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--format", "ndjson")
    lines = out.strip().splitlines()
    assert len(lines) == 5
    assert json.loads(lines[1])["expansion_mrr"] == 80.0


def test_markdown_and_table_formats() -> None:
    code, out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--format", "markdown")
    assert code == 0
    assert out.splitlines()[0].startswith("| month | days | opening_mrr |")
    assert "| 2024-02 | 29 | 160.00 | 100.00 | 80.00 |" in out
    code, out, _ = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--format", "table")
    assert code == 0
    assert "MRR movements · USD · event mode · customer level · as of 2024-05-31" in out
    assert "reactivation" in out and "280.00" in out


def test_table_marks_a_month_to_date_month() -> None:
    code, out, _ = run("expansion", str(SPEC_EXAMPLE), "--as-of", "2024-05-20", "-f", "table")
    assert code == 0
    assert "2024-05 *" in out
    assert "month to date" in out


def test_customers_drill_down_filters() -> None:
    code, out, _ = run(
        "customers", str(SPEC_EXAMPLE), *AS_OF, "--month", "2024-03", "--movement", "expansion"
    )
    assert code == 0
    assert rows_of(out) == [
        {
            "date": "2024-03-05",
            "month": "2024-03",
            "customer_id": "B",
            "movement": "expansion",
            "mrr_before": "100.00",
            "mrr_after": "140.00",
            "amount": "40.00",
        }
    ]
    code, out, _ = run("customers", str(SPEC_EXAMPLE), *AS_OF, "--customer", "C")
    assert [r["movement"] for r in rows_of(out)] == ["new", "churn", "reactivation"]


def test_output_file_follows_its_extension(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "--output", str(target))
    assert code == 0
    assert out == ""
    assert "wrote 5 rows" in err
    assert json.loads(target.read_text())["rows"][0]["month"] == "2024-01"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


def test_failed_run_leaves_an_earlier_report_intact(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    assert run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", str(target))[0] == 0
    before = target.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,start_date,amount\nA,2024-13-45,10\n")
    code, _, err = run("movements", str(bad), *AS_OF, "-o", str(target))
    assert code == ExitCode.DATA_ERROR
    assert target.read_bytes() == before
    assert "row 2" in err and "start_date" in err


def test_bad_input_is_one_line_naming_file_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "negative.csv"
    bad.write_text("customer_id,start_date,amount\nA,2024-01-01,10\nB,2024-01-01,-5\n")
    code, out, err = run("movements", str(bad), *AS_OF)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "negative.csv, row 3, column 'amount'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2024-13-01"], "--as-of"),
        (["--from", "2024-1-x"], "--from"),
        (["--to", "2030-01"], "after the as-of month"),
        (["--days-per-month", "zero"], "--days-per-month"),
        (["--map", "nonsense"], "--map"),
    ],
)
def test_wrong_usage_exits_2(args: list[str], message: str) -> None:
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF[:0], *args)
    assert code == ExitCode.USAGE, err
    assert message in err
    assert out == ""


def test_missing_file_exits_1(tmp_path: Path) -> None:
    code, _, err = run("movements", str(tmp_path / "nope.csv"))
    assert code == 1
    assert "no such file" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_shows_an_example(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Example" in out
    assert f"mrrcli {command} " in out


def test_config_file_sets_options_and_command_line_wins(in_tmp: Path) -> None:
    data = in_tmp / "export.csv"
    data.write_text("Account,Begins,Ends,Price\nA,2024-01-10,,30\n")
    (in_tmp / "mrrcli.toml").write_text(
        'as-of = "2024-02-29"\nmode = "snapshot"\n\n'
        '[map]\ncustomer_id = "Account"\nstart_date = "Begins"\nend_date = "Ends"\n'
        'amount = "Price"\n'
    )
    code, out, err = run("movements", "export.csv", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["meta"]["mode"] == "snapshot"
    assert [r["month"] for r in document["rows"]] == ["2024-01", "2024-02"]
    code, out, _ = run("movements", "export.csv", "--as-of", "2024-01-31", "-f", "json")
    assert [r["month"] for r in json.loads(out)["rows"]] == ["2024-01"]


def test_parquet_and_csv_sample_give_the_same_report() -> None:
    args = ("--as-of", "2026-06-30", "--format", "csv")
    a = run("movements", str(SAMPLE_CSV), *args)
    b = run("movements", str(SAMPLE_PARQUET), *args)
    assert a[0] == b[0] == 0
    assert a[1] == b[1]


def test_stdin_dash() -> None:
    result = runner.invoke(app, ["movements", "-", *AS_OF], input=SPEC_EXAMPLE.read_text())
    assert result.exit_code == 0
    assert rows_of(result.stdout)[-1]["closing_mrr"] == "175.00"


# Real subprocesses: what a shell user and cron see.


def mrrcli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mrrcli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_subprocess_pipe_writes_csv_and_notes_go_to_stderr() -> None:
    result = mrrcli("movements", str(SAMPLE_CSV), "--as-of", "2026-06-30")
    assert result.returncode == 0
    assert result.stdout.startswith("month,days,opening_mrr,")
    assert "rows read" in result.stderr
    rows = rows_of(result.stdout)
    assert rows[0]["month"] == "2024-01"
    assert rows[-1]["month"] == "2026-06"


def test_subprocess_head_ends_quietly() -> None:
    command = f"{sys.executable} -m mrrcli customers {SAMPLE_CSV} --as-of 2026-06-30 -q | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, check=False
    )
    assert result.stdout == "date,month,customer_id,movement,mrr_before,mrr_after,amount\n"
    assert result.stderr == ""
    assert result.returncode == 0


def test_subprocess_error_exit_code_and_no_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = mrrcli("movements", str(empty))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_stdin_that_is_a_terminal_is_a_usage_error() -> None:
    # `-` on a terminal would wait for typing: one line, exit 2, before anything is read.
    result = CliRunner().invoke(
        app, ["movements", "-", *AS_OF], obj=Terminal(stdin_is_terminal=True)
    )
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "stdin, which is a terminal" in result.stderr


def test_subprocess_stdin_on_a_terminal_does_not_hang() -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        done = mrrcli("movements", "-", *AS_OF, stdin=terminal, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert done.returncode == ExitCode.USAGE
    assert "stdin, which is a terminal" in done.stderr


def test_parquet_on_stdin() -> None:
    # The sample as Parquet through a pipe gives the same report as the CSV file.
    args = ("movements", "-", "--as-of", "2026-06-30", "--from", "2026-01")
    with SAMPLE_PARQUET.open("rb") as stdin:
        piped = subprocess.run(
            [sys.executable, "-m", "mrrcli", *args],
            stdin=stdin,
            capture_output=True,
            env={**os.environ, "NO_COLOR": "1"},
            check=False,
        )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == run("movements", str(SAMPLE_CSV), *args[2:])[1]


@pytest.mark.parametrize("name", ["board.xlsx", "chart.png", "report.pdf", "data.weird"])
def test_output_extension_mrrcli_cannot_write_is_a_usage_error(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", str(target))
    assert code == ExitCode.USAGE
    assert f"this report cannot be written as {target.suffix}; it writes .csv" in err
    assert out == ""
    assert not target.exists()


def test_unknown_extension_with_an_explicit_format_is_written(tmp_path: Path) -> None:
    target = tmp_path / "movements.dat"
    code, _, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", str(target), "-f", "csv")
    assert code == 0, err
    # The worked example's last month: closing 175.00 (SPEC §8).
    assert rows_of(target.read_text())[-1]["closing_mrr"] == "175.00"
    code, _, err = run(
        "movements", str(SPEC_EXAMPLE), *AS_OF, "-o", str(target) + ".xlsx", "-f", "csv"
    )
    assert code == ExitCode.USAGE


def test_as_of_before_the_first_day_with_mrr_is_a_usage_error() -> None:
    # The worked example's first paying row starts 2024-01-03 (customer C).
    code, out, err = run("movements", str(SPEC_EXAMPLE), "--as-of", "2024-01-02")
    assert (code, out) == (ExitCode.USAGE, "")
    assert "--as-of 2024-01-02 is before the export's first day with MRR, 2024-01-03" in err
    code, _, _ = run("movements", str(SPEC_EXAMPLE), "--as-of", "2024-01-03")
    assert code == 0
    code, _, err = run("metrics", str(SPEC_EXAMPLE), *AS_OF, "--to", "2023-12")
    assert code == ExitCode.USAGE
    assert "--to 2023-12 is before the export's first month with MRR, 2024-01" in err


def test_unknown_customer_says_so_and_exits_0() -> None:
    code, out, err = run("customers", str(SPEC_EXAMPLE), *AS_OF, "--customer", "Z")
    assert code == 0
    assert rows_of(out) == []
    assert "mrrcli: no customer 'Z' in the export: no row to show" in err.splitlines()
    # A known customer (spaces stripped, as ids are compared) without a matching movement.
    code, out, err = run(
        "customers", str(SPEC_EXAMPLE), *AS_OF, "--customer", " B ", "--movement", "churn"
    )
    assert code == 0 and rows_of(out) == []
    assert "no movement matches --month, --movement and --customer" in err


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # SPEC §8: C churns 60.00 on 2024-02-03, A 180.00 on 2024-04-15.
        ("churned", [("2024-02-03", "C", "60.00"), ("2024-04-15", "A", "180.00")]),
        ("Churn", [("2024-02-03", "C", "60.00"), ("2024-04-15", "A", "180.00")]),
        # C returns to paying: a reactivation on 2024-05-10 at 75.00.
        ("reactivated", [("2024-05-10", "C", "75.00")]),
    ],
)
def test_movement_accepts_the_kind_and_its_participle(
    given: str, expected: list[tuple[str, str, str]]
) -> None:
    code, out, err = run("customers", str(SPEC_EXAMPLE), *AS_OF, "--movement", given)
    assert code == 0, err
    assert [(r["date"], r["customer_id"], r["amount"]) for r in rows_of(out)] == expected


def test_unknown_movement_is_a_usage_error_naming_the_accepted_ones() -> None:
    code, _, err = run("customers", str(SPEC_EXAMPLE), *AS_OF, "--movement", "lost")
    assert code == ExitCode.USAGE
    assert "new, expansion, reactivation, contraction, churn (or churned, expanded" in err


def test_as_of_accepts_a_day_without_leading_zeros() -> None:
    # Like --from 2026-1: 2024-5-31 is 2024-05-31, so the same worked-example report.
    assert run("movements", str(SPEC_EXAMPLE), "--as-of", "2024-5-31") == run(
        "movements", str(SPEC_EXAMPLE), *AS_OF
    )
    for bad in ("2024-2-30", "20240531", "2024-05", "2024-005-01"):
        code, _, err = run("movements", str(SPEC_EXAMPLE), "--as-of", bad)
        assert code == ExitCode.USAGE, bad
        assert f"--as-of must be a day YYYY-MM-DD, not '{bad}'" in err


def test_messages_count_in_the_singular_for_one(tmp_path: Path) -> None:
    from mrrcli.vocabulary import counted

    assert counted(1, "rows read") == "1 row read"
    assert counted(2, "rows read") == "2 rows read"
    assert counted(1_234, "duplicate rows") == "1,234 duplicate rows"
    assert counted(1, "older versions of a row (history table) set aside") == (
        "1 older version of a row (history table) set aside"
    )
    one = tmp_path / "one.csv"
    one.write_text("customer_id,start_date,amount\nc1,2024-01-01,10\n")
    code, _, err = run("movements", str(one), "--as-of", "2024-01-31")
    assert code == 0
    assert "mrrcli: 1 row read, 1 carries MRR" in err.splitlines()


def test_report_command_keeps_its_own_output_extensions(tmp_path: Path) -> None:
    # `report -o report.html` is the report command's own kind of file, not a table format.
    target = tmp_path / "board.xlsx"
    code, _, err = run("report", str(SPEC_EXAMPLE), *AS_OF, "-o", str(target))
    assert code == ExitCode.USAGE
    assert "cannot be written as" not in err  # the report command's own message instead
    assert not target.exists()


@pytest.mark.parametrize("quiet", [False, True])
def test_the_spinner_says_which_part_a_run_in_parts_reads(
    monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    # On a terminal, the spinner (shown once reading takes 2 s) says what the run does now:
    # the split, then each part in turn. With -q there is no spinner at all.
    told: list[str] = []

    class Status:
        def __init__(self, words: str) -> None:
            told.append(words)

        def start(self) -> None: ...

        def stop(self) -> None: ...

        def update(self, words: str) -> None:
            told.append(words)

    monkeypatch.setattr("rich.console.Console.status", lambda self, words, **_: Status(words))
    args = ["movements", str(SAMPLE_CSV), "--parts", "2", "--as-of", "2026-06-30", "-f", "csv"]
    result = CliRunner().invoke(app, args + ["-q"] * quiet, obj=Terminal(stderr_is_terminal=True))
    assert result.exit_code == 0, result.stderr
    expected = [
        f"reading {SAMPLE_CSV} …",
        "splitting 1 file into 2 parts by customer …",
        "reading part 1 of 2 …",
        "reading part 2 of 2 …",
    ]
    assert told == ([] if quiet else expected)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        # A TOML datetime, or a number, is not a day: it used to end in a TypeError.
        ("as_of = 2024-05-31T10:00:00", "as_of must be a day"),
        ("as_of = 20240531", "as_of must be a day"),
        ("from = 2024", 'from must be a month in quotes, e.g. "2026-01", not 2024'),
        ("output = 5", "output must be a string in quotes, not 5"),
        ("by = 3", "by must be a string in quotes"),
        # A quoted "no" is a non-empty string, which Python takes as true: it turned -q on.
        ('quiet = "no"', 'quiet must be true or false (no quotes), not "no"'),
        ('wide = "false"', "wide must be true or false"),
        ('max_age = "90"', "max_age must be a whole number of days, 0 or more"),
        ("days_per_month = true", "days_per_month must be a number"),
    ],
)
def test_a_config_setting_of_the_wrong_type_is_one_usage_line(
    in_tmp: Path, setting: str, message: str
) -> None:
    (in_tmp / "mrrcli.toml").write_text(setting + "\n")
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF)
    assert code == ExitCode.USAGE, err
    assert err == f"mrrcli: error: mrrcli.toml: {err.split('mrrcli.toml: ', 1)[1]}"
    assert message in err and err.count("\n") == 1
    assert "Error" not in err and out == ""


def test_config_settings_of_the_right_types_are_taken(in_tmp: Path) -> None:
    # A TOML date, booleans, a whole max_age and a whole days_per_month are all accepted: with
    # days_per_month = 30, February's expansion of 80 is 80 × 30 ÷ 29 = 82.758621.
    (in_tmp / "mrrcli.toml").write_text(
        "as_of = 2024-05-31\nquiet = true\nwide = false\nmax_age = 90\ndays_per_month = 30\n"
        'from = "2024-02"\nto = "2024-02"\n'
    )
    code, out, err = run("expansion", str(SPEC_EXAMPLE))
    assert code == ExitCode.OK, err
    assert err == ""  # quiet = true
    assert rows_of(out)[0]["expansion_mrr_daynorm"] == "82.758621"


def test_output_extension_on_the_command_line_wins_over_a_config_format(in_tmp: Path) -> None:
    # format = "json" in mrrcli.toml and -o report.csv on the command line: the command line
    # wins, and its -o says CSV by its extension (JSON was written under the .csv name).
    (in_tmp / "mrrcli.toml").write_text('format = "json"\n')
    code, _, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "report.csv", "-q")
    assert code == 0, err
    # The worked example's last month (SPEC §8): 2024-05, closing 175.00.
    assert rows_of((in_tmp / "report.csv").read_text())[-1]["closing_mrr"] == "175.00"
    # An extension that names no format keeps the config's; --format still wins over both.
    code, _, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "report.dat", "-q")
    assert code == 0, err
    assert json.loads((in_tmp / "report.dat").read_text())["rows"][-1]["closing_mrr"] == 175.0
    code, _, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "x.csv", "-f", "ndjson")
    assert json.loads((in_tmp / "x.csv").read_text().splitlines()[-1])["month"] == "2024-05"


def test_output_dash_is_stdout(in_tmp: Path) -> None:
    # `-o -` wrote a file named '-'; it is stdout, in the format asked or CSV in a pipe.
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "-", "-q")
    assert code == 0, err
    assert rows_of(out)[-1]["closing_mrr"] == "175.00"  # SPEC §8: May's closing
    code, out, err = run("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "-", "-f", "json", "-q")
    assert json.loads(out)["rows"][0]["new_mrr"] == 160.0  # January: A 100 + C 60
    assert list(in_tmp.iterdir()) == []
