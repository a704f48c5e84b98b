"""Segments (SPEC §9): `--by COLUMN`, `--attributes FILE`, the allocation of each change over
segments, the identities, whole and in parts, and a plain second implementation."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import RefSettings
from segment_reference import monthly_by_segment, segment_allocations, shares
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.segment_totals import check_segment_identities
from mrrcli.engine.totals import IdentityError
from mrrcli.report import customers, load, metrics, movements
from mrrcli.vocabulary import Level, Mode, Scope, Settings

ROOT = Path(__file__).parent
PLANS = ROOT / "fixtures" / "spec_example_plans.csv"
AS_OF = ["--as-of", "2024-05-31"]
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def table(text: str, *columns: str) -> list[tuple[str, ...]]:
    return [tuple(r[c] for c in columns) for r in csv.DictReader(io.StringIO(text))]


FLOWS = ("month", "segment", "opening_mrr", "new_mrr", "expansion_mrr", "reactivation_mrr")
FLOWS += ("contraction_mrr", "churned_mrr", "moved_in_mrr", "moved_out_mrr", "closing_mrr")


def test_the_worked_example_by_plan() -> None:
    """SPEC §8 with plans: A basic 100 → pro 180 on 2024-02-10; B yearly 1200/yr (100/mo)
    and a two-week add-on of 40; C monthly 60 Jan 3–Feb 3, back on monthly2 at 75 in May."""
    code, out, err = run("movements", str(PLANS), *AS_OF, "--by", "plan_id", "-f", "csv")
    assert code == 0, err
    assert next(csv.reader(io.StringIO(out)))[:2] == ["month", "segment"]
    # By hand: January A basic new 100, C monthly new 60. February: A kept 100 and moved it
    # basic → pro (moved_out 100 / moved_in 100) and expanded 80 in pro; B yearly new 100;
    # C churned 60 in monthly. March: B's add-on expands 40 and contracts 40 in addon.
    # April: A churns 180 in pro. May: C reactivates 75 in monthly2. Segments without MRR or
    # flow in a month have no row.
    z = "0.00"
    assert table(out, *FLOWS) == [
        ("2024-01", "basic", z, "100.00", z, z, z, z, z, z, "100.00"),
        ("2024-01", "monthly", z, "60.00", z, z, z, z, z, z, "60.00"),
        ("2024-02", "basic", "100.00", z, z, z, z, z, z, "100.00", z),
        ("2024-02", "monthly", "60.00", z, z, z, z, "60.00", z, z, z),
        ("2024-02", "pro", z, z, "80.00", z, z, z, "100.00", z, "180.00"),
        ("2024-02", "yearly", z, "100.00", z, z, z, z, z, z, "100.00"),
        ("2024-03", "addon", z, z, "40.00", z, "40.00", z, z, z, z),
        ("2024-03", "pro", "180.00", z, z, z, z, z, z, z, "180.00"),
        ("2024-03", "yearly", "100.00", z, z, z, z, z, z, z, "100.00"),
        ("2024-04", "pro", "180.00", z, z, z, z, "180.00", z, z, z),
        ("2024-04", "yearly", "100.00", z, z, z, z, z, z, z, "100.00"),
        ("2024-05", "monthly2", z, z, z, "75.00", z, z, z, z, "75.00"),
        ("2024-05", "yearly", "100.00", z, z, z, z, z, z, z, "100.00"),
    ]
    # net_new_mrr of a segment is closing − opening: basic in February 0 − 100.
    assert table(out, "month", "segment", "net_new_mrr")[2] == ("2024-02", "basic", "-100.00")


def _export(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "export.csv"
    path.write_text("customer_id,subscription_id,plan_id,start_date,end_date,amount\n")
    with path.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    return str(path)


def _flows(path: str, month: str, **read: object) -> dict[str, dict[str, int]]:
    rows = load([path], by="plan_id", **read)  # type: ignore[arg-type]
    frame = movements(rows, Settings(as_of=date(2024, 3, 31))).frame
    out: dict[str, dict[str, int]] = {}
    for row in frame.filter(pl.col("month") == month).iter_rows(named=True):
        out[row["segment"]] = {
            k.removesuffix("_mrr"): round(float(v) * 100)
            for k, v in row.items()
            if k.endswith("_mrr")
            and k not in ("opening_mrr", "closing_mrr", "net_new_mrr")
            and float(v) != 0
        }
    return out


def test_the_examples_of_section_9(tmp_path: Path) -> None:
    path = _export(
        tmp_path,
        [
            # Starter 29 → Team 49 on March 10.
            "s,s1,Starter,2024-01-05,2024-03-10,29",
            "s,s1,Team,2024-03-10,,49",
            # Business 89 → Team 49 on March 12.
            "b,b1,Business,2024-01-07,2024-03-12,89",
            "b,b1,Team,2024-03-12,,49",
            # Same price: Starter 29 → Basic 29 on March 15.
            "p,p1,Starter,2024-01-09,2024-03-15,29",
            "p,p1,Basic,2024-03-15,,29",
        ],
    )
    # By hand, in cents: Starter moved_out 2900 (s) + 2900 (p); Team moved_in 2900 (s) +
    # 4900 (b) and expansion 2000 (s: 49 − 29); Business moved_out 4900 and contraction
    # 4000 (89 − 49); Basic moved_in 2900 (p), a pure transfer.
    assert _flows(path, "2024-03") == {
        "Basic": {"moved_in": 2900},
        "Business": {"contraction": 4000, "moved_out": 4900},
        "Starter": {"moved_out": 5800},
        "Team": {"expansion": 2000, "moved_in": 7800},
    }


def test_a_three_way_split_with_a_largest_remainder_tie(tmp_path: Path) -> None:
    """X 1.00 becomes A, B and C at 1.00 each on March 1. T = min(P 300, N 100) = 100 cents
    shared over A, B, C in proportion 1:1:1: 33 each, remainders equal, the one cent left goes
    to A, the first in sort order. Expansion is the rest: 66, 67, 67 (= 300 − 100 in all)."""
    path = _export(
        tmp_path,
        [
            "k,x,X,2024-01-01,2024-03-01,1",
            "k,a,A,2024-03-01,,1",
            "k,b,B,2024-03-01,,1",
            "k,c,C,2024-03-01,,1",
        ],
    )
    assert _flows(path, "2024-03") == {
        "A": {"moved_in": 34, "expansion": 66},
        "B": {"moved_in": 33, "expansion": 67},
        "C": {"moved_in": 33, "expansion": 67},
        "X": {"moved_out": 100},
    }
    # The losing side shares when N > P: A, B, C (1.00 each) become X at 1.00. T = 100 over
    # A, B, C: 34, 33, 33 moved_out, contraction 66, 67, 67.
    assert shares(100, {"A": 100, "B": 100, "C": 100}) == {"A": 34, "B": 33, "C": 33}
    # Unequal remainders: 10 over 1:2 → 3.33, 6.67: the larger remainder gets the cent.
    assert shares(10, {"A": 1, "B": 2}) == {"A": 3, "B": 7}


def test_customers_by_segment_lists_the_transfers() -> None:
    rows = load([str(PLANS)], by="plan_id")
    frame = customers(rows, Settings(as_of=date(2024, 5, 31)), month="2024-02").frame
    assert frame.columns[:5] == ["date", "month", "customer_id", "segment", "movement"]
    # February, largest first: A pro moved_in 100 and basic moved_out 100, B yearly new 100,
    # A pro expansion 80, C monthly churn 60.
    got = [
        (r["customer_id"], r["segment"], r["movement"], str(r["amount"]))
        for r in frame.rows(named=True)
    ]
    assert sorted(got) == sorted(
        [
            ("A", "basic", "moved_out", "100.00"),
            ("A", "pro", "moved_in", "100.00"),
            ("A", "pro", "expansion", "80.00"),
            ("B", "yearly", "new", "100.00"),
            ("C", "monthly", "churn", "60.00"),
        ]
    )


def test_segment_metrics_count_transfers_as_retained() -> None:
    rows = load([str(PLANS)], by="plan_id")
    frame = metrics(rows, Settings(as_of=date(2024, 5, 31))).frame
    feb = {r["segment"]: r for r in frame.filter(pl.col("month") == "2024-02").rows(named=True)}
    # basic: A paid 100 at the opening and moved it all out: retained = 0 + 100 − 0 = 100,
    # NRR 1, GRR 1. monthly: C churned: NRR 0. pro: nobody paid in it at the opening: empty.
    assert (feb["basic"]["nrr"], feb["basic"]["grr"]) == (1.0, 1.0)
    assert (feb["monthly"]["nrr"], feb["monthly"]["grr"]) == (0.0, 0.0)
    assert feb["pro"]["nrr"] is None
    # ARPA of pro: 180 over one customer; basic closes at 0 with no customer: empty.
    assert str(feb["pro"]["arpa"]) == "180.00" and feb["basic"]["arpa"] is None
    assert (feb["pro"]["customers_closing"], feb["basic"]["customers_opening"]) == (1, 1)


def test_whole_and_in_parts_give_the_same_frames() -> None:
    settings = Settings(as_of=date(2024, 5, 31))
    whole = load([str(PLANS)], by="plan_id")
    split = load([str(PLANS)], by="plan_id", parts=3)
    assert len(split.parts) > 1
    for report in (movements, metrics, customers):
        assert report(whole, settings).frame.equals(report(split, settings).frame)


def test_a_broken_segment_identity_is_caught() -> None:
    rows = load([str(PLANS)], by="plan_id")
    settings = Settings(as_of=date(2024, 5, 31))
    combined = combine([partial(rows.frame, settings, Needs(segments=True))], settings)
    assert combined.segments is not None
    good = combined.segments.flows
    check_segment_identities(good, combined.movements)
    bad = good.with_columns(
        pl.when(pl.col("segment") == "pro")
        .then(pl.col("moved_in_mrr") + 1)
        .otherwise(pl.col("moved_in_mrr"))
    )
    with pytest.raises(IdentityError, match="segment identity fails"):
        check_segment_identities(bad, combined.movements)


@st.composite
def segmented(draw: st.DrawFn) -> tuple[Dataset, list[str]]:
    data = draw(datasets())
    labels = draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=len(data.rows), max_size=len(data.rows))
    )
    return data, labels


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@given(case=segmented())
def test_the_allocation_matches_the_plain_implementation(
    case: tuple[Dataset, list[str]], mode: Mode, level: Level, scope: Scope
) -> None:
    data, labels = case
    settings = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    frame = frame_of(data.rows).with_columns(pl.Series("segment", labels))
    combined = combine(
        [partial(frame, settings, Needs(segments=True, audit=True))], settings
    )  # the identities are checked in combine
    assert combined.segments is not None and combined.segments.audit is not None
    reference = segment_allocations(
        data.rows, labels, RefSettings(as_of=data.as_of, mode=mode, level=level, scope=scope)
    )
    audit = combined.segments.audit
    keys = settings.keys
    engine = sorted(
        (tuple(r[k] for k in keys), r["date"], r["segment"], str(r["movement"]), r["amount"])
        for r in audit.rows(named=True)
    )
    assert engine == sorted(reference)
    sums = monthly_by_segment(reference)
    flows = combined.segments.flows
    for (month, segment, kind), amount in sums.items():
        column = {"churn": "churned_mrr"}.get(kind, f"{kind}_mrr")
        row = flows.filter((pl.col("month") == month) & (pl.col("segment") == segment))
        assert row.get_column(column).item() == amount


def test_unknown_by_lists_the_columns_it_can_take() -> None:
    code, _, err = run("movements", str(PLANS), *AS_OF, "--by", "country")
    assert code == 2
    assert "--by country" in err and "plan_id, interval, currency, subscription_id" in err


def test_attributes_segment_customers_and_count_the_missing(tmp_path: Path) -> None:
    attributes = tmp_path / "attributes.csv"
    attributes.write_text("customer_id,country\n A ,FR\nB,\n")
    code, out, err = run(
        "movements",
        str(PLANS),
        *AS_OF,
        "--by",
        "country",
        "--attributes",
        str(attributes),
        "-f",
        "csv",
    )
    assert code == 0, err
    # A (stripped " A ") is FR; B's country is empty and C is not in the file: both (none).
    # January: A new 100 in FR, C new 60 in (none).
    assert table(out, "month", "segment", "new_mrr")[:2] == [
        ("2024-01", "(none)", "60.00"),
        ("2024-01", "FR", "100.00"),
    ]
    assert "1 customer not in" in err


def test_bad_attributes_files_name_file_and_row(tmp_path: Path) -> None:
    twice = tmp_path / "twice.csv"
    twice.write_text("customer_id,country\nA,FR\nB,DE\nA,ES\n")
    code, _, err = run(
        "movements", str(PLANS), *AS_OF, "--by", "country", "--attributes", str(twice)
    )
    assert code == 1
    assert f"{twice} row 4" in err and "customer A is already on row 2" in err
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("client,country\nA,FR\n")
    code, _, err = run(
        "movements", str(PLANS), *AS_OF, "--by", "country", "--attributes", str(no_id)
    )
    assert code == 1
    assert f"{no_id}" in err and "customer_id" in err


def test_missing_attributes_file_is_named_and_headers_listed_as_read(tmp_path: Path) -> None:
    """A mistyped --attributes path is an input error naming it (exit 1), not "--by country:
    not a column it can take"; with a plan column too (--by plan_id) it is not silently
    ignored. An unknown --by lists the file's headers trimmed (" Sales Rep " → "Sales Rep")."""
    missing = tmp_path / "nowhere.csv"
    for by in ("country", "plan_id"):
        code, _, err = run(
            "movements", str(PLANS), *AS_OF, "--by", by, "--attributes", str(missing)
        )
        assert code == 1, err
        assert f"{missing}: no such file" in err and "not a column" not in err
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("customer_id , Sales Rep \nA,Ann\n")
    code, _, err = run(
        "movements", str(PLANS), *AS_OF, "--by", "country", "--attributes", str(spaced)
    )
    assert code == 2
    assert err.rstrip().endswith("subscription_id, Sales Rep")


