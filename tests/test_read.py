"""Reading exports (SPEC §2, §2.5): files, globs, stdin, Parquet, headers, duplicates, errors.

Row numbers in error messages are spreadsheet rows: the header is row 1, the first data row 2.
"""

from __future__ import annotations

import io
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from mrrcli.errors import InputError
from mrrcli.report import load

MINIMAL = "customer_id,start_date,amount\n"


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def summary(paths: list[str], **options: object) -> list[tuple[str, date, int]]:
    """customer_id, start_date and mrr (minor units) of every row, in input order."""
    rows = load(paths, **options)  # type: ignore[arg-type]
    frame = rows.frame.sort("_file", "_row")
    return frame.select("customer_id", "start_date", "mrr").rows()


# --- encodings, line endings, headers ---------------------------------------------------------


def test_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    data = (
        b"\xef\xbb\xbfcustomer_id,start_date,amount\r\nc1,2024-01-01,10\r\nc2,2024-02-01,20.5\r\n"
    )
    path = write(tmp_path, "bom_crlf.csv", data)
    # 10 → 1000 cents; 20.5 → 2050 cents
    assert summary([path]) == [("c1", date(2024, 1, 1), 1000), ("c2", date(2024, 2, 1), 2050)]


def test_quoted_fields_with_commas_and_newlines(tmp_path: Path) -> None:
    data = (
        b"customer_id,start_date,amount,plan_id\r\n"
        b'"Acme, Inc.",2024-01-01,"1,200.00","pro\r\nannual"\r\n'
        b"c2,2024-01-01,5,basic\r\n"
    )
    path = write(tmp_path, "quoted.csv", data)
    rows = load([path])
    frame = rows.frame.sort("_row")
    assert frame.get_column("customer_id").to_list() == ["Acme, Inc.", "c2"]
    # "1,200.00" a month → 120000 cents; 5 → 500
    assert frame.get_column("mrr").to_list() == [120000, 500]
    # Rows are counted as records, not lines: the second record is row 3.
    assert frame.get_column("_row").to_list() == [2, 3]


def test_headers_match_case_and_space_insensitively(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "headers.csv",
        " Customer_ID ,START_DATE,  Amount,Interval \nc1,2024-01-01,1200,YEAR\n",
    )
    # 1200 a year ÷ 12 = 100.00
    assert summary([path]) == [("c1", date(2024, 1, 1), 10000)]


def test_map_names_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "mapped.csv", "Client,Began,Price,Every\nc1,2024-03-01,300,quarter\n")
    mapping = {"customer_id": "client", "start_date": " Began ", "amount": "PRICE"}
    mapping["interval"] = "Every"
    # 300 a quarter ÷ 3 = 100.00
    assert summary([path], mapping=mapping) == [("c1", date(2024, 3, 1), 10000)]


def test_missing_required_column_names_it_and_suggests_map(tmp_path: Path) -> None:
    path = write(tmp_path, "no_start.csv", "customer_id,begin,amount\nc1,2024-01-01,10\n")
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(path)
    assert "start_date" in message
    assert "--map" in message


def test_missing_amount_column(tmp_path: Path) -> None:
    path = write(tmp_path, "no_amount.csv", "customer_id,start_date,price\nc1,2024-01-01,10\n")
    with pytest.raises(InputError, match="amount"):
        load([path])


# --- several files, globs, stdin --------------------------------------------------------------


def test_several_files_are_concatenated(tmp_path: Path) -> None:
    first = write(tmp_path, "first.csv", MINIMAL + "c1,2024-01-01,10\n")
    # The second file has its columns in another order.
    second = write(tmp_path, "second.csv", "amount,customer_id,start_date\n20,c2,2024-02-01\n")
    rows = load([first, second])
    assert rows.files == [first, second]
    assert summary([first, second]) == [
        ("c1", date(2024, 1, 1), 1000),
        ("c2", date(2024, 2, 1), 2000),
    ]


