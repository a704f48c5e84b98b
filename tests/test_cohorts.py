"""Cohorts (SPEC §10): the worked example by hand, the engine against a plain second
implementation (tests/cohort_reference.py) on Hypothesis data in every mode × level × scope,
the identities, runs in parts, and the command line (CSV, JSON, the triangle that fits)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from cohort_reference import cohort_rows
from hypothesis import example, given
from reference import RefSettings, Row
from test_properties import COMBINATIONS, FAST, Dataset, datasets, frame_of, windowed
from typer.testing import CliRunner

from mrrcli import report
from mrrcli.cli import app
from mrrcli.engine.cohorts import cohorts_table
from mrrcli.engine.partials import Needs, combine, partial
from mrrcli.engine.totals import IdentityError
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, load
from mrrcli.vocabulary import COHORTS_COLUMNS, Level, Mode, Scope
from tests.conftest import SAMPLE_CSV, SPEC_EXAMPLE

runner = CliRunner()
SPEC_AS_OF = date(2024, 5, 31)
MONEY = ("base_mrr", "mrr", "new_mrr", "expansion_mrr", "reactivation_mrr")
MONEY += ("contraction_mrr", "churned_mrr")


def engine_rows(frame: pl.DataFrame, settings: Settings) -> list[dict[str, Any]]:
    """The engine's cohorts table (money in minor units), whole run."""
    combined = combine([partial(frame, settings, Needs(cohorts=True))], settings)
    return cohorts_table(combined.cohorts, combined.movements, settings).to_dicts()


def spec(**given: Any) -> pl.DataFrame:
    rows = load([str(SPEC_EXAMPLE)])
    return report.cohorts(rows, Settings(as_of=SPEC_AS_OF, **given)).frame


