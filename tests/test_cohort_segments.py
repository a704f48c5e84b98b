"""Cohorts by segment (SPEC §10, `cohorts --by COLUMN`): the SPEC §8 example with plans by
hand, the engine against the plain implementation (tests/cohort_reference.py) on Hypothesis
data in every mode × level × scope, the reconciliation with the cohorts without --by, runs
in parts, and the command line."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cohort_reference import cohort_rows
from hypothesis import given
from hypothesis import strategies as st
from reference import RefSettings, Row
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of, windowed
from typer.testing import CliRunner

from mrrcli import report
from mrrcli.cli import app
from mrrcli.engine.cohort_segments import check_segments_add_up, segment_cohorts_table
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.totals import IdentityError
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, load
from mrrcli.vocabulary import COHORTS_COLUMNS, Level, Mode, Scope
from tests.conftest import SAMPLE_CSV

PLANS = Path(__file__).parent / "fixtures" / "spec_example_plans.csv"
AS_OF = date(2024, 5, 31)
runner = CliRunner()
SEGMENT_COLUMNS = (COHORTS_COLUMNS[0], "segment", *COHORTS_COLUMNS[1:])


def by_plan(**given: Any) -> pl.DataFrame:
    rows = load([str(PLANS)], by="plan_id")
    return report.cohorts(rows, Settings(as_of=AS_OF, **given)).frame


def cells(frame: pl.DataFrame, *columns: str) -> list[str]:
    """Rows as lines of text (money as its decimal text)."""
    return [" ".join(str(row[c]) for c in columns) for row in frame.iter_rows(named=True)]


# --- the SPEC §8 example with plans, by hand --------------------------------------------------
# A: basic 100 from 01-15, pro 180 from 02-10 to 04-15. B: yearly 1200/yr = 100 from 02-01;
# addon 40 from 03-05 to 03-20. C: monthly 60 from 01-03 to 02-03; monthly2 75 from 05-10.

COLUMNS = ("cohort", "segment", "age", "customers_new", "base_mrr", "customers_active", "mrr")
COLUMNS += ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def test_the_worked_example_by_plan() -> None:
    frame = by_plan()
    assert tuple(frame.columns) == SEGMENT_COLUMNS
    assert cells(frame, *COLUMNS) == [
        # cohort segment age | cust. base active mrr | new expansion reactiv. contr. churned
        # 2024-01: A's first day (01-15) is all basic (100), C's (01-03) all monthly (60).
        # A is followed into pro: its cells count its whole MRR, 100 → 180 in February
        # (+80 expansion: the upgrade is no transfer out of its cohort), 0 in April.
        "2024-01 basic 0 1 100.00 1 100.00 100.00 0.00 0.00 0.00 0.00",
        "2024-01 basic 1 1 100.00 1 180.00 0.00 80.00 0.00 0.00 0.00",
        "2024-01 basic 2 1 100.00 1 180.00 0.00 0.00 0.00 0.00 0.00",
        "2024-01 basic 3 1 100.00 0 0.00 0.00 0.00 0.00 0.00 180.00",
        "2024-01 basic 4 1 100.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        # C churns its 60 in February, comes back in May at 75 on monthly2: it stays in
        # monthly, as a reactivation.
        "2024-01 monthly 0 1 60.00 1 60.00 60.00 0.00 0.00 0.00 0.00",
        "2024-01 monthly 1 1 60.00 0 0.00 0.00 0.00 0.00 0.00 60.00",
        "2024-01 monthly 2 1 60.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        "2024-01 monthly 3 1 60.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        "2024-01 monthly 4 1 60.00 1 75.00 0.00 0.00 75.00 0.00 0.00",
        # 2024-02: B's first day (02-01) is all yearly (100); its March add-on (+40, −40)
        # counts in yearly.
        "2024-02 yearly 0 1 100.00 1 100.00 100.00 0.00 0.00 0.00 0.00",
        "2024-02 yearly 1 1 100.00 1 100.00 0.00 40.00 0.00 40.00 0.00",
        "2024-02 yearly 2 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
        "2024-02 yearly 3 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
        # all, per segment: each segment has one cohort here, so its average is that cohort.
        "all basic 0 1 100.00 1 100.00 100.00 0.00 0.00 0.00 0.00",
        "all basic 1 1 100.00 1 180.00 0.00 80.00 0.00 0.00 0.00",
        "all basic 2 1 100.00 1 180.00 0.00 0.00 0.00 0.00 0.00",
        "all basic 3 1 100.00 0 0.00 0.00 0.00 0.00 0.00 180.00",
        "all basic 4 1 100.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        "all monthly 0 1 60.00 1 60.00 60.00 0.00 0.00 0.00 0.00",
        "all monthly 1 1 60.00 0 0.00 0.00 0.00 0.00 0.00 60.00",
        "all monthly 2 1 60.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        "all monthly 3 1 60.00 0 0.00 0.00 0.00 0.00 0.00 0.00",
        "all monthly 4 1 60.00 1 75.00 0.00 0.00 75.00 0.00 0.00",
        "all yearly 0 1 100.00 1 100.00 100.00 0.00 0.00 0.00 0.00",
        "all yearly 1 1 100.00 1 100.00 0.00 40.00 0.00 40.00 0.00",
        "all yearly 2 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
        "all yearly 3 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
    ]
    ratios = {
        (r["cohort"], r["segment"], r["age"]): (r["logo_retention"], r["nrr"], r["grr"])
        for r in frame.iter_rows(named=True)
    }
    # basic, age 1: A at 180 on a base of 100: NRR 1.8; GRR min(100, 180) / 100 = 1.
    assert ratios["2024-01", "basic", 1] == (1.0, 1.8, 1.0)
    # monthly, age 4: C back at 75 on a base of 60: NRR 1.25, GRR min(60, 75) / 60 = 1.
    assert ratios["2024-01", "monthly", 4] == (1.0, 1.25, 1.0)
    assert ratios["2024-01", "monthly", 1] == (0.0, 0.0, 0.0)


def test_the_segments_add_up_to_the_cohorts() -> None:
    # 2024-01 without --by (tests/test_cohorts.py): base 160 = basic 100 + monthly 60; MRR at
    # ages 0–4: 160, 180, 180, 0, 75 = basic 100, 180, 180, 0, 0 + monthly 60, 0, 0, 0, 75.
    frame = by_plan().filter(pl.col("cohort") == "2024-01")
    summed = frame.group_by("age").agg(pl.col("base_mrr", "mrr").sum()).sort("age")
    assert cells(summed, "age", "base_mrr", "mrr") == [
        "0 160.00 160.00",
        "1 160.00 180.00",
        "2 160.00 180.00",
        "3 160.00 0.00",
        "4 160.00 75.00",
    ]


def test_a_tie_goes_to_the_first_segment_and_most_mrr_wins(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "customer_id,subscription_id,plan_id,start_date,end_date,amount\n"
        # T starts with 30 in pro and 30 in basic on one day: a tie, basic is first in sort
        # order. Its pro MRR grows to 50 later: it stays in basic.
        "T,t1,pro,2024-01-10,2024-03-01,30\n"
        "T,t1,pro,2024-03-01,,50\n"
        "T,t2,basic,2024-01-10,,30\n"
        # M: 10 in basic and 25 in pro on its first day: pro. A basic row of one day before
        # (zero length, 01-05 to 01-05) carries no MRR on any day.
        "M,m0,basic,2024-01-05,2024-01-05,99\n"
        "M,m1,basic,2024-01-12,,10\n"
        "M,m2,pro,2024-01-12,,25\n"
    )
    rows = load([str(path)], by="plan_id")
    frame = report.cohorts(rows, Settings(as_of=date(2024, 3, 31))).frame
    cohort = frame.filter(pl.col("cohort") == "2024-01")
    # basic: T, base 30 + 30 = 60, in March 50 + 30 = 80 (+20 expansion).
    # pro: M, base 10 + 25 = 35, unchanged.
    assert cells(cohort, "segment", "age", "base_mrr", "mrr", "expansion_mrr") == [
        "basic 0 60.00 60.00 0.00",
        "basic 1 60.00 60.00 0.00",
        "basic 2 60.00 80.00 20.00",
        "pro 0 35.00 35.00 0.00",
        "pro 1 35.00 35.00 0.00",
        "pro 2 35.00 35.00 0.00",
    ]


def test_snapshot_mode_judges_the_first_month_end(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "customer_id,subscription_id,plan_id,start_date,end_date,amount\n"
        # S pays 90 in big from 01-05 to 01-20, then 40 in basic from 01-20: on its first
        # day all its MRR is in big, at its first month end (01-31) all in basic.
        "S,s1,big,2024-01-05,2024-01-20,90\n"
        "S,s1,basic,2024-01-20,,40\n"
    )
    rows = load([str(path)], by="plan_id")
    event = report.cohorts(rows, Settings(as_of=date(2024, 1, 31))).frame
    snapshot = report.cohorts(rows, Settings(as_of=date(2024, 1, 31), mode="snapshot")).frame
    # Event: base 90 (its first day), MRR 40 at the month end (contraction 50), in big.
    assert cells(event.head(1), "segment", "base_mrr", "mrr", "contraction_mrr") == [
        "big 90.00 40.00 50.00"
    ]
    # Snapshot: base 40, in basic.
    assert cells(snapshot.head(1), "segment", "base_mrr", "mrr") == ["basic 40.00 40.00"]


def test_a_broken_reconciliation_stops_the_run() -> None:
    rows = load([str(PLANS)], by="plan_id")
    settings = Settings(as_of=AS_OF)
    needs = Needs(cohorts=True, cohort_segments=True)
    combined = combine([partial(rows.frame, settings, needs)], settings)
    assert combined.cohorts is not None and combined.cohort_segments is not None
    check_segments_add_up(combined.cohort_segments, combined.cohorts, Level.customer)
    # One segment's expansion off by a cent, or a segment lost: caught.
    broken = combined.cohort_segments.with_columns(
        pl.when(pl.col("segment") == "basic")
        .then(pl.col("expansion_mrr") + 1)
        .otherwise(pl.col("expansion_mrr"))
    )
    with pytest.raises(IdentityError, match="do not add up to its expansion_mrr"):
        segment_cohorts_table(combined.cohorts, broken, combined.movements, settings)
    lost = combined.cohort_segments.filter(pl.col("segment") != "monthly")
    with pytest.raises(IdentityError, match="do not add up"):
        segment_cohorts_table(combined.cohorts, lost, combined.movements, settings)


# --- the engine against the plain implementation -------------------------------------------


@st.composite
def segmented(draw: st.DrawFn) -> tuple[Dataset, list[str]]:
    """A dataset and a segment per row (few labels, so ties and plan changes are frequent)."""
    data = draw(datasets())
    size = len(data.rows)
    labels = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=size, max_size=size))
    return data, labels


def engine_rows(
    rows: list[Row], labels: list[str], settings: Settings, parts: int = 1
) -> list[dict[str, Any]]:
    """The engine's cohorts by segment (minor units): whole, or in `parts` partials of
    disjoint customers."""
    frame = frame_of(rows).with_columns(pl.Series("segment", labels))
    customers = sorted({row.customer_id for row in rows})
    needs = Needs(cohorts=True, cohort_segments=True)
    pieces = [frame.filter(pl.col("customer_id").is_in(customers[i::parts])) for i in range(parts)]
    combined = combine([partial(piece, settings, needs) for piece in pieces], settings)
    table = segment_cohorts_table(
        combined.cohorts, combined.cohort_segments, combined.movements, settings
    )
    return table.to_dicts()


# The first day of c0 has 10.00 in b and 10.00 in a (a tie: a) and a zero-length 50.00 row
# in c; c1 starts with 0.00 in c and 5.00 in b (b); c0 later moves all to c.
TIES = Dataset(
    rows=[
        Row("c0", "c0s0", date(2024, 1, 10), date(2024, 2, 1), 1000),
        Row("c0", "c0s1", date(2024, 1, 10), date(2024, 2, 1), 1000),
        Row("c0", "c0s2", date(2024, 1, 10), date(2024, 1, 10), 5000),
        Row("c0", "c0s2", date(2024, 2, 1), None, 2500),
        Row("c1", "c1s0", date(2024, 1, 20), None, 0),
        Row("c1", "c1s1", date(2024, 1, 20), None, 500),
    ],
    as_of=date(2024, 3, 15),
    base=date(2024, 1, 10),
)
TIES_LABELS = ["b", "a", "c", "c", "c", "b"]


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@given(case=st.one_of(st.just((TIES, TIES_LABELS)), segmented()))
def test_engine_matches_the_plain_cohorts_by_segment(
    case: tuple[Dataset, list[str]], mode: Mode, level: Level, scope: Scope
) -> None:
    data, labels = case
    ref = RefSettings(data.as_of, mode, level, scope)
    settings = Settings(data.as_of, mode, level, scope)
    got = engine_rows(data.rows, labels, settings)
    want = cohort_rows(data.rows, ref, labels)
    assert [tuple(row) for row in got] == [SEGMENT_COLUMNS] * len(got)
    assert got == want, (ref, data.rows, labels)
    # Customers are whole in a part: partials add up to the same table.
    assert engine_rows(data.rows, labels, settings, parts=3) == got


@st.composite
def windowed_segments(draw: st.DrawFn) -> tuple[Dataset, list[str], date | None, date | None]:
    data, month_from, month_to = draw(windowed())
    size = len(data.rows)
    labels = draw(st.lists(st.sampled_from(["a", "b"]), min_size=size, max_size=size))
    return data, labels, month_from, month_to


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS[::3])
@FAST
@given(case=windowed_segments())
def test_engine_matches_the_plain_cohorts_by_segment_in_a_window(
    case: tuple[Dataset, list[str], date | None, date | None],
    mode: Mode,
    level: Level,
    scope: Scope,
) -> None:
    data, labels, month_from, month_to = case
    ref = RefSettings(data.as_of, mode, level, scope, month_from, month_to)
    settings = Settings(data.as_of, mode, level, scope, month_from, month_to)
    got = engine_rows(data.rows, labels, settings)
    assert got == cohort_rows(data.rows, ref, labels), (ref, data.rows, labels)


def test_the_ties_example_by_hand() -> None:
    got = engine_rows(TIES.rows, TIES_LABELS, Settings(as_of=TIES.as_of))
    # c0: a (tie 1000 a / 1000 b, c's zero-length row carries nothing), base 2000; from
    # 02-01 its MRR is 2500, all in c: it stays in a, and 2000 → 2500 is expansion 500.
    # c1: b (500; its c row carries 0), base 500.
    first = [(r["cohort"], r["segment"], r["age"], r["base_mrr"], r["mrr"]) for r in got[:6]]
    assert first == [
        ("2024-01", "a", 0, 2000, 2000),
        ("2024-01", "a", 1, 2000, 2500),
        ("2024-01", "a", 2, 2000, 2500),
        ("2024-01", "b", 0, 500, 500),
        ("2024-01", "b", 1, 500, 500),
        ("2024-01", "b", 2, 500, 500),
    ]
    assert got[1]["expansion_mrr"] == 500


# --- whole and in parts, the command line ----------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> report.Rows:
    return load([str(SAMPLE_CSV)], by="plan_id")


@pytest.mark.parametrize(("mode", "level"), [("event", "customer"), ("snapshot", "subscription")])
def test_sample_by_plan_in_parts_equals_whole_and_adds_up(
    sample: report.Rows, mode: Mode, level: Level
) -> None:
    settings = Settings(as_of=date(2026, 6, 17), mode=mode, level=level, scope="broad")
    whole = report.cohorts(sample, settings).frame
    split = report.cohorts(load([str(SAMPLE_CSV)], by="plan_id", parts=4), settings).frame
    assert split.equals(whole)
    plain = report.cohorts(load([str(SAMPLE_CSV)]), settings).frame
    plain = plain.filter(pl.col("cohort") != "all")
    summed = (
        whole.filter(pl.col("cohort") != "all")
        .group_by("cohort", "age")
        .agg(pl.col("base_mrr", "mrr", "expansion_mrr", "churned_mrr").sum())
    )
    joined = plain.join(summed, on=["cohort", "age"], suffix="_by_plan")
    assert joined.height == plain.height > 400
    for column in ("base_mrr", "mrr", "expansion_mrr", "churned_mrr"):
        assert joined.get_column(column).equals(
            joined.get_column(f"{column}_by_plan"), check_names=False
        )


def invoke(*args: str, width: int = 80, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    term = Terminal(stdout_is_terminal=True, stderr_is_terminal=False, width=width, color=False)
    result = runner.invoke(app, list(args), obj=term, env=env)
    return result.exit_code, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout), result.stderr


ARGS = ("cohorts", str(PLANS), "--as-of", "2024-05-31", "--by", "plan_id")


def test_cli_csv_has_a_segment_column() -> None:
    code, out, err = invoke(*ARGS, "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == SEGMENT_COLUMNS
    # May: A's basic cohort at 0, C's monthly cohort back at 75 (NRR 75 / 60 = 1.25), B's
    # yearly at 100.
    may = [(r["cohort"], r["segment"], r["mrr"], r["nrr"]) for r in rows if r["month"] == "2024-05"]
    assert may == [
        ("2024-01", "basic", "0.00", "0.0"),
        ("2024-01", "monthly", "75.00", "1.25"),
        ("2024-02", "yearly", "100.00", "1.0"),
    ]


def test_cli_json_names_the_segment_column() -> None:
    import json

    code, out, err = invoke(*ARGS, "-f", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["meta"]["by"] == "plan_id"
    assert len(document["rows"]) == 28  # 14 cohort rows and 14 averages, as by hand above


def test_cli_triangle_labels_rows_with_segment_and_cohort() -> None:
    code, out, err = invoke(*ARGS, "--metric", "nrr", width=100)
    assert code == 0, err
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[2].split() == [
        "segment",
        "cohort",
        "cust.",
        "base",
        "MRR",
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    # basic 2024-01: NRR 100, 180, 180, 0, 0 over its base of 100 (A alone).
    assert "basic 2024-01 1 100.00 100.0% 180.0% 180.0% 0.0% 0.0%" in lines
    # monthly 2024-01: 60, 0, 0, 0, 75 over 60.
    assert "monthly 2024-01 1 60.00 100.0% 0.0% 0.0% 0.0% 125.0%" in lines
    assert "yearly all 100.0% 100.0% 100.0% 100.0%" in lines
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "segment: the plan_id of most of a customer's MRR on its first paying day" in out


def test_cli_sample_triangle_fits_80_columns() -> None:
    args = ("cohorts", str(SAMPLE_CSV), "--as-of", "2026-06-17", "--by", "plan_id")
    code, out, err = invoke(*args, "--metric", "mrr")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert re.search(r"ages \d+–29 \(\d+ left out\)", out) is not None


def test_cli_in_parts_equals_whole() -> None:
    args = ("cohorts", str(SAMPLE_CSV), "--as-of", "2026-06-30", "--by", "plan_id", "-f", "csv")
    _, whole, _ = invoke(*args)
    code, split, err = invoke(*args, env={"MRRCLI_WHOLE_ROWS": "500"})
    assert code == 0, err
    assert "parts" in err
    assert split == whole
    assert whole.count("\n") > 400


def test_cli_unknown_by_lists_the_columns() -> None:
    code, _, err = invoke("cohorts", str(PLANS), "--as-of", "2024-05-31", "--by", "country")
    assert code == 2
    assert "--by country" in err and "plan_id, interval, currency, subscription_id" in err


def test_cli_attributes(tmp_path: Path) -> None:
    attributes = tmp_path / "attributes.csv"
    attributes.write_text("customer_id,country\nA,FR\nB,DE\n")
    code, out, err = invoke(
        *ARGS[:4], "--by", "country", "--attributes", str(attributes), "-f", "csv"
    )
    assert code == 0, err
    # A (FR) and C (not in the file: (none)) in 2024-01, B (DE) in 2024-02.
    age0 = [(r["cohort"], r["segment"], r["base_mrr"]) for r in csv.DictReader(io.StringIO(out))]
    assert [row for row in age0 if row[0] != "all"][:1] == [("2024-01", "(none)", "60.00")]
    assert ("2024-01", "FR", "100.00") in age0 and ("2024-02", "DE", "100.00") in age0
    assert "1 customer not in" in err


def test_cli_period_does_not_stop_cohorts_by() -> None:
    # Cohorts are by month whatever --period says (a config file may set it for every report).
    _, by_month, _ = invoke(*ARGS, "-f", "csv")
    code, by_quarter, err = invoke(*ARGS, "-f", "csv", "--period", "quarter")
    assert code == 0, err
    assert by_quarter == by_month