def test_by_subscription_id_without_the_column_is_the_customer(tmp_path: Path) -> None:
    """A row's subscription is its customer when the export names none (§2.1), so --by
    subscription_id segments it by customer whether the column is absent or a cell empty
    (before, an absent column put every row in (none)). By hand, January: A 29, B 290/yr =
    24.17; February: C 49 new."""
    rows = "A,2024-01-01,,29,month\nB,2024-01-10,,290,year\nC,2024-02-05,,49,month\n"
    expected = [
        ("2024-01", "A", "29.00"),
        ("2024-01", "B", "24.17"),
        ("2024-02", "C", "49.00"),
    ]
    for header, body in (
        ("customer_id,start_date,end_date,amount,interval\n", rows),
        (
            "customer_id,subscription_id,start_date,end_date,amount,interval\n",
            "".join(f"{r[0]},,{r[2:]}\n" for r in rows.splitlines()),
        ),
    ):
        path = tmp_path / "export.csv"
        path.write_text(header + body)
        args = ["--as-of", "2024-02-29", "--max-age", "0", "--by", "subscription_id"]
        code, out, err = run("movements", str(path), *args, "-f", "csv")
        assert code == 0, err
        news = [r for r in table(out, "month", "segment", "new_mrr") if r[2] != "0.00"]
        assert news == expected