def test_files_whose_columns_differ_are_an_error(tmp_path: Path) -> None:
    # SPEC §2: the columns of one run's files must agree. A yearly price in a file without an
    # interval column would otherwise be read as monthly.
    first = write(
        tmp_path, "first.csv", "customer_id,start_date,amount,interval\nc1,2024-01-01,1200,year\n"
    )
    second = write(tmp_path, "second.csv", MINIMAL + "c2,2024-01-01,1200\n")
    with pytest.raises(InputError) as error:
        load([first, second])
    assert second in str(error.value) and "interval" in str(error.value)


def test_glob_expands_sorted(tmp_path: Path) -> None:
    write(tmp_path, "part-2.csv", MINIMAL + "c2,2024-02-01,20\n")
    write(tmp_path, "part-1.csv", MINIMAL + "c1,2024-01-01,10\n")
    write(tmp_path, "other.csv", MINIMAL + "x,2024-01-01,99\n")
    rows = load([str(tmp_path / "part-*.csv")])
    assert [Path(f).name for f in rows.files] == ["part-1.csv", "part-2.csv"]
    assert sorted(rows.frame.get_column("customer_id").to_list()) == ["c1", "c2"]


def test_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no file matches"):
        load([str(tmp_path / "nothing-*.csv")])


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load([str(tmp_path / "absent.csv")])


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (MINIMAL + "c1,2024-01-01,12.34\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert summary(["-"]) == [("c1", date(2024, 1, 1), 1234)]


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    path = str(tmp_path / "typed.parquet")
    pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "start_date": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
            "end_date": [None, date(2024, 3, 1), None],
            "amount": [Decimal("1200.06"), Decimal("99.99"), Decimal("7.00")],
            "interval": ["year", "month", "week"],
            "quantity": [1, 2, 1],
        },
        schema_overrides={"amount": pl.Decimal(10, 2)},
    ).write_parquet(path)
    rows = load([path])
    frame = rows.frame.sort("customer_id")
    assert frame.get_column("start_date").to_list() == [
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 3, 1),
    ]
    assert frame.get_column("end_date").to_list() == [None, date(2024, 3, 1), None]
    # 1200.06 ÷ 12 = 100.005 → 100.01; 99.99 × 2 = 199.98; 7 a week × 30.4375 ÷ 7 = 30.44
    assert frame.get_column("mrr").to_list() == [10001, 19998, 3044]


def test_parquet_with_float_amounts_and_text_dates(tmp_path: Path) -> None:
    path = str(tmp_path / "floats.parquet")
    pl.DataFrame(
        {"customer_id": ["c1"], "start_date": ["2024-01-15"], "amount": [19.99]}
    ).write_parquet(path)
    # a float 19.99 is read as 19.99, not 19.989999…: 1999 cents
    assert summary([path]) == [("c1", date(2024, 1, 15), 1999)]


def test_parquet_with_integer_ids_categoricals_and_naive_timestamps(tmp_path: Path) -> None:
    path = str(tmp_path / "logical_types.parquet")
    pl.DataFrame(
        {
            "customer_id": [7, 8],
            "start_date": [datetime(2024, 1, 1, 10), datetime(2024, 1, 2)],
            "end_date": [datetime(2024, 3, 1), None],
            "amount": [10, 20],
            "interval": ["month", "year"],
            "interval_count": [1, 2],
            "quantity": [1.5, 2.0],
        }
    ).with_columns(
        pl.col("interval").cast(pl.Categorical), pl.col("end_date").cast(pl.Datetime("ms"))
    ).write_parquet(path)
    frame = load([path]).frame.sort("customer_id")
    assert frame.get_column("customer_id").to_list() == ["7", "8"]
    assert frame.get_column("start_date").to_list() == [date(2024, 1, 1), date(2024, 1, 2)]
    assert frame.get_column("end_date").to_list() == [date(2024, 3, 1), None]
    # 10 × 1.5 = 15.00; 20 × 2 ÷ 24 months = 1.666… → 1.67
    assert frame.get_column("mrr").to_list() == [1500, 167]


def test_ids_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, "zero_padded.csv", MINIMAL + "007,2024-01-01,1\n")
    assert summary([path]) == [("007", date(2024, 1, 1), 100)]