def cells(frame: pl.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """Rows as tuples of text (money as its decimal text)."""
    return [tuple(str(row[c]) for c in columns) for row in frame.iter_rows(named=True)]


# --- the SPEC §8 example, by hand ---------------------------------------------------------
# A: 100 from 01-15, 180 from 02-10 to 04-15. B: b1 100 from 02-01; b2 40 from 03-05 to 03-20.
# C: c1 60 from 01-03 to 02-03; c2 75 from 05-10.


def test_spec_example_event_customer_strict() -> None:
    frame = spec()
    columns = ("cohort", "age", "month", "customers_new", "base_mrr", "customers_active", "mrr")
    columns += ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")
    assert [" ".join(row) for row in cells(frame, *columns)] == [
        # cohort age month | cust. base active mrr | new expansion reactivation contr. churned
        # 2024-01: A (new 100) and C (new 60): base 160, 2 customers.
        "2024-01 0 2024-01 2 160.00 2 160.00 160.00 0.00 0.00 0.00 0.00",
        # Feb: A 100 → 180 (+80), C churns 60: 160 + 80 − 60 = 180, A alone paying.
        "2024-01 1 2024-02 2 160.00 1 180.00 0.00 80.00 0.00 0.00 60.00",
        "2024-01 2 2024-03 2 160.00 1 180.00 0.00 0.00 0.00 0.00 0.00",
        # Apr: A churns 180.
        "2024-01 3 2024-04 2 160.00 0 0.00 0.00 0.00 0.00 0.00 180.00",
        # May: C comes back at 75 and stays in the 2024-01 cohort.
        "2024-01 4 2024-05 2 160.00 1 75.00 0.00 0.00 75.00 0.00 0.00",
        # 2024-02: B (b1 1200/year = 100): base 100.
        "2024-02 0 2024-02 1 100.00 1 100.00 100.00 0.00 0.00 0.00 0.00",
        # Mar: the add-on b2 comes (+40) and goes (−40) within the month.
        "2024-02 1 2024-03 1 100.00 1 100.00 0.00 40.00 0.00 40.00 0.00",
        "2024-02 2 2024-04 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
        "2024-02 3 2024-05 1 100.00 1 100.00 0.00 0.00 0.00 0.00 0.00",
        # all: every month is complete (as of May 31), so every cohort counts at every age it
        # reached. Age 1: 180 + 100 = 280; 80 + 40 expansion, 40 contraction, 60 churned.
        "all 0 None 3 260.00 3 260.00 260.00 0.00 0.00 0.00 0.00",
        "all 1 None 3 260.00 2 280.00 0.00 120.00 0.00 40.00 60.00",
        "all 2 None 3 260.00 2 280.00 0.00 0.00 0.00 0.00 0.00",
        "all 3 None 3 260.00 1 100.00 0.00 0.00 0.00 0.00 180.00",
        # Age 4: only the 2024-01 cohort is that old.
        "all 4 None 2 160.00 1 75.00 0.00 0.00 75.00 0.00 0.00",
    ]
    ratios = [(r["logo_retention"], r["nrr"], r["grr"]) for r in frame.iter_rows(named=True)]
    assert ratios == [
        (1.0, 1.0, 1.0),
        # 1 of 2 paying; 180 / 160 = 1.125; GRR min(100, 180) + min(60, 0) = 100 / 160.
        (0.5, 1.125, 0.625),
        (0.5, 1.125, 0.625),
        (0.0, 0.0, 0.0),
        # 75 / 160 = 0.46875; GRR min(60, 75) = 60 / 160 = 0.375.
        (0.5, 0.46875, 0.375),
        (1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0),
        # 2/3 = 0.666667; 280 / 260 = 1.076923; GRR (100 + 100) / 260 = 0.769231.
        (0.666667, 1.076923, 0.769231),
        (0.666667, 1.076923, 0.769231),
        # 1/3; 100 / 260 = 0.384615; GRR 100 / 260.
        (0.333333, 0.384615, 0.384615),
        (0.5, 0.46875, 0.375),
    ]


def test_spec_example_cohorts_add_up_to_closing_mrr() -> None:
    frame = spec().filter(pl.col("cohort") != "all")
    by_month = frame.group_by("month").agg(pl.col("mrr").sum()).sort("month")
    # SPEC §8 closing: 160, 280, 280, 100, 175.
    assert cells(by_month, "month", "mrr") == [
        ("2024-01", "160.00"),
        ("2024-02", "280.00"),  # 180 (2024-01) + 100 (2024-02)
        ("2024-03", "280.00"),
        ("2024-04", "100.00"),  # 0 + 100
        ("2024-05", "175.00"),  # 75 + 100
    ]


def test_spec_example_snapshot_and_broad() -> None:
    # Snapshot: B's add-on came and went within March, so the 2024-02 cohort shows no flow.
    snapshot = spec(mode="snapshot").filter(pl.col("month") == "2024-03")
    assert cells(snapshot, "cohort", "mrr", "expansion_mrr", "contraction_mrr") == [
        ("2024-01", "180.00", "0.00", "0.00"),
        ("2024-02", "100.00", "0.00", "0.00"),
    ]
    # Broad: C's return is expansion, in the same cohort with the same base.
    broad = spec(scope="broad").filter(pl.col("month") == "2024-05")
    assert cells(broad, "cohort", "base_mrr", "mrr", "expansion_mrr", "reactivation_mrr") == [
        ("2024-01", "160.00", "75.00", "75.00", "0.00"),
        ("2024-02", "100.00", "100.00", "0.00", "0.00"),
    ]


def test_spec_example_subscription_level() -> None:
    # Each subscription has its cohort: a1, c1 in 2024-01 (100 + 60), b1 in 2024-02 (100),
    # b2 in 2024-03 (40, gone on 03-20), c2 in 2024-05 (75: a new subscription, not a return).
    frame = spec(level="subscription").filter(pl.col("age") == 0)
    assert cells(frame, "cohort", "customers_new", "base_mrr", "mrr") == [
        ("2024-01", "2", "160.00", "160.00"),
        ("2024-02", "1", "100.00", "100.00"),
        ("2024-03", "1", "40.00", "0.00"),
        ("2024-05", "1", "75.00", "75.00"),
        ("all", "5", "375.00", "335.00"),  # 2 + 1 + 1 + 1 customers (per cohort)
    ]


def test_from_keeps_later_cohorts_and_to_ends_the_cells() -> None:
    frame = spec(month_from=date(2024, 2, 1), month_to=date(2024, 3, 1))
    # The 2024-01 cohort started before --from; cells end in March.
    assert cells(frame, "cohort", "age", "month", "mrr") == [
        ("2024-02", "0", "2024-02", "100.00"),
        ("2024-02", "1", "2024-03", "100.00"),
        ("all", "0", "None", "100.00"),
        ("all", "1", "None", "100.00"),
    ]


def test_the_month_to_date_is_partial_and_left_out_of_the_average() -> None:
    rows = load([str(SPEC_EXAMPLE)])
    frame = report.cohorts(rows, Settings(as_of=date(2024, 5, 20))).frame
    may = frame.filter(pl.col("month") == "2024-05")
    assert may.get_column("partial").to_list() == [True, True]
    # Age 3: 2024-01 in April (complete, 0 MRR), 2024-02 in May (to date): only the first.
    age3 = frame.filter((pl.col("cohort") == "all") & (pl.col("age") == 3))
    assert cells(age3, "customers_new", "base_mrr", "mrr") == [("2", "160.00", "0.00")]
    # Age 4 is reached only in May, to date: no average.
    assert frame.filter((pl.col("cohort") == "all") & (pl.col("age") == 4)).height == 0


# --- the engine against the plain implementation -------------------------------------------


def assert_same_cells(data: Dataset, ref: RefSettings) -> None:
    settings = Settings(ref.as_of, ref.mode, ref.level, ref.scope, ref.month_from, ref.month_to)
    got = engine_rows(frame_of(data.rows), settings)
    want = cohort_rows(data.rows, ref)
    assert [list(row) for row in got] == [list(COHORTS_COLUMNS)] * len(got)
    assert got == want, (ref, data.rows)


# Found by a random draw: c1 pays 6.40 from 2023-05-01 and 0.17 more from 05-02, so its
# cohort's NRR is 6.57 ÷ 6.40 = 1.0265625, a tie at 6 places. The engine rounded the float
# quotient with Polars (1.026562), the reference with Python's round (1.026563); both now round
# the exact quotient half away from zero. c0's rows and c1's other rows carry no MRR.
NRR_TIE = Dataset(
    rows=[
        Row("c0", "c0s0", date(2023, 5, 1), date(2023, 5, 1), 0),
        Row("c0", "c0s0", date(2023, 5, 1), None, 0),
        Row("c1", "c1s0", date(2023, 5, 1), date(2023, 5, 2), 0),
        Row("c1", "c1s0", date(2023, 5, 2), None, 17),
        Row("c1", "c1s1", date(2023, 5, 1), date(2023, 5, 1), 0),
        Row("c1", "c1x", date(2023, 5, 1), None, 640),
    ],
    as_of=date(2023, 5, 2),
    base=date(2023, 5, 1),
)


def test_a_ratio_on_a_tie_rounds_half_away_from_zero() -> None:
    settings = Settings(as_of=date(2023, 5, 2))
    (row,) = engine_rows(frame_of(NRR_TIE.rows), settings)
    # c1 is new on 05-01 with 640 (its base), expands by 17 on 05-02: MRR 640 + 17 = 657.
    assert (row["base_mrr"], row["mrr"], row["new_mrr"], row["expansion_mrr"]) == (
        640,
        657,
        640,
        17,
    )
    # NRR 657 / 640 = 1.0265625 exactly: half away from zero → 1.026563. GRR min(640, 657) / 640.
    assert (row["nrr"], row["grr"], row["logo_retention"]) == (1.026563, 1.0, 1.0)
    # 1 / 128 = 0.0078125 is a tie that a float holds exactly (so a float round gives 0.007812,
    # half to even): 1.28 of base, 0.01 left after a contraction of 1.27 on 05-02.
    tiny = [Row("c0", "s", date(2023, 5, 1), date(2023, 5, 2), 128)]
    tiny.append(Row("c0", "s", date(2023, 5, 2), None, 1))
    (row,) = engine_rows(frame_of(tiny), settings)
    assert (row["base_mrr"], row["mrr"], row["contraction_mrr"]) == (128, 1, 127)
    assert (row["nrr"], row["grr"]) == (0.007813, 0.007813)  # min(128, 1) = 1 of 128


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
@FAST
@example(data=NRR_TIE)
@given(data=datasets())
def test_engine_matches_the_plain_cohorts(
    data: Dataset, mode: Mode, level: Level, scope: Scope
) -> None:
    assert_same_cells(data, RefSettings(data.as_of, mode, level, scope))


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS[::3])
@FAST
@given(case=windowed())
def test_engine_matches_the_plain_cohorts_in_a_window(
    case: tuple[Dataset, date | None, date | None], mode: Mode, level: Level, scope: Scope
) -> None:
    data, month_from, month_to = case
    assert_same_cells(data, RefSettings(data.as_of, mode, level, scope, month_from, month_to))


