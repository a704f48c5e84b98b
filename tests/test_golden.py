"""Golden outputs: byte-exact stdout, stderr and exit code of every command, format, mode, level
and scope on sample_data/ and the source fixtures, committed under tests/golden/.

They are the safety net for refactoring: a change that alters one must say why in its commit
message. Regenerate them on purpose with `make golden` (MRRCLI_GOLDEN_WRITE=1), then read the
diff before committing it.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from tests.conftest import ROOT

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("MRRCLI_GOLDEN_WRITE") == "1"

SAMPLE = "sample_data/subscriptions.csv"
SAMPLE_AS_OF = ("--as-of", "2026-06-30")
SPEC = "tests/fixtures/spec_example.csv"
SPEC_AS_OF = ("--as-of", "2024-05-31")
REPORTS = ("movements", "expansion", "metrics", "customers")
FORMATS = ("csv", "json", "ndjson", "markdown", "table")
COMBINATIONS = list(
    itertools.product(("event", "snapshot"), ("customer", "subscription"), ("strict", "broad"))
)
SOURCES = Path("tests/fixtures/sources")
SOURCE_AS_OF = ("--as-of", "2024-12-31")


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def _combo(mode: str, level: str, scope: str) -> tuple[str, ...]:
    return ("--mode", mode, "--level", level, "--expansion-scope", scope)


def _cases() -> list[Case]:
    cases: list[Case] = []
    for report, (mode, level, scope) in itertools.product(REPORTS, COMBINATIONS):
        combo = _combo(mode, level, scope)
        suffix = f"{mode}-{level}-{scope}"
        cases.append(Case(f"sample/{report}-{suffix}", (report, SAMPLE, *SAMPLE_AS_OF, *combo)))
        cases.append(Case(f"spec/{report}-{suffix}", (report, SPEC, *SPEC_AS_OF, *combo)))
    for report, fmt in itertools.product(REPORTS, FORMATS):
        narrow = ("--month", "2026-03") if report == "customers" else ("--from", "2025-07")
        cases.append(
            Case(f"sample/{report}-{fmt}", (report, SAMPLE, *SAMPLE_AS_OF, *narrow, "-f", fmt))
        )
        cases.append(Case(f"spec/{report}-{fmt}", (report, SPEC, *SPEC_AS_OF, "-f", fmt)))
    cases += [
        Case(
            "sample/parquet-movements",
            ("movements", "sample_data/subscriptions.parquet", *SAMPLE_AS_OF),
        ),
        Case(
            "sample/movements-from-to",
            ("movements", SAMPLE, *SAMPLE_AS_OF, "--from", "2025-02", "--to", "2025-09"),
        ),
        Case(
            "sample/movements-month-to-date",
            ("movements", SAMPLE, "--as-of", "2026-06-17", "--from", "2026-01", "-f", "table"),
        ),
        Case(
            "sample/expansion-days-per-month",
            ("expansion", SAMPLE, *SAMPLE_AS_OF, "--days-per-month", "30", "--from", "2026-01"),
        ),
        Case(
            "sample/customers-filters",
            ("customers", SAMPLE, *SAMPLE_AS_OF, "--movement", "churn", "--customer", "cus_0117"),
        ),
        Case("sample/movements-quiet", ("movements", SAMPLE, *SAMPLE_AS_OF, "-q")),
        Case(
            "sample/movements-in-parts",
            ("movements", SAMPLE, *SAMPLE_AS_OF),
            {"MRRCLI_WHOLE_ROWS": "500"},
        ),
        Case(
            "sample/metrics-in-parts-snapshot",
            ("metrics", SAMPLE, *SAMPLE_AS_OF, "--mode", "snapshot", "--level", "subscription"),
            {"MRRCLI_WHOLE_ROWS": "700"},
        ),
        Case(
            "sample/customers-in-parts",
            ("customers", SAMPLE, *SAMPLE_AS_OF, "--month", "2026-02"),
            {"MRRCLI_WHOLE_ROWS": "500"},
        ),
        Case("sample/validate", ("validate", SAMPLE)),
        Case("spec/validate-json", ("validate", SPEC, "-f", "json")),
    ]
    rules = ("-r", "expansion_to_new>=0.30", "-r", "nrr>=1", "-r", "churned_mrr<5000")
    for fmt in FORMATS:
        cases.append(
            Case(f"sample/check-{fmt}", ("check", SAMPLE, *SAMPLE_AS_OF, *rules, "-f", fmt))
        )
    cases.append(
        Case(
            "sample/check-month",
            ("check", SAMPLE, *SAMPLE_AS_OF, "--month", "2026-02", "-r", "quick_ratio>2"),
        )
    )
    # A fixture is a file, or a folder of the tables of one export passed together.
    fixtures = [
        (f.stem, (str(SOURCES / f.name),)) for f in sorted((ROOT / SOURCES).glob("*.csv"))
    ] + [
        (d.name, tuple(str(SOURCES / d.name / f.name) for f in sorted(d.glob("*.csv"))))
        for d in sorted((ROOT / SOURCES).iterdir())
        if d.is_dir()
    ]
    for stem, paths in fixtures:
        for report in ("movements", "metrics", "customers"):
            cases.append(Case(f"sources/{stem}-{report}", (report, *paths, *SOURCE_AS_OF)))
        cases.append(
            Case(
                f"sources/{stem}-snapshot",
                ("movements", *paths, *SOURCE_AS_OF, "--mode", "snapshot"),
            )
        )
        cases.append(Case(f"sources/{stem}-validate", ("validate", *paths)))
    lookups = (
        "tests/fixtures/lookups/stripe_lines.csv",
        "tests/fixtures/lookups/stripe_invoices.csv",
    )
    cases.append(Case("sources/stripe-lookups-movements", ("movements", *lookups, *SOURCE_AS_OF)))
    cases.append(Case("sources/stripe-lookups-customers", ("customers", *lookups, *SOURCE_AS_OF)))
    for fixture in ("several_problems", "unmapped_headers"):
        path = f"tests/fixtures/bad/{fixture}.csv"
        cases.append(Case(f"bad/{fixture}-movements", ("movements", path, *SOURCE_AS_OF)))
        cases.append(Case(f"bad/{fixture}-validate", ("validate", path)))
    cases.append(
        Case(
            "bad/unmapped-headers-mapped",
            (
                "movements",
                "tests/fixtures/bad/unmapped_headers.csv",
                "--map",
                "customer_id=Account",
                "--map",
                "start_date=Start",
                "--map",
                "amount=Price",
                *SOURCE_AS_OF,
            ),
        )
    )
    cases.append(
        Case("bad/no-such-file", ("metrics", "tests/fixtures/bad/absent.csv", *SOURCE_AS_OF))
    )
    cases += _cohort_cases()
    cases.append(Case("bad/bad-month", ("movements", SAMPLE, *SAMPLE_AS_OF, "--from", "2026-13")))
    cases += _segment_cases()
    cases += _period_cases()
    return cases


def _segment_cases() -> list[Case]:
    """Segments (SPEC §9): --by plan_id on the sample and on the SPEC example with plans."""
    plans = "tests/fixtures/spec_example_plans.csv"
    by = ("--by", "plan_id")
    recent = ("--from", "2026-01")
    cases = [
        Case(
            f"segments/sample-{report}-{fmt}",
            (report, SAMPLE, *SAMPLE_AS_OF, *recent, *by, "-f", fmt),
        )
        for report in ("movements", "expansion", "metrics")
        for fmt in ("csv", "table")
    ]
    cases += [
        Case(f"segments/spec-{report}", (report, plans, *SPEC_AS_OF, *by, "-f", "csv"))
        for report in ("movements", "metrics", "customers")
    ]
    cases += [
        Case(
            "segments/sample-movements-snapshot-subscription-broad",
            (
                "movements",
                SAMPLE,
                *SAMPLE_AS_OF,
                *recent,
                *by,
                *_combo("snapshot", "subscription", "broad"),
            ),
        ),
        Case(
            "segments/sample-movements-in-parts",
            ("movements", SAMPLE, *SAMPLE_AS_OF, *recent, *by),
            {"MRRCLI_WHOLE_ROWS": "500"},
        ),
        Case(
            "segments/sample-check",
            ("check", SAMPLE, *SAMPLE_AS_OF, *by, "-r", "nrr>=0.98", "-r", "churned_mrr<1000"),
        ),
        Case("segments/unknown-by", ("movements", SAMPLE, *SAMPLE_AS_OF, "--by", "country")),
    ]
    return cases


def _period_cases() -> list[Case]:
    """--period quarter and year (SPEC §5): every report and format on the SPEC example, the
    sample by quarter from a cut --from to a quarter to date, in parts, and check."""
    cases = []
    for report, period in itertools.product(
        ("movements", "expansion", "metrics"), ("quarter", "year")
    ):
        args = (report, SPEC, *SPEC_AS_OF, "--period", period)
        cases.append(Case(f"spec/{report}-{period}", args))
        cases.append(Case(f"spec/{report}-{period}-json", (*args, "-f", "json")))
    for report in ("movements", "expansion", "metrics"):
        args = (report, SAMPLE, "--as-of", "2026-06-17", "--from", "2025-02", "--period", "quarter")
        cases.append(Case(f"sample/{report}-quarter-table", (*args, "-f", "table")))
        cases.append(Case(f"sample/{report}-quarter-in-parts", args, {"MRRCLI_WHOLE_ROWS": "500"}))
    rules = ("-r", "nrr>=1", "-r", "expansion_to_new>=0.30")
    cases.append(
        Case(
            "sample/check-quarter", ("check", SAMPLE, *SAMPLE_AS_OF, "--period", "quarter", *rules)
        )
    )
    return cases


def _cohort_cases() -> list[Case]:
    """`cohorts` (SPEC §10): the SPEC example in every combination and format, the sample
    data's triangle of each metric (month to date), a window and a run in parts."""
    cases: list[Case] = []
    for mode, level, scope in COMBINATIONS:
        args = ("cohorts", SPEC, *SPEC_AS_OF, *_combo(mode, level, scope), "-f", "csv")
        cases.append(Case(f"spec/cohorts-{mode}-{level}-{scope}", args))
    for fmt in FORMATS:
        cases.append(Case(f"spec/cohorts-{fmt}", ("cohorts", SPEC, *SPEC_AS_OF, "-f", fmt)))
    to_date = ("--as-of", "2026-06-17", "--from", "2025-07")
    for metric in ("nrr", "grr", "logo", "mrr"):
        args = ("cohorts", SAMPLE, *to_date, "--metric", metric, "-f", "table")
        cases.append(Case(f"sample/cohorts-table-{metric}", args))
    window = ("--from", "2025-01", "--to", "2025-12", "--mode", "snapshot")
    cases.append(Case("sample/cohorts-from-to", ("cohorts", SAMPLE, *SAMPLE_AS_OF, *window)))
    cases.append(
        Case(
            "sample/cohorts-in-parts",
            ("cohorts", SAMPLE, *SAMPLE_AS_OF, "--level", "subscription"),
            {"MRRCLI_WHOLE_ROWS": "500"},
        )
    )
    return cases


CASES = _cases()
runner = CliRunner()


def _transcript(case: Case) -> str:
    result = runner.invoke(app, list(case.args), env=case.env or None)
    return (
        f"$ mrrcli {' '.join(case.args)}\n"
        + "".join(f"# env {k}={v}\n" for k, v in case.env.items())
        + f"exit: {result.exit_code}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    )


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


def test_every_report_case_has_an_as_of() -> None:
    # Without --as-of a report runs to today: its output (and staleness, SPEC §12) would
    # change with the day the tests run.
    undated = [c.name for c in CASES if c.args[0] != "validate" and "--as-of" not in c.args]
    assert undated == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    got = _transcript(case)
    path = GOLDEN / f"{case.name}.txt"
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
        return
    assert path.exists(), f"no golden output {path}: run `make golden`"
    want = path.read_text(encoding="utf-8")
    assert got == want, f"{path} differs (regenerate on purpose with `make golden`)"