def test_parquet_and_csv_together(tmp_path: Path) -> None:
    parquet = str(tmp_path / "one.parquet")
    pl.DataFrame(
        {"customer_id": ["c1"], "start_date": [date(2024, 1, 1)], "amount": [10]}
    ).write_parquet(parquet)
    csv = write(tmp_path, "two.csv", MINIMAL + "c2,2024-02-01,20\n")
    assert summary([parquet, csv]) == [
        ("c1", date(2024, 1, 1), 1000),
        ("c2", date(2024, 2, 1), 2000),
    ]


# --- duplicates -------------------------------------------------------------------------------


DUPLICATED = MINIMAL + "c1,2024-01-01,10\nc1,2024-01-01,10\nc2,2024-01-01,10\n"


def test_identical_rows_are_counted_once(tmp_path: Path) -> None:
    rows = load([write(tmp_path, "duplicated.csv", DUPLICATED)])
    assert rows.duplicates == 1
    assert rows.read == 3
    assert rows.frame.height == 2
    # c1 once: 10.00 + c2 10.00 = 20.00 of MRR
    assert rows.frame.get_column("mrr").sum() == 2000


def test_keep_duplicates_counts_them_as_given(tmp_path: Path) -> None:
    rows = load([write(tmp_path, "duplicated.csv", DUPLICATED)], keep_duplicates=True)
    assert rows.duplicates == 0
    assert rows.frame.height == 3
    # c1 twice: 10 + 10 + c2 10 = 30.00
    assert rows.frame.get_column("mrr").sum() == 3000


def test_rows_differing_in_any_column_are_not_duplicates(tmp_path: Path) -> None:
    text = MINIMAL.replace("\n", ",note\n") + "c1,2024-01-01,10,a\nc1,2024-01-01,10,b\n"
    rows = load([write(tmp_path, "near_duplicates.csv", text)])
    assert rows.duplicates == 0
    assert rows.frame.height == 2


def test_ids_are_compared_and_reported_stripped_with_or_without_duplicates(tmp_path: Path) -> None:
    # The ids are stripped once, when duplicates are judged, and not again in normalize:
    # " c1 " and "c1" are one id either way, and a blank id is still empty.
    text = MINIMAL.replace("customer_id", "customer_id,subscription_id")
    text += " c1 , s1,2024-01-01,10\nc1,s1 ,2024-01-01,10\n\tc2,s2,2024-02-01,20\n"
    path = write(tmp_path, "spaced.csv", text)
    dropped = load([path])
    # rows 2 and 3 are one row once stripped: c1 10.00 + c2 20.00
    assert dropped.duplicates == 1
    assert sorted(dropped.frame.select("customer_id", "subscription_id", "mrr").rows()) == [
        ("c1", "s1", 1000),
        ("c2", "s2", 2000),
    ]
    kept = load([path], keep_duplicates=True)
    assert kept.duplicates == 0
    assert kept.frame.select("customer_id", "subscription_id", "mrr").sort("mrr").rows() == [
        ("c1", "s1", 1000),
        ("c1", "s1", 1000),
        ("c2", "s2", 2000),
    ]
    blank = write(tmp_path, "blank.csv", MINIMAL + "  ,2024-01-01,10\n")
    with pytest.raises(InputError, match=r"row 2.*customer_id is empty"):
        load([blank])


def test_typed_ids_are_stripped_when_text_and_compared_as_they_are_otherwise(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "typed.parquet")
    pl.DataFrame(
        {
            "customer_id": pl.Series([" c1", "c1 ", "c2"], dtype=pl.Categorical),
            "subscription_id": [7, 7, 8],
            "start_date": [date(2024, 1, 1)] * 3,
            "amount": [Decimal("10.00"), Decimal("10.0"), Decimal("5")],
        }
    ).write_parquet(path)
    rows = load([path])
    # " c1" and "c1 " are one customer, subscription 7 (an integer) compared as it is, and
    # 10.00 = 10.0 (SPEC §2.5): one duplicate; c1 10.00 + c2 5.00
    assert rows.duplicates == 1
    assert sorted(rows.frame.select("customer_id", "subscription_id", "mrr").rows()) == [
        ("c1", "7", 1000),
        ("c2", "8", 500),
    ]