# --- identities, parts --------------------------------------------------------------------


def test_a_broken_identity_stops_the_run() -> None:
    settings = Settings(as_of=SPEC_AS_OF)
    rows = load([str(SPEC_EXAMPLE)])
    combined = combine([partial(rows.frame, settings, Needs(cohorts=True))], settings)
    assert combined.cohorts is not None
    wrong = combined.movements.with_columns(
        pl.when(pl.col("month") == date(2024, 3, 1))
        .then(pl.col("closing_mrr") + 1)
        .otherwise(pl.col("closing_mrr"))
        .alias("closing_mrr")
    )
    with pytest.raises(IdentityError, match="closing_mrr in 2024-03-01"):
        cohorts_table(combined.cohorts, wrong, settings)
    # A cohort's base must be its month's new MRR.
    wrong = combined.movements.with_columns(pl.col("new_mrr") * 2)
    with pytest.raises(IdentityError, match="new_mrr in 2024-01-01"):
        cohorts_table(combined.cohorts, wrong, settings)
    # And each cohort's MRR moves by its flows.
    broken = combined.cohorts.with_columns(pl.col("expansion_mrr") + 1)
    with pytest.raises(IdentityError, match="does not move by its flows"):
        cohorts_table(broken, combined.movements, settings)


@pytest.fixture(scope="module")
def sample() -> report.Rows:
    return load([str(SAMPLE_CSV)])


