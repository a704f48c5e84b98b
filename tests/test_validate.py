"""`mrrcli validate` end to end (SPEC §2.5, §7, §7.1).

validate reads an export the way the reports do and lists every problem, each with its file, its
spreadsheet rows, its column and how many rows share it. Exit 0 when clean, 1 when there are
errors, 0 when there are warnings only; `--format` works as for the reports; a summary of the
rows read and used goes to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from tests.conftest import SPEC_EXAMPLE

runner = CliRunner()
PROBLEM_COLUMNS = ["severity", "file", "rows", "column", "count", "problem"]

HEADER = "customer_id,subscription_id,start_date,end_date,amount,interval,status"
# Spreadsheet rows: the header is row 1.
MANY_PROBLEMS = [
    HEADER,
    "A,a1,2024-01-01,,10,month,active",  # 2  fine
    "B,b1,2024-13-01,,10,month,active",  # 3  bad date
    "C,c1,2024-01-01,,-5,month,active",  # 4  negative amount
    "D,d1,2024-01-01,,10,fortnight,active",  # 5  unknown interval
    "E,e1,2024-02-30,,10,month,active",  # 6  bad date again
    "F,f1,2024-01-01,,10,month,trialing",  # 7  trial row
    "G,g1,2024-01-01,,10,month,active",  # 8
    "G,g1,2024-01-01,,10,month,active",  # 9  duplicate of row 8
    "H,h1,2024-01-01,2024-06-01,10,month,active",  # 10
    "H,h1,2024-03-01,,20,month,active",  # 11 overlaps row 10
]
WARNINGS_ONLY = [
    HEADER,
    "A,a1,2024-01-01,,10,month,active",  # 2
    "F,f1,2024-01-01,,10,month,trialing",  # 3  trial row
    "G,g1,2024-01-01,,10,month,active",  # 4
    "G,g1,2024-01-01,,10,month,active",  # 5  duplicate of row 4
    "H,h1,2024-01-01,2024-06-01,10,month,active",  # 6
    "H,h1,2024-03-01,,20,month,active",  # 7  overlaps row 6
]


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def validate(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crashed: {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def problems_csv(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == PROBLEM_COLUMNS
    return list(reader)


def rows_in(value: object) -> set[int]:
    """The spreadsheet rows a problem names ("3, 6", "3, 6, …" or a JSON list)."""
    if isinstance(value, list):
        return {int(v) for v in value}
    return {int(n) for n in re.findall(r"\d+", str(value or ""))}


def find(problems: list[dict[str, str]], pattern: str) -> dict[str, str]:
    matching = [p for p in problems if re.search(pattern, p["problem"], re.IGNORECASE)]
    assert len(matching) == 1, f"{pattern!r}: {matching or problems}"
    return matching[0]


def test_clean_file_exits_0_with_no_problem_rows() -> None:
    code, out, err = validate(str(SPEC_EXAMPLE), "--format", "csv")
    assert code == 0, err
    assert problems_csv(out) == []
    assert "6 rows read" in err
    assert "6 used" in err
    assert "0 error" in err


def test_every_problem_is_listed_with_file_rows_column_and_count(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", MANY_PROBLEMS)
    code, out, err = validate("export.csv", "--format", "csv")
    assert code == 1, err
    problems = problems_csv(out)
    assert {p["file"] for p in problems} == {"export.csv"}
    expected = [
        # pattern, severity, rows, column(s) accepted, count
        (r"date", "error", {3, 6}, {"start_date"}, 2),
        (r"negative", "error", {4}, {"amount"}, 1),
        (r"interval", "error", {5}, {"interval"}, 1),
        (r"identical|duplicate", None, {9}, None, 1),
        (r"trial", "warning", {7}, {"status"}, 1),
        (r"overlap", "warning", {11}, {"start_date", "end_date", "subscription_id"}, 1),
    ]
    missing = [e[0] for e in expected if not any(re.search(e[0], p["problem"]) for p in problems)]
    assert not missing, f"not listed: {missing}; listed: {[p['problem'] for p in problems]}"
    for pattern, severity, rows, columns, count in expected:
        problem = find(problems, pattern)
        if severity is not None:
            assert problem["severity"] == severity, problem
        assert rows_in(problem["rows"]) == rows, problem
        if columns is not None:
            assert problem["column"] in columns, problem
        assert int(problem["count"]) == count, problem
    assert err.count("\n") == 1, err  # the summary
    assert "10 rows read" in err
    assert re.search(r"\b3 error", err), err


def test_errors_come_first(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", MANY_PROBLEMS)
    _, out, _ = validate("export.csv", "--format", "csv")
    severities = [p["severity"] for p in problems_csv(out)]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert set(severities) <= {"error", "warning"}


def test_warnings_only_exit_0(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", WARNINGS_ONLY)
    code, out, err = validate("export.csv", "--format", "csv")
    assert code == 0, err
    problems = problems_csv(out)
    assert problems, "the warnings are listed"
    assert {p["severity"] for p in problems} == {"warning"}
    for pattern in (r"identical|duplicate", r"trial", r"overlap"):
        find(problems, pattern)
    # 6 rows read; one duplicate counted once and one trial row leave 4 used.
    assert "6 rows read" in err
    assert "4 used" in err
    assert "0 error" in err


def test_warnings_name_their_rows(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", WARNINGS_ONLY)
    _, out, _ = validate("export.csv", "--format", "csv")
    problems = problems_csv(out)
    assert rows_in(find(problems, r"identical|duplicate")["rows"]) == {5}
    assert rows_in(find(problems, r"trial")["rows"]) == {3}
    assert rows_in(find(problems, r"overlap")["rows"]) == {7}


def test_json_shape(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", MANY_PROBLEMS)
    code, out, _ = validate("export.csv", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert set(document) == {"meta", "rows"}
    assert document["meta"]["inputs"] == ["export.csv"]
    assert document["meta"]["rows_read"] == 10
    assert document["meta"]["errors"] == 3
    assert document["rows"], "problems are listed"
    for row in document["rows"]:
        assert list(row) == PROBLEM_COLUMNS
        assert isinstance(row["count"], int)
    dates = [r for r in document["rows"] if r["column"] == "start_date" and r["count"] == 2]
    assert len(dates) == 1
    assert rows_in(dates[0]["rows"]) == {3, 6}


def test_ndjson_and_csv_agree(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", MANY_PROBLEMS)
    _, csv_out, _ = validate("export.csv", "--format", "csv")
    code, ndjson_out, _ = validate("export.csv", "--format", "ndjson")
    assert code == 1
    lines = [json.loads(line) for line in ndjson_out.splitlines()]
    from_csv = problems_csv(csv_out)
    assert len(lines) == len(from_csv)
    for got, want in zip(lines, from_csv, strict=True):
        assert list(got) == PROBLEM_COLUMNS
        assert str(got["count"]) == want["count"]
        assert got["problem"] == want["problem"]


def test_problems_name_the_file_they_are_in(in_tmp: Path) -> None:
    write(in_tmp, "good.csv", WARNINGS_ONLY[:2])
    write(in_tmp, "bad.csv", [HEADER, "B,b1,2024-01-01,,-5,month,active"])
    code, out, err = validate("good.csv", "bad.csv", "--format", "csv")
    assert code == 1, err
    problems = problems_csv(out)
    negative = find(problems, r"negative")
    assert negative["file"] == "bad.csv"
    assert rows_in(negative["rows"]) == {2}
    assert negative["column"] == "amount"


def test_missing_required_column_is_listed(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", ["customer_id,amount", "A,10"])
    code, out, err = validate("export.csv", "--format", "csv")
    assert code == 1, err
    problems = problems_csv(out)
    assert any("start_date" in (p["column"] or "") + p["problem"] for p in problems), problems
    assert all(p["file"] == "export.csv" for p in problems)


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.csv", b""), ("header_only.csv", (HEADER + "\n").encode())],
    ids=["zero_bytes", "header_only"],
)
def test_a_file_with_no_data_rows_is_an_error(name: str, content: bytes, in_tmp: Path) -> None:
    (in_tmp / name).write_bytes(content)
    code, out, err = validate(name, "--format", "csv")
    assert code == 1
    assert "Traceback" not in err
    assert name in out + err


def test_output_file(in_tmp: Path) -> None:
    write(in_tmp, "export.csv", MANY_PROBLEMS)
    code, out, _ = validate("export.csv", "--output", "problems.json")
    assert code == 1
    assert out == ""
    document = json.loads((in_tmp / "problems.json").read_text())
    assert document["meta"]["errors"] == 3
    assert sorted(p.name for p in in_tmp.iterdir()) == ["export.csv", "problems.json"]


def test_problems_in_row_order_and_rows_used_counted_despite_errors() -> None:
    from mrrcli.report import validate
    from tests.conftest import FIXTURES

    path = str(FIXTURES / "bad" / "several_problems.csv")
    result = validate([path])
    # Rows 3 (month 13), 4 (end before start), 5 (negative amount), 6 (fortnight) are errors,
    # row 7 repeats row 2: listed by row. Row 2 (A, 10 a month) is fine: 1 used, not 0.
    frame = result.frame()
    assert frame.get_column("rows").to_list() == ["3", "4", "5", "6", "7"]
    assert frame.get_column("severity").to_list() == ["error"] * 4 + ["warning"]
    assert (result.read, result.used) == (6, 1)