def test_only_the_id_columns_with_spaces_are_stripped(tmp_path: Path) -> None:
    # A column is stripped only when some value has surrounding spaces (any Unicode space,
    # e.g. a no-break space): here subscription_id, not customer_id (Categorical, as it is).
    path = str(tmp_path / "one_spaced.parquet")
    pl.DataFrame(
        {
            "customer_id": pl.Series(["c1", "c1", "c2"], dtype=pl.Categorical),
            "subscription_id": ["s1\u00a0", "s1", "\u3000s2"],
            "start_date": [date(2024, 1, 1)] * 3,
            "amount": [Decimal("10"), Decimal("10"), Decimal("7.5")],
        }
    ).write_parquet(path)
    rows = load([path])
    # "s1<nbsp>" is "s1": rows 2 and 3 are one; c1 s1 10.00 and c2 s2 7.50
    assert rows.duplicates == 1
    assert sorted(rows.frame.select("customer_id", "subscription_id", "mrr").rows()) == [
        ("c1", "s1", 1000),
        ("c2", "s2", 750),
    ]


def test_the_same_file_twice_is_a_duplicate_export(tmp_path: Path) -> None:
    path = write(tmp_path, "once.csv", MINIMAL + "c1,2024-01-01,10\n")
    rows = load([path, path])
    assert rows.duplicates == 1
    assert rows.frame.get_column("mrr").to_list() == [1000]


# --- files with no data -----------------------------------------------------------------------


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.csv", "")
    with pytest.raises(InputError) as error:
        load([path])
    assert str(error.value).startswith(path)
    assert "empty" in str(error.value)


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "header_only.csv", MINIMAL)
    with pytest.raises(InputError) as error:
        load([path])
    assert str(error.value).startswith(path)
    assert "no data rows" in str(error.value)


def test_one_empty_file_among_several_is_an_error(tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", MINIMAL + "c1,2024-01-01,10\n")
    empty = write(tmp_path, "header_only.csv", MINIMAL)
    with pytest.raises(InputError) as error:
        load([good, empty])
    assert str(error.value).startswith(empty)


# --- bad values: file, row, column, how many others -------------------------------------------


def test_bad_amount_names_file_row_column_and_others(tmp_path: Path) -> None:
    text = MINIMAL + "c1,2024-01-01,10\nc2,2024-01-01,abc\nc3,2024-01-01,1x\nc4,2024-01-01,?\n"
    path = write(tmp_path, "bad_amount.csv", text)
    with pytest.raises(InputError) as error:
        load([path])
    # first bad value is on the second data row → spreadsheet row 3; two more rows share it
    assert str(error.value) == (
        f"{path}, row 3, column 'amount': cannot read 'abc' as an amount "
        "(2 other rows have the same problem)"
    )


def test_one_other_row_is_singular(tmp_path: Path) -> None:
    text = MINIMAL + "c1,2024-01-01,-1\nc2,2024-01-01,-2\n"
    path = write(tmp_path, "negative.csv", text)
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(f"{path}, row 2, column 'amount':")
    assert message.endswith("(1 other row has the same problem)")


def test_single_bad_row_mentions_no_others(tmp_path: Path) -> None:
    text = MINIMAL + "c1,2024-01-01,10\n,2024-01-01,10\n"
    path = write(tmp_path, "no_customer.csv", text)
    with pytest.raises(InputError) as error:
        load([path])
    message = str(error.value)
    assert message.startswith(f"{path}, row 3, column 'customer_id':")
    assert "other row" not in message


def test_bad_value_in_second_file_names_that_file(tmp_path: Path) -> None:
    first = write(tmp_path, "first.csv", MINIMAL + "c1,2024-01-01,10\nc2,2024-01-01,10\n")
    second = write(tmp_path, "second.csv", MINIMAL + "c3,2024-01-01,10\nc4,2024-01-01,ten\n")
    with pytest.raises(InputError) as error:
        load([first, second])
    assert str(error.value).startswith(f"{second}, row 3, column 'amount':")


def test_row_number_after_a_multiline_field(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("\n", ",plan_id\n") + 'c1,2024-01-01,10,"two\nlines"\nc2,2024-01-01,x,a\n'
    )
    path = write(tmp_path, "multiline.csv", text)
    with pytest.raises(InputError) as error:
        load([path])
    # the header is row 1, c1 row 2 (over two lines), c2 row 3
    assert str(error.value).startswith(f"{path}, row 3, column 'amount':")


def test_mapped_column_error_names_the_canonical_column(tmp_path: Path) -> None:
    path = write(tmp_path, "mapped_bad.csv", "Client,Began,Price\nc1,2024-01-01,lots\n")
    mapping = {"customer_id": "Client", "start_date": "Began", "amount": "Price"}
    with pytest.raises(InputError) as error:
        load([path], mapping=mapping)
    message = str(error.value)
    assert message.startswith(f"{path}, row 2, column ")
    assert "lots" in message


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("amount", [True, False], "column 'amount': holds Boolean values where numbers"),
        ("amount", [date(2024, 1, 1)] * 2, "column 'amount': holds Date values where numbers"),
        ("customer_id", [[1], [2]], "column 'customer_id': holds List(Int64) values where single"),
    ],
)
def test_parquet_column_of_a_wrong_type_names_file_column_and_type(
    tmp_path: Path, column: str, values: list[object], message: str
) -> None:
    # A Boolean amount used to reach the arithmetic as a raw Polars casting error.
    columns: dict[str, list[object]] = {
        "customer_id": ["a", "b"],
        "start_date": [date(2024, 1, 1)] * 2,
        "amount": [10, 20],
    }
    columns[column] = values
    path = tmp_path / "typed.parquet"
    pl.DataFrame(columns).write_parquet(path)
    with pytest.raises(InputError) as raised:
        load([str(path)])
    assert str(raised.value).startswith(f"{path}, {message}")