@pytest.mark.parametrize(("mode", "level", "scope"), COMBINATIONS)
def test_sample_cohorts_are_the_same_in_parts(
    sample: report.Rows, mode: Mode, level: Level, scope: Scope
) -> None:
    settings = Settings(as_of=date(2026, 6, 17), mode=mode, level=level, scope=scope)
    whole = report.cohorts(sample, settings).frame
    split = report.cohorts(load([str(SAMPLE_CSV)], parts=4), settings).frame
    assert whole.height > 400
    assert split.equals(whole)


@pytest.mark.parametrize(("mode", "level"), [("event", "customer"), ("snapshot", "subscription")])
def test_sample_base_and_members_are_new_mrr_and_new_customers(
    sample: report.Rows, mode: Mode, level: Level
) -> None:
    # Under the broad scope too: the cohort's base and members never depend on the scope.
    strict = Settings(as_of=date(2026, 6, 30), mode=mode, level=level)
    broad = Settings(as_of=date(2026, 6, 30), mode=mode, level=level, scope="broad")
    metrics = report.metrics(sample, strict).frame
    new = dict(zip(metrics.get_column("month"), metrics.get_column("new_customers"), strict=True))
    for settings in (strict, broad):
        age0 = report.cohorts(sample, settings).frame.filter(
            (pl.col("age") == 0) & (pl.col("cohort") != "all")
        )
        for row in age0.iter_rows(named=True):
            assert row["customers_new"] == new[row["cohort"]], row
    movements = report.movements(sample, strict).frame
    new_mrr = dict(zip(movements.get_column("month"), movements.get_column("new_mrr"), strict=True))
    age0 = report.cohorts(sample, broad).frame.filter(
        (pl.col("age") == 0) & (pl.col("cohort") != "all")
    )
    assert {r["cohort"]: r["base_mrr"] for r in age0.iter_rows(named=True)} == {
        month: value for month, value in new_mrr.items() if value != Decimal(0)
    }


# --- the command line -------------------------------------------------------------------------


def invoke(*args: str, width: int = 80, env: dict[str, str] | None = None) -> tuple[int, str]:
    term = Terminal(stdout_is_terminal=True, stderr_is_terminal=False, width=width, color=False)
    result = runner.invoke(app, list(args), obj=term, env=env)
    return result.exit_code, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


SPEC_ARGS = ("cohorts", str(SPEC_EXAMPLE), "--as-of", "2024-05-31")