def test_markdown_keeps_a_segment_with_a_pipe_in_one_cell(tmp_path: Path) -> None:
    """Segment values are free text from an attributes file: `A|B` is escaped `A\\|B` and a
    quoted line break becomes a space, so each Markdown row keeps its 13 cells. By hand:
    A 29/month in `A|B`, B 290/year = 24.17 in `two lines`."""
    export = tmp_path / "export.csv"
    export.write_text(
        "customer_id,start_date,amount,interval\nA,2024-01-01,29,month\nB,2024-01-10,290,year\n"
    )
    attributes = tmp_path / "attributes.csv"
    attributes.write_text('customer_id,tier\nA,A|B\nB,"two\nlines"\n')
    args = ["--as-of", "2024-01-31", "--max-age", "0", "--by", "tier"]
    code, out, err = run(
        "movements", str(export), *args, "--attributes", str(attributes), "-f", "markdown"
    )
    assert code == 0, err
    rows = out.splitlines()[2:]
    assert [r.split(" | ")[1:3] for r in rows] == [["A\\|B", "31"], ["two lines", "31"]]
    unescaped = [r.replace("\\|", "") for r in out.splitlines()]
    assert {r.count("|") for r in unescaped} == {14}
    assert [r.split(" | ")[4] for r in rows] == ["29.00", "24.17"]