def test_missing_columns_keep_the_users_spelling_and_offer_a_map_to_paste(tmp_path: Path) -> None:
    import shlex

    from mrrcli.report import ReadOptions

    path = write(tmp_path, "cols.csv", "Cust ID,Start,Price\nc1,2024-01-01,10\n")
    with pytest.raises(InputError) as raised:
        load([path])
    message = str(raised.value)
    # Headers as the file writes them; the two close ones offered, quoted for a shell; Price
    # resembles no required column (and Account would not be offered for amount).
    assert "the file has Cust ID, Start, Price." in message
    suggestion = message.split("e.g. ")[1]
    assert suggestion == '--map customer_id="Cust ID" --map start_date=Start'
    # Pasted into a shell, with amount named too, the file reads: 10.00 a month.
    words = [*shlex.split(suggestion), "--map", "amount=Price"]
    mapping = dict(w.split("=", 1) for w in words if w != "--map")
    rows = load([path], ReadOptions(mapping=mapping))
    assert rows.frame.get_column("mrr").to_list() == [1000]


def test_map_suggestions_pair_only_related_headers() -> None:
    from mrrcli.read.problems import map_suggestions

    assert map_suggestions(["amount", "customer_id"], ["Account", "Customer"]) == [
        "--map customer_id=Customer"
    ]
    assert map_suggestions(["start_date"], ['Start "Date"']) == [
        '--map start_date="Start \\"Date\\""'
    ]


def test_few_values_are_recoded_like_replace_strict() -> None:
    from mrrcli.read.codes import recoded

    column = pl.Series("c", ["month", None, "year", "weird", "month"])
    # month → 1, year → 12, anything else (and null) → null; the same with 20 extra names,
    # which recodes through replace_strict instead of a chain of comparisons
    few = {"month": 1, "year": 12}
    many = {**few, **{f"name{i}": i for i in range(20)}}
    for mapping in (few, many):
        frame = column.to_frame().select(recoded(pl.col("c"), mapping, pl.UInt8))
        assert frame.columns == ["c"]
        assert frame.to_series().to_list() == [1, None, 12, None, 1]
        assert frame.dtypes == [pl.UInt8]