def test_cli_csv_columns_and_rows() -> None:
    code, out = invoke(*SPEC_ARGS, "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == COHORTS_COLUMNS
    # C's return in May: in the 2024-01 cohort, as reactivation.
    may = [r for r in rows if r["month"] == "2024-05"]
    assert [(r["cohort"], r["mrr"], r["reactivation_mrr"], r["nrr"]) for r in may] == [
        ("2024-01", "75.00", "75.00", "0.46875"),
        ("2024-02", "100.00", "0.00", "1.0"),
    ]
    assert [r["month"] for r in rows if r["cohort"] == "all"] == [""] * 5


def test_cli_json_is_the_library_frame() -> None:
    code, out = invoke(*SPEC_ARGS, "-f", "json")
    assert code == 0
    document = json.loads(out)
    assert document["meta"]["report"] == "cohorts"
    assert document["rows"][1]["grr"] == 0.625  # min(100, 180) + min(60, 0) = 100 / 160
    assert document["rows"][1]["mrr"] == 180.0
    library = [
        {k: (float(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
        for row in spec().to_dicts()
    ]
    assert document["rows"] == library


@pytest.mark.parametrize(
    ("metric", "row"),
    [
        # 2024-01 at ages 0–4: NRR 160, 180, 180, 0, 75 over 160.
        ("nrr", "2024-01 2 160.00 100.0% 112.5% 112.5% 0.0% 46.9%"),
        # GRR: 160, 100, 100, 0, 60 over 160.
        ("grr", "2024-01 2 160.00 100.0% 62.5% 62.5% 0.0% 37.5%"),
        # Logo: 2, 1, 1, 0, 1 of 2.
        ("logo", "2024-01 2 160.00 100.0% 50.0% 50.0% 0.0% 50.0%"),
        ("mrr", "2024-01 2 160.00 160.00 180.00 180.00 0.00 75.00"),
    ],
)
def test_cli_triangle_of_each_metric(metric: str, row: str) -> None:
    code, out = invoke(*SPEC_ARGS, "--metric", metric)
    assert code == 0
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert row in lines
    assert max(len(line) for line in out.splitlines()) <= 80


def test_cli_triangle_fits_80_columns_and_says_what_is_cut() -> None:
    args = ("cohorts", str(SAMPLE_CSV), "--as-of", "2026-06-17")
    code, out = invoke(*args, "--metric", "mrr")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    # Cohorts from 2024-01 to 2026-06: ages 0–29; only some fit in 80 columns.
    found = re.search(r"ages (\d+)–29 \((\d+) left out\)", out)
    assert found is not None and int(found[1]) + int(found[2]) == 30
    assert "money is abbreviated" in out
    assert "2026-06 is month to date" in out
    code, wide = invoke(*args, "--metric", "mrr", "--wide")
    assert "left out" not in wide
    assert max(len(line) for line in wide.splitlines()) > 80


def test_cli_in_parts_equals_whole() -> None:
    args = ("cohorts", str(SAMPLE_CSV), "--as-of", "2026-06-30", "-f", "csv")
    _, whole = invoke(*args)
    _, split = invoke(*args, env={"MRRCLI_WHOLE_ROWS": "500"})
    assert split == whole
    assert whole.count("\n") > 400


def test_cli_unknown_metric_is_a_usage_error() -> None:
    code, _ = invoke(*SPEC_ARGS, "--metric", "arpa")
    assert code == 2


def test_before_anything_paid() -> None:
    # As of 2023-12-31 nothing in the SPEC example has started: no cohort, an empty frame in
    # the library, and on the command line the usage error of every report (main's rule).
    rows = load([str(SPEC_EXAMPLE)])
    empty = report.cohorts(rows, Settings(as_of=date(2023, 12, 31), max_age=0))
    assert empty.frame.height == 0 and tuple(empty.frame.columns) == COHORTS_COLUMNS
    code, _ = invoke(*SPEC_ARGS[:2], "--as-of", "2023-12-31", "--max-age", "0", "-f", "csv")
    assert code == 2


def test_cli_period_does_not_change_the_months() -> None:
    # Cohorts and ages are months whatever --period says (a config file may set it for all).
    _, by_month = invoke(*SPEC_ARGS, "-f", "csv")
    code, by_quarter = invoke(*SPEC_ARGS, "-f", "csv", "--period", "quarter")
    assert code == 0
    assert by_quarter == by_month
