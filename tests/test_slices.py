"""SPEC §13: one Parquet file read for one report in slices of its rows (mrrcli.batches) gives
the whole run's bytes, or is read in parts by customer when a slice could differ from it."""

from __future__ import annotations

import os
import random
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import COMBINATIONS, Dataset, datasets
from test_scale import COUNTS, write_dataset
from typer.testing import CliRunner

from mrrcli import batches, report, split
from mrrcli.cli import app
from mrrcli.engine.keys import hashed_keys
from mrrcli.engine.partials import Needs, partial
from mrrcli.errors import InputError
from mrrcli.present.formats import render_text
from mrrcli.present.output import report_document
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, load
from mrrcli.vocabulary import Level
from tests.conftest import SAMPLE_CSV

AS_OF = date(2024, 4, 30)
# The reports a run in slices computes (report.ahead); the others are read in parts.
PLAIN = (report.movements, report.metrics, report.cohorts, report.expansion)


def csv_of(build: object, rows: report.Rows, settings_: Settings) -> str:
    return render_text(report_document(build(rows, settings_)), "csv")  # type: ignore[operator]


def early(path: str, count: int, build: object, settings_: Settings) -> report.Rows:
    """The rows read in `count` parts for the one report `build`, as the command line reads."""
    return load([path], parts=count, ahead=report.ahead(build, settings_))  # type: ignore[arg-type]


def in_slices(rows: report.Rows) -> bool:
    return rows.computed is not None and "slices of its rows" in rows.computed


def export(tmp_path: Path, rows: list[tuple[str, ...]], name: str = "x.parquet") -> str:
    """customer_id, subscription_id, start_date, end_date, amount (and `note`) as text."""
    header = ["customer_id", "subscription_id", "start_date", "end_date", "amount", "note"]
    columns = {h: [r[i] if i < len(r) else "" for r in rows] for i, h in enumerate(header)}
    frame = pl.DataFrame(columns).with_columns(pl.col("end_date").replace("", None))
    path = str(tmp_path / name)
    frame.write_parquet(path)
    return path


# Customer a's rows sit in both slices of two (rows 1-2 and 3-4).
SPREAD = [
    ("a", "s1", "2024-01-01", "", "100.00"),
    ("b", "s2", "2024-01-10", "2024-03-10", "30.00"),
    ("a", "s3", "2024-02-01", "", "50.00"),
    ("b", "s4", "2024-04-01", "", "20.00"),
]


def test_a_customer_whose_rows_sit_in_two_slices_is_summed_whole(tmp_path: Path) -> None:
    path = export(tmp_path, SPREAD)
    settings_ = Settings(as_of=AS_OF)
    rows = early(path, 2, report.movements, settings_)
    assert in_slices(rows)
    table = report.movements(rows, settings_).frame
    cents = {
        c: [int(v * 100) for v in table.get_column(c)]
        for c in ("new_mrr", "expansion_mrr", "reactivation_mrr", "churned_mrr", "closing_mrr")
    }
    # By hand: January a 100 + b 30 new; February a's second subscription +50 expansion;
    # March b ends (churn 30); April b comes back at 20 (reactivation). Closing 130, 180,
    # 150, 170.
    assert cents == {
        "new_mrr": [13000, 0, 0, 0],
        "expansion_mrr": [0, 5000, 0, 0],
        "reactivation_mrr": [0, 0, 0, 2000],
        "churned_mrr": [0, 0, 3000, 0],
        "closing_mrr": [13000, 18000, 15000, 17000],
    }
    assert csv_of(report.movements, rows, settings_) == csv_of(
        report.movements, load([path]), settings_
    )


def test_a_row_repeated_in_another_slice_is_read_in_parts_and_counted_once(
    tmp_path: Path,
) -> None:
    # The first row again as the fourth: slices (1, 2) and (3, 4) each hold it once, so
    # only the whole export shows it is one row twice. Counted once: closing January 130.
    path = export(tmp_path, [*SPREAD[:3], SPREAD[0]])
    settings_ = Settings(as_of=date(2024, 1, 31))
    rows = early(path, 2, report.movements, settings_)
    assert not in_slices(rows) and rows.computed is not None
    assert (rows.read, rows.duplicates) == (4, 1)
    table = report.movements(rows, settings_).frame
    assert [int(v * 100) for v in table.get_column("closing_mrr")] == [13000]


