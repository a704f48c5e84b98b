"""Fuzzing the reader: whatever bytes arrive, mrrcli either reports or refuses (SPEC §2.5).

Every run of `load` + `movements` either succeeds — and then every month reconciles
(opening + new + expansion + reactivation − contraction − churned = closing, each closing is the
next opening, no MRR below zero) — or raises MrrError (InputError, UsageError). Any other
exception is a crash the command line could only turn into a vague message.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.errors import MrrError
from mrrcli.report import Settings, load, movements
from mrrcli.vocabulary import Level, Mode, Scope

AS_OF = date(2024, 12, 31)
FAST = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MONEY = (
    "opening_mrr",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "closing_mrr",
)

REQUIRED = ("customer_id", "start_date", "amount")
OPTIONAL = (
    "subscription_id",
    "end_date",
    "currency",
    "interval",
    "interval_count",
    "quantity",
    "discount_percent",
    "discount_amount",
    "status",
    "plan_id",
    "monthly_amount",
    "mrr",
    "notes",  # not canonical: carried along, decides duplicates
)
ISO_DATES = [
    "2024-01-01",
    "2024-02-29",
    "2024-03-31",
    "2024-07-15",
    "2024-12-31",
    "2025-01-01",
    "2023-06-30",
    "1970-01-01",
    "9999-12-31",
]
TIMESTAMPS = [
    "2024-01-31T23:30:00-05:00",
    "2024-03-10 02:30",  # a wall time that does not exist in New York
    "2024-05-01T00:00:00Z",
    "2024-06-01 12:00:00 PST",
]
# Plain dates weigh more: a file with any timestamp takes the slower parsing path.
DATES = ISO_DATES * 4 + TIMESTAMPS
# 0001-01-01 is valid but makes 24,000 months: hostile exports only, to keep the run fast.
BAD_DATES = [
    "0001-01-01",
    "01/02/2024",
    "13/02/2024",
    "2024-13-01",
    "2024-02-30",
    "nope",
    "20240101",
    "-",
]
NUMBERS = ["0", "1", "3", "10", "12.5", "99.99", "1,200.50", "$5", "1e3", "0.0000001", "100"]
BAD_NUMBERS = [
    "-1",
    "-0",
    "1e15",
    "999999999999",
    "9999999",
    "NaN",
    "inf",
    "12,50",
    "abc",
    "150",
    "1e400",
    "0x10",
    "１０",  # full-width digits
]
TEXT = {
    "currency": ["USD", "usd", "JPY", "KWD", "BHD", "", "EUR", "XYZ", "US", "€"],
    "interval": ["month", "monthly", "Years", "week", "day", "quarter", "", "fortnight", "0"],
    "status": ["active", "trialing", "In Trial", "canceled", "past_due", ""],
    "ids": ["A", "B", "C", "a,b", 'q"q', " A ", "é", "0", "A\nB"],
}


def cells(column: str, hostile: bool) -> st.SearchStrategy[str]:
    """Values for one column: plausible ones, and for a hostile export also implausible ones
    and any text at all."""
    if column in ("start_date", "end_date"):
        plausible, implausible = DATES + ([""] if column == "end_date" else []), BAD_DATES
    elif column in ("currency", "interval", "status"):
        plausible, implausible = TEXT[column], []
    elif column in ("customer_id", "subscription_id", "plan_id", "notes"):
        plausible, implausible = TEXT["ids"], ["", "\t", " "]
    else:
        plausible, implausible = NUMBERS + ([""] if column != "amount" else []), BAD_NUMBERS
    if column == "currency" and not hostile:
        plausible = ["USD", "usd", "USD "]  # one currency: no --fx needed
    if not hostile:
        return st.sampled_from(plausible)
    choices = [st.sampled_from(plausible)] * 6
    if implausible:
        choices.append(st.sampled_from(implausible))
    choices.append(st.text(max_size=12))
    return st.one_of(choices)


@st.composite
def exports(draw: st.DrawFn) -> bytes:
    """A CSV export: a random subset of the headers in random order, a few random rows.

    Six in ten hold plausible values only, so that many runs get through to a report whose
    numbers can be checked; in the rest one column is hostile (implausible values, any text)
    and a required column may be missing.
    """
    hostile = draw(st.integers(0, 9)) < 4
    required = [c for c in REQUIRED if not hostile or draw(st.integers(0, 9)) > 0]
    optional = draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=6))
    columns = draw(st.permutations(required + optional))
    target = draw(st.sampled_from(columns)) if hostile and columns else None
    spelled = [
        draw(st.sampled_from([c, c.upper(), f" {c} ", c.title()])) for c in columns
    ]  # header matching ignores case and surrounding spaces
    rows = draw(
        st.lists(
            st.tuples(*[cells(c, c == target) for c in columns]) if columns else st.just(()),
            min_size=0 if hostile else 1,
            max_size=8,
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(spelled)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def check_report(path: Path, settings: Settings | None = None) -> None:
    """Load and report; a refusal is fine, a report must reconcile, anything else fails."""
    try:
        rows = load([str(path)])
        frame = movements(rows, settings or Settings(as_of=AS_OF)).frame
    except MrrError:
        return
    if frame.height == 0:
        return
    missing = frame.select(pl.col(c).null_count() for c in MONEY).row(0)
    assert not any(missing), f"a money column has a missing value:\n{frame}"
    identity = frame.select(
        (
            pl.col("opening_mrr")
            + pl.col("new_mrr")
            + pl.col("expansion_mrr")
            + pl.col("reactivation_mrr")
            - pl.col("contraction_mrr")
            - pl.col("churned_mrr")
            == pl.col("closing_mrr")
        ).all()
    ).item()
    assert identity, f"the movement identity fails:\n{frame}"
    chained = frame.select(
        (pl.col("opening_mrr").slice(1) == pl.col("closing_mrr").slice(0, frame.height - 1)).all()
    ).item()
    assert frame.height == 1 or chained, f"a closing is not the next opening:\n{frame}"
    negative = frame.select(pl.any_horizontal(pl.col(c) < 0 for c in MONEY).any()).item()
    assert not negative, f"MRR below zero (an overflow?):\n{frame}"
    assert frame.get_column("opening_mrr")[0] == 0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FAST
@given(
    data=st.binary(max_size=400), prefix=st.sampled_from([b"", b"customer_id,start_date,amount\n"])
)
@example(data=b"\x00\x01\xff\xfe\x89PNG\x00\n\x00\x00\n", prefix=b"")
@example(data=b"A,2024-01-01,10\n\xe9\n", prefix=b"customer_id,start_date,amount\n")
@example(data=b'A,2024-01-01,"10\n', prefix=b"customer_id,start_date,amount\n")
def test_random_bytes_report_or_refuse(data: bytes, prefix: bytes, folder: Path) -> None:
    path = folder / "bytes.csv"
    path.write_bytes(prefix + data)
    check_report(path)


# Found by reasoning about the limits rather than by luck: each value is inside its own limit
# (amount < 10^12, quantity < 10^7), yet the MRR in cents does not fit in 64 bits.
KNOWN_HARD = {
    "row_mrr_overflow": "customer_id,start_date,amount,quantity\n"
    "A,2024-01-01,999999999999,9999999\n",
    "sum_overflow": "customer_id,start_date,amount,quantity\n"
    + "".join(f"C{i},2024-01-01,999999999999,9000\n" for i in range(12)),
    "mixed_date_orders": "customer_id,start_date,amount\nA,2024-01-01,10\nB,13/02/2024,10\n",
}


@pytest.mark.parametrize("name", list(KNOWN_HARD), ids=list(KNOWN_HARD))
def test_known_hard_exports_report_or_refuse(name: str, folder: Path) -> None:
    path = folder / f"{name}.csv"
    path.write_text(KNOWN_HARD[name])
    check_report(path)


@FAST
@given(
    export=exports(),
    mode=st.sampled_from(["event", "snapshot"]),
    level=st.sampled_from(["customer", "subscription"]),
    scope=st.sampled_from(["strict", "broad"]),
)
def test_random_exports_report_or_refuse(
    export: bytes, mode: Mode, level: Level, scope: Scope, folder: Path
) -> None:
    path = folder / "export.csv"
    path.write_bytes(export)
    check_report(path, Settings(as_of=AS_OF, mode=mode, level=level, scope=scope))


runner = CliRunner()


@settings(FAST, max_examples=25)
@given(export=exports())
def test_random_exports_through_the_command_line(export: bytes, folder: Path) -> None:
    """The command line: CSV and exit 0, or one line on stderr, exit 1 or 2, nothing on
    stdout. Never a crash or the catch-all for exceptions nobody foresaw."""
    path = folder / "cli.csv"
    path.write_bytes(export)
    result = runner.invoke(app, ["movements", str(path), "--as-of", "2024-12-31", "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code == 0:
        assert result.stdout.startswith("month,days,opening_mrr,")
        return
    assert result.exit_code in (1, 2), result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "--debug" not in result.stderr, result.stderr