def test_missing_customers_counted_are_those_in_none(tmp_path: Path) -> None:
    """The stderr count of customers missing from --attributes counts those that land in
    (none): C pays 30 and is missing; T is missing too but only ever in trial (0 MRR), so it
    is in no segment of the report and not counted. By hand, January: A 10 in gold, C 30 in
    (none); "1 customer not in", not 2."""
    export = tmp_path / "export.csv"
    export.write_text(
        "customer_id,start_date,amount,status\nA,2024-01-01,10,active\n"
        "C,2024-01-05,30,active\nT,2024-01-07,50,trialing\n"
    )
    attributes = tmp_path / "attributes.csv"
    attributes.write_text("customer_id,tier\nA,gold\n")
    args = ["--as-of", "2024-01-31", "--max-age", "0", "--by", "tier", "-f", "csv"]
    code, out, err = run("movements", str(export), *args, "--attributes", str(attributes))
    assert code == 0, err
    assert table(out, "segment", "new_mrr") == [("(none)", "30.00"), ("gold", "10.00")]
    assert "1 customer not in" in err


def test_check_by_names_every_failing_segment() -> None:
    code, out, err = run(
        "check",
        str(PLANS),
        *AS_OF,
        "--month",
        "2024-02",
        "--by",
        "plan_id",
        "-r",
        "nrr>=0.9",
        "-f",
        "csv",
    )
    # February NRR by hand: basic 1 (A moved its 100 out: retained), monthly 0 (C churned),
    # pro and yearly empty (nobody paid in them at the opening): three segments fail.
    assert code == 3
    assert table(out, "segment", "result") == [
        ("basic", "pass"),
        ("monthly", "fail"),
        ("pro", "fail"),
        ("yearly", "fail"),
    ]
    assert "3 of 4 rules failed: nrr>=0.9 in monthly, nrr>=0.9 in pro, nrr>=0.9 in yearly" in err