def test_rows_alike_but_for_a_column_no_report_reads_both_count(tmp_path: Path) -> None:
    # Two rows the same but for `note`: two rows, both counted (a 100 twice = 200 + b 30).
    twins = [("a", "s1", "2024-01-01", "", "100.00", "x"), SPREAD[1]]
    twins.append(("a", "s1", "2024-01-01", "", "100.00", "y"))
    settings_ = Settings(as_of=date(2024, 1, 31))
    for order, sliced in ((twins, False), ([twins[0], twins[2], twins[1]], True)):
        # Apart (slices 1-2 and 3): read in parts to make sure; together: in slices.
        path = export(tmp_path, order, f"{sliced}.parquet")
        rows = early(path, 2, report.movements, settings_)
        assert in_slices(rows) is sliced
        table = report.movements(rows, settings_).frame
        assert [int(v * 100) for v in table.get_column("closing_mrr")] == [23000]
        assert rows.duplicates == 0


def test_a_bad_row_in_the_last_slice_stops_the_run_as_a_whole_run_does(tmp_path: Path) -> None:
    rows = [*SPREAD, ("", "s5", "2024-01-01", "", "10.00")]
    path = export(tmp_path, rows)
    with pytest.raises(InputError) as whole:
        load([path])
    settings_ = Settings(as_of=AS_OF)
    for count in (2, 3, 5):
        with pytest.raises(InputError) as sliced:
            early(path, count, report.movements, settings_)
        assert str(sliced.value) == str(whole.value)
    # The fifth row (a Parquet file has no header row to count).
    assert str(whole.value).endswith("row 5, column 'customer_id': customer_id is empty")


def test_text_dates_whose_order_the_whole_file_tells_are_read_in_parts(tmp_path: Path) -> None:
    # 03/04/2024 is read as 3 April only because 25/01/2024 (in the other slice) shows
    # that this file writes the day first. Slice 1 alone cannot tell.
    rows = [("a", "s1", "03/04/2024", "", "10.00"), ("b", "s2", "25/01/2024", "", "20.00")]
    path = export(tmp_path, rows)
    settings_ = Settings(as_of=AS_OF)
    sliced = early(path, 2, report.movements, settings_)
    assert not in_slices(sliced)
    # By hand: b new 20 in January, a new 10 in April.
    table = report.movements(sliced, settings_).frame
    assert [int(v * 100) for v in table.get_column("new_mrr")] == [2000, 0, 0, 1000]


def test_expansion_takes_its_top_customers_names_along_segments_are_read_in_parts(
    tmp_path: Path,
) -> None:
    path = export(tmp_path, SPREAD)
    settings_ = Settings(as_of=date(2024, 2, 29))
    rows = early(path, 2, report.expansion, settings_)
    assert in_slices(rows)
    # By hand: February's one expansion is customer a's +50.00 (its second subscription).
    leaders = report.expansion(rows, settings_).extra["top_expanding"]
    assert leaders.select("customer_id", "amount").rows() == [("a", Decimal("50.00"))]
    assert csv_of(report.expansion, rows, settings_) == csv_of(
        report.expansion, load([path]), settings_
    )
    segmented = load(
        [path], parts=2, by="subscription_id", ahead=report.ahead(report.movements, settings_)
    )
    assert not in_slices(segmented)


@pytest.mark.parametrize("level", [Level.customer, Level.subscription])
def test_the_engine_takes_keys_hashed_as_rows_are_read(tmp_path: Path, level: Level) -> None:
    rows = load([export(tmp_path, SPREAD)]).frame
    numbers = rows.select(*hashed_keys([level]), "start_date", "end_date", "mrr")
    assert "customer_id" not in numbers.columns
    for mode in ("event", "snapshot"):
        settings_ = Settings(as_of=AS_OF, level=level, mode=mode)  # type: ignore[arg-type]
        needs = Needs(counts=True, retention=True, cohorts=True)
        with_ids, hashed = partial(rows, settings_, needs), partial(numbers, settings_, needs)
        for name in ("flows", "counts", "retention", "lagged", "cohorts"):
            # (group_by gives its groups in any order: the sums are compared sorted)
            got, wanted = getattr(hashed, name), getattr(with_ids, name)
            assert got.sort(got.columns).equals(wanted.sort(wanted.columns)), (mode, name)
        assert hashed.first_day == with_ids.first_day


