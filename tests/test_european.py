"""European spreadsheets (SPEC §2.5): `;` and tab delimiters, detected from the header line or
named with --delimiter, amounts with a decimal comma read with --decimal-comma, and errors that
name the option that reads the file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import InputError
from mrrcli.present.terminal import Terminal
from mrrcli.read.european import detect_delimiter, from_decimal_comma
from mrrcli.read.files import read_table
from tests.conftest import FIXTURES

EUROPEAN = FIXTURES / "european" / "semicolon_decimal_comma.csv"
AS_OF = ["--as-of", "2024-02-29"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), obj=Terminal())
    return result.exit_code, result.stdout, result.stderr


def closing(out: str) -> list[tuple[str, str, str]]:
    return [(r["month"], r["new_mrr"], r["closing_mrr"]) for r in csv.DictReader(io.StringIO(out))]


def test_semicolon_file_with_decimal_commas_gives_hand_computed_mrr() -> None:
    # c1: 49,00 a month → 49.00; c2: 1.234,50 a year → 1234.50 / 12 = 102.875 → 102.88 (half
    # away from zero). Both start in January: new 151.88, closing 151.88 in Jan and Feb.
    code, out, err = run("movements", str(EUROPEAN), *AS_OF, "--decimal-comma")
    assert code == 0, err
    assert closing(out) == [("2024-01", "151.88", "151.88"), ("2024-02", "0.00", "151.88")]


def test_delimiter_given_by_name_reads_the_same(tmp_path: Path) -> None:
    # The same rows with tabs: `--delimiter tab` (and detection) give the same 151.88.
    tabbed = tmp_path / "tabbed.csv"
    tabbed.write_text(EUROPEAN.read_text().replace(";", "\t"))
    for extra in ([], ["--delimiter", "tab"]):
        code, out, err = run("movements", str(tabbed), *AS_OF, "--decimal-comma", *extra)
        assert code == 0, err
        assert closing(out)[-1] == ("2024-02", "0.00", "151.88")


def test_options_from_the_config_file(in_tmp: Path) -> None:
    (in_tmp / "mrrcli.toml").write_text('delimiter = ";"\ndecimal-comma = true\n')
    code, out, err = run("movements", str(EUROPEAN), *AS_OF)
    assert code == 0, err
    assert closing(out)[0] == ("2024-01", "151.88", "151.88")


def test_decimal_comma_amount_error_names_the_option() -> None:
    code, out, err = run("movements", str(EUROPEAN), *AS_OF)
    assert code == 1 and out == ""
    assert err.strip() == (
        f"mrrcli: error: {EUROPEAN}, row 2, column 'amount': cannot read '49,00' as an amount "
        "(a decimal comma? --decimal-comma reads it) (1 other row has the same problem)"
    )


def test_semicolon_file_read_with_commas_names_the_delimiter_option() -> None:
    code, _, err = run("movements", str(EUROPEAN), *AS_OF, "--delimiter", ",", "--decimal-comma")
    assert code == 1
    assert "the header is one field" in err
    assert "--delimiter ';' reads it" in err
    assert len(err.strip().splitlines()) == 1


def test_a_row_of_one_field_names_the_delimiter_option(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("customer_id,start_date,amount\nc1,2024-01-01,10\nc2;2024-01-01;10\n")
    code, _, err = run("movements", str(mixed), *AS_OF)
    assert code == 1
    assert f"{mixed}, row 3: 1 field where the header has 3" in err
    assert "--delimiter ';'" in err


def test_unknown_delimiter_is_a_usage_error() -> None:
    code, _, err = run("movements", str(EUROPEAN), *AS_OF, "--delimiter", "x")
    assert code == 2
    assert "--delimiter must be one of , ; | tab" in err


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"a,b,c\n1;2,3", ","),
        (b"a;b;c\n", ";"),
        (b"\xef\xbb\xbfa\tb\tc\r\n", "\t"),
        (b"a|b|c", "|"),
        (b'"x;y",b,c\n', ","),  # a delimiter inside quotes does not count
        (b"single\n", ","),
    ],
)
def test_delimiter_detected_from_the_header_line(header: bytes, expected: str) -> None:
    assert detect_delimiter(header) == expected


def test_decimal_comma_rewrites_only_european_numbers() -> None:
    values = ["49,00", "1.234,50", "1 234,5", "12", "49.00", "1,200.50", "-3,5", "abc", None]
    frame = pl.DataFrame({"amount": values}).with_columns(from_decimal_comma(["amount"]))
    # Grouped thousands lose their dots or spaces, the comma becomes a point; a value written
    # another way ("49.00", "1,200.50") is left as it is so an error shows it as written.
    assert frame.get_column("amount").to_list() == [
        "49.00",
        "1234.50",
        "1234.5",
        "12",
        "49.00",
        "1,200.50",
        "-3.5",
        "abc",
        None,
    ]


def test_a_leading_zero_is_no_group_of_thousands(tmp_path: Path) -> None:
    # With --decimal-comma, `0.005` cannot be grouped thousands (a group never leads with 0):
    # it is read with its decimal point, 0.005 × 1000 seats = 5.00, never 5 × 1000 = 5000.00.
    # `1.234,5` is European: 1234.5 a year → 1234.5 / 12 = 102.875 → 102.88.
    # `0,125` is European: 0.125 × 8 seats = 1.00. New and closing: 5.00 + 102.88 + 1.00.
    path = tmp_path / "units.csv"
    path.write_text(
        "customer_id;start_date;amount;quantity;interval\n"
        "A;2024-01-01;0.005;1000;month\n"
        "B;2024-01-01;1.234,5;1;year\n"
        "C;2024-01-01;0,125;8;month\n"
    )
    code, out, err = run("movements", str(path), *AS_OF, "--decimal-comma", "-f", "csv")
    assert code == 0, err
    assert closing(out) == [("2024-01", "108.88", "108.88"), ("2024-02", "0.00", "108.88")]
    values = ["0.005", "0.500", "-0.125", "0,5", "1.000", "10.000,5"]
    frame = pl.DataFrame({"amount": values}).with_columns(from_decimal_comma(["amount"]))
    assert frame.get_column("amount").to_list() == [
        "0.005",
        "0.500",
        "-0.125",
        "0.5",
        "1000",
        "10000.5",
    ]


def test_a_decimal_comma_after_a_zero_is_never_read_as_thousands(tmp_path: Path) -> None:
    # Without --decimal-comma, `0,125` is no grouped thousands (a group never leads with 0):
    # it was read as 125, so 8 seats at 0,125 made 1000.00 MRR instead of 1.00. It is now an
    # error naming the option that reads it; with the option, 0.125 × 8 = 1.00.
    path = tmp_path / "seats.csv"
    path.write_text("customer_id;start_date;amount;quantity\nA;2024-01-01;0,125;8\n")
    code, out, err = run("movements", str(path), *AS_OF, "-f", "csv")
    assert (code, out) == (1, "")
    assert "row 2, column 'amount': cannot read '0,125'" in err
    assert "--decimal-comma reads it" in err
    code, out, err = run("movements", str(path), *AS_OF, "--decimal-comma", "-f", "csv")
    assert code == 0, err
    assert closing(out) == [("2024-01", "1.00", "1.00"), ("2024-02", "0.00", "1.00")]
    # An FX rate of `0,007` was read as 7: ¥1000 became 7000.00 USD (with $10, 7010.00).
    # It is now an error naming the rates file, row and column, never a number.
    (tmp_path / "fx.csv").write_text('date,currency,rate\n2024-01-01,JPY,"0,007"\n')
    export = tmp_path / "yen.csv"
    export.write_text("customer_id,start_date,amount,currency\nA,2024-01-05,10,USD\n")
    with export.open("a") as handle:
        handle.write("X,2024-01-05,1000,JPY\n")
    code, out, err = run("movements", str(export), *AS_OF, "--fx", str(tmp_path / "fx.csv"))
    assert (code, out) == (1, "")
    assert "fx.csv, row 2, column 'rate'" in err


def test_read_table_with_an_explicit_delimiter(tmp_path: Path) -> None:
    piped = tmp_path / "piped.csv"
    piped.write_text("customer_id|amount\nc1|5\n")
    table = read_table([str(piped)], ("customer_id", "amount"), delimiter="|")
    assert table.frame.select("customer_id", "amount").rows() == [("c1", "5")]
    with pytest.raises(InputError, match=re.escape("--delimiter '|' reads it")):
        read_table([str(piped)], ("customer_id", "amount"), delimiter=";")