def test_the_table_ends_each_month_with_a_total_line() -> None:
    from mrrcli.present.terminal import Terminal

    result = runner.invoke(
        app,
        ["movements", str(PLANS), *AS_OF, "--by", "plan_id", "-f", "table", "--wide"],
        obj=Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=200),
    )
    assert result.exit_code == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("2024-02")]
    # February: basic, monthly, pro, yearly, then the total: the report without --by
    # (opening 160, new 100, expansion 80, churned 60, closing 280) and 100 moved each way.
    assert [line[1] for line in lines] == ["basic", "monthly", "pro", "yearly", "total"]
    assert lines[-1][2:] == [
        "29",
        "160.00",
        "100.00",
        "80.00",
        "0.00",
        "0.00",
        "60.00",
        "100.00",
        "100.00",
        "120.00",
        "280.00",
    ]


def test_json_says_what_it_is_segmented_by_and_holds_no_total_rows() -> None:
    import json

    code, out, err = run("movements", str(PLANS), *AS_OF, "--by", "plan_id", "-f", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["meta"]["by"] == "plan_id"
    # 13 (month, segment) rows as in the worked example, none of them a total.
    assert len(document["rows"]) == 13
    assert "total" not in {row["segment"] for row in document["rows"]}


def test_a_config_file_may_set_by(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mrrcli.toml").write_text('by = "plan_id"\n')
    code, out, err = run("movements", str(PLANS), *AS_OF, "-f", "csv")
    assert code == 0, err
    # As with --by plan_id: 13 (month, segment) rows, the first January's basic.
    rows = table(out, "month", "segment")
    assert len(rows) == 13 and rows[0] == ("2024-01", "basic")
    # The command line wins.
    code, out, err = run("movements", str(PLANS), *AS_OF, "-f", "csv", "--by", "interval")
    assert code == 0, err
    assert {segment for _, segment in table(out, "month", "segment")} == {"month", "year"}


def test_by_a_column_mapped_with_map(tmp_path: Path) -> None:
    # §9: --by takes "any column mapped with --map", also one of no shape (a country). A pays
    # 10 a month from January (DE), B 20 from February (" FR " trimmed), C nothing (no row of
    # its empty segment): January DE new 10; February FR new 20. Whole and in parts alike.
    export = tmp_path / "countries.csv"
    export.write_text(
        "customer_id,start_date,amount,Country Code\n"
        "A,2024-01-01,10,DE\nB,2024-02-01,20, FR \nC,2024-02-10,0,\n"
    )
    args = ["movements", str(export), "--as-of", "2024-02-29", "--max-age", "60", "-f", "csv"]
    mapped = [*args, "--map", "country=Country Code", "--by", "country"]
    code, out, err = run(*mapped)
    assert code == 0, err
    assert table(out, "month", "segment", "new_mrr", "closing_mrr") == [
        ("2024-01", "DE", "10.00", "10.00"),
        ("2024-02", "DE", "0.00", "10.00"),
        ("2024-02", "FR", "20.00", "20.00"),
    ]
    assert run(*mapped, "--parts", "2")[1] == out
    # A header the file lacks is named with the file's columns; without --by, a name of no
    # shape is still a usage error (a misspelt canonical column).
    code, _, err = run(*args, "--map", "country=Land", "--by", "country")
    assert code == 1
    assert err.strip().endswith(
        "--map country=Land: the file has no column 'Land'; its columns are customer_id, "
        "start_date, amount, Country Code"
    )
    code, _, err = run(*args, "--map", "country=Country Code")
    assert code == 2
    assert "'country' is not a column of the periods shape" in err
    # Invoice lines are rewritten as periods, which keep only their own columns: said, not
    # every row silently in (none).
    lines = ROOT / "fixtures" / "sources" / "stripe_invoice_lines.csv"
    code, _, err = run(
        "movements",
        str(lines),
        "--as-of",
        "2024-12-31",
        "--map",
        "desc=description",
        "--by",
        "desc",
    )
    assert code == 2
    assert err == (
        "mrrcli: error: --by desc: invoice-lines are rewritten as periods, which keep only "
        "their own columns; give desc per customer in an --attributes file\n"
    )