def test_the_slices_numbers_leave_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))  # what TMPDIR sets
    written: list[str] = []
    real = batches._sums

    def looked(job: batches.Job, progress: object) -> object:
        written.extend(os.listdir(job.directory))
        return real(job, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(batches, "_sums", looked)
    rows = early(export(tmp_path, SPREAD), 2, report.movements, Settings(as_of=AS_OF))
    assert in_slices(rows)
    assert sorted(written) == ["slice000000", "slice000001"]
    assert list(spill.iterdir()) == []


def test_parts_on_the_command_line_read_a_parquet_file_in_slices(tmp_path: Path) -> None:
    path = export(tmp_path, SPREAD)
    runner = CliRunner()
    args = ["movements", path, "--as-of", "2024-04-30", "-f", "csv"]
    whole = runner.invoke(app, args, obj=Terminal())
    sliced = runner.invoke(app, [*args, "--parts", "3"], obj=Terminal())
    assert (whole.exit_code, sliced.exit_code) == (0, 0)
    assert sliced.stdout == whole.stdout
    assert (
        "read in 3 parts by customer (1 file, read once in 3 slices of its rows)" in sliced.stderr
    )


@st.composite
def shuffled(draw: st.DrawFn) -> tuple[Dataset, list[int]]:
    """A dataset and the order its rows are written in, some rows written twice."""
    data = draw(datasets())
    order = list(range(len(data.rows)))
    order += draw(st.lists(st.sampled_from(order), max_size=2))
    random.Random(draw(st.integers(0, 1000))).shuffle(order)
    return data, order


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=shuffled(), combination=st.sampled_from(COMBINATIONS), one=st.integers(0, 3))
def test_runs_in_slices_equal_the_whole_run_byte_for_byte(
    tmp_path_factory: pytest.TempPathFactory,
    drawn: tuple[Dataset, list[int]],
    combination: tuple[str, str, str],
    one: int,
) -> None:
    data, order = drawn
    folder = tmp_path_factory.mktemp("slices")
    text = pl.read_csv(write_dataset(data, folder / "x.csv"), infer_schema=False)
    path = str(folder / "x.parquet")
    text[order].write_parquet(path)
    mode, level, scope = combination
    settings_ = Settings(as_of=data.as_of, mode=mode, level=level, scope=scope)  # type: ignore[arg-type]
    build = PLAIN[one]
    whole = load([path])
    for count in COUNTS:
        rows = early(path, count, build, settings_)
        assert csv_of(build, rows, settings_) == csv_of(build, whole, settings_), count
        assert (rows.read, rows.duplicates) == (whole.read, whole.duplicates)
        if count > 1 and len(set(order)) == len(order):
            assert in_slices(rows), count  # no row twice: nothing to make sure of


def test_reports_that_hold_more_per_row_take_more_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # sample_data/subscriptions.csv needs 731,220 bytes read whole (test_scale). A fifth of
    # 1 MiB is 209,715 bytes: movements 731,220 / 209,715 = 3.49, so 4 parts; metrics (1.5×)
    # 1,096,830 / 209,715 = 5.23, so 6; cohorts (1.4×) 1,023,708 / 209,715 = 4.88, so 5.
    monkeypatch.setattr(split, "available_memory", lambda: 1 << 20)
    options = report.ReadOptions()
    settings_ = Settings(as_of=AS_OF)
    for build, count in ((report.movements, 4), (report.metrics, 6), (report.cohorts, 5)):
        weight = split.report_weight(batches.needs_of(report.ahead(build, settings_)))
        assert split.part_count([str(SAMPLE_CSV)], options, weight) == count
    assert split.report_weight(None) == 1.0


def test_a_file_of_few_large_row_groups_is_read_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 rows in one row group, read in 2 slices of 2 rows: each slice would decode the whole
    # group (2 × 2 > 2 rows a slice); in groups of one row (1 × 2 <= 2) it is sliced.
    monkeypatch.setattr(batches, "SMALL_FILE", 0)
    one_group = export(tmp_path, SPREAD)
    settings_ = Settings(as_of=AS_OF)
    assert not in_slices(early(one_group, 2, report.movements, settings_))
    small_groups = str(tmp_path / "groups.parquet")
    pl.read_parquet(one_group).write_parquet(small_groups, row_group_size=1)
    rows = early(small_groups, 2, report.movements, settings_)
    assert in_slices(rows)
    assert csv_of(report.movements, rows, settings_) == csv_of(
        report.movements, load([one_group]), settings_
    )
