"""Each row's MRR in Int64 when the frame's bounds allow it (normalize/narrow.py), else in
Int128 (normalize/numbers.py): both paths give the same MRR, flags and errors.

    narrow ⟺ 2 × (numerator + denominator) < 2^62, with, from the columns' largest values,
    numerator = price × max per_month_den × rate × 10^exponent
    denominator = max per_month_num × interval_count × 10^(price places + unit + rate places)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import mrrcli.normalize.periods as periods
from mrrcli.errors import InputError
from mrrcli.normalize import narrow
from mrrcli.normalize.numbers import Division
from mrrcli.report import load, validate

Path_ = Literal["narrow", "wide"]


@contextmanager
def path_taken(force: Path_ | None, chosen: list[bool]) -> Iterator[None]:
    """Run with narrow.FORCE_PATH = `force`, recording in `chosen` whether each frame's MRR was
    worked out narrow."""
    decide = periods.narrow_division

    def recording(frame: pl.DataFrame, division: Division, rates: pl.Series | None) -> Division:
        decided = decide(frame, division, rates)
        chosen.append(decided.narrow)
        return decided

    before = narrow.FORCE_PATH
    narrow.FORCE_PATH = force
    periods.narrow_division = recording  # type: ignore[assignment]
    try:
        yield
    finally:
        narrow.FORCE_PATH = before
        periods.narrow_division = decide  # type: ignore[assignment]


def outcome(paths: list[str], options: dict[str, Any]) -> tuple[Any, ...]:
    """Everything a load shows of each row's MRR: the rows (every column), the rows whose
    discount is larger than their price, the counts; or the error's message. And every
    problem validate gathers."""
    checked = validate(paths, **options)
    problems = (checked.frame().to_dicts(), checked.used, checked.set_aside)
    try:
        rows = load(paths, **options)
    except InputError as error:
        return ("error", str(error), problems)
    over = rows.over_discount.to_dicts() if rows.over_discount is not None else None
    kept = (rows.frame.to_dicts(), over, rows.zero_rows, rows.trial_rows, rows.notes)
    return ("rows", kept, problems)


# --- random exports -----------------------------------------------------------------------------


@dataclass
class Export:
    columns: dict[str, list[Any]]  # column → values (None: empty), text or typed
    parquet: bool
    options: dict[str, Any]
    fx: str | None  # the --fx file's text


def decimal_text(mantissa: int, places: int, exponent_form: bool) -> str:
    """mantissa ÷ 10^places as text: 12345, 2 → "123.45" (or "12345e-2")."""
    if exponent_form:
        return f"{mantissa}e-{places}"
    if places == 0:
        return str(mantissa)
    sign = "-" if mantissa < 0 else ""
    whole, part = divmod(abs(mantissa), 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


@st.composite
def numbers(draw: st.DrawFn, most: int, places: int, n: int, bad: bool) -> list[Any]:
    """`n` values of at most `most` (× 10^-places), some empty, a few negative when `bad`."""
    exponent_form = draw(st.booleans()) and draw(st.booleans())
    values: list[Any] = []
    for _ in range(n):
        mantissa = draw(st.integers(0, most))
        if bad and draw(st.integers(0, 9)) == 0:
            mantissa = -mantissa - 1
        empty = draw(st.integers(0, 9)) == 0
        values.append(None if empty else (mantissa, places, exponent_form))
    return values


@st.composite
def exports(draw: st.DrawFn) -> Export:
    n = draw(st.integers(1, 7))
    bad = draw(st.integers(0, 4)) == 0
    big = draw(st.integers(0, 5)) == 0  # values that may need Int128
    columns: dict[str, list[Any]] = {
        "customer_id": [f"c{draw(st.integers(0, 3))}" for _ in range(n)],
        "subscription_id": [f"s{i % 3}" for i in range(n)],
        "start_date": [f"2024-0{draw(st.integers(1, 9))}-1{i % 10}" for i in range(n)],
    }
    places = draw(st.integers(0, 12 if big else 4))
    amounts = draw(numbers(10**13 if big else 10**7, places, n, bad))
    columns["amount"] = [a if a is not None else (0, 0, False) for a in amounts]
    if draw(st.booleans()):
        columns["quantity"] = draw(numbers(10**15 if big else 500, draw(st.integers(0, 3)), n, bad))
    if draw(st.booleans()):
        most = 10**6 if bad else 100 * 10**2
        columns["discount_percent"] = draw(numbers(most, 2, n, False))
    if draw(st.booleans()):
        columns["discount_amount"] = draw(numbers(10**6, 2, n, bad))
    if draw(st.booleans()):
        columns["addons_amount"] = draw(numbers(10**5, draw(st.integers(0, 3)), n, False))
    if draw(st.booleans()):
        names = ["day", "week", "month", "quarter", "year", "weekly", "annual"]
        if bad:
            names.append("fortnight")
        columns["interval"] = [draw(st.sampled_from(names)) for _ in range(n)]
    if draw(st.booleans()):
        counts = [draw(st.integers(0 if bad else 1, 24)) for _ in range(n)]
        columns["interval_count"] = [(c, 0, False) for c in counts]
    if draw(st.booleans()):
        columns["status"] = [draw(st.sampled_from(["active", "trialing"])) for _ in range(n)]
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["amount_unit"] = "minor"
    if draw(st.booleans()):
        options["days_per_month"] = Fraction(draw(st.sampled_from([30, 28, 31])))
    fx = None
    if draw(st.booleans()):
        columns["currency"] = [draw(st.sampled_from(["USD", "EUR", "JPY"])) for _ in range(n)]
        rates = [draw(st.integers(1, 2_000_000)) for _ in range(2)]
        # Rates from January, or from May (earlier subscriptions have none: an error).
        days = [draw(st.sampled_from(["01-01", "01-01", "05-01"])) for _ in range(2)]
        fx = "date,currency,rate\n" + "".join(
            f"2024-{day},{c},{decimal_text(r, 4 + i, False)}\n"
            for i, (c, r, day) in enumerate(zip(["EUR", "JPY"], rates, days, strict=True))
        )
        options["currency"] = "USD"
    return Export(columns, draw(st.booleans()), options, fx)


def write_export(export: Export, folder: Path) -> list[str]:
    """The export as a CSV (numbers as text) or a Parquet file (numbers as Decimal columns of
    their scale, counts as integers)."""
    number_columns = {"amount", "quantity", "discount_percent", "discount_amount"}
    number_columns |= {"addons_amount", "interval_count"}
    if not export.parquet:
        text: dict[str, list[str | None]] = {
            name: [
                decimal_text(*v) if isinstance(v, tuple) else v
                for v in values  # type: ignore[misc]
            ]
            for name, values in export.columns.items()
        }
        path = folder / "export.csv"
        pl.DataFrame(text).write_csv(path)
        return [str(path)]
    typed: dict[str, pl.Series] = {}
    for name, values in export.columns.items():
        if name not in number_columns:
            typed[name] = pl.Series(name, values, dtype=pl.String)
        elif name == "interval_count":
            typed[name] = pl.Series(name, [v and v[0] for v in values], dtype=pl.Int32)
        else:
            scale = max((v[1] for v in values if v is not None), default=0)
            typed[name] = pl.Series(
                name,
                [None if v is None else Decimal(v[0]).scaleb(-v[1]) for v in values],
                dtype=pl.Decimal(38, scale),
            )
    path = folder / "export.parquet"
    pl.DataFrame(typed).write_parquet(path)
    return [str(path)]


def written(export: Export, folder: Path) -> tuple[list[str], dict[str, Any]]:
    """The export's files in `folder` and its reading options (its FX file among them)."""
    paths = write_export(export, folder)
    options = dict(export.options)
    if export.fx is not None:
        (folder / "rates.csv").write_text(export.fx)
        options["fx"] = str(folder / "rates.csv")
    return paths, options


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export=exports())
def test_the_int64_and_int128_paths_agree(
    tmp_path_factory: pytest.TempPathFactory, export: Export
) -> None:
    """For random exports, the rows, flags, counts, errors and problems are the same whichever
    path works out the MRR; forced narrow too, when the data's bounds allow it."""
    paths, options = written(export, tmp_path_factory.mktemp("export"))
    chosen: list[bool] = []
    with path_taken("wide", chosen):
        wide = outcome(paths, options)
    assert not any(chosen)
    chosen = []
    with path_taken(None, chosen):
        auto = outcome(paths, options)
    event(f"narrow {any(chosen)}, {wide[0]}")
    assert auto == wide
    if chosen and all(chosen):
        with path_taken("narrow", []):
            assert outcome(paths, options) == wide


def test_both_paths_are_taken_by_the_random_exports(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The property above compares something: among exports drawn as it draws them, some are
    worked out narrow and some wide."""
    chosen: list[bool] = []

    @settings(max_examples=40, deadline=None, database=None)
    @given(export=exports())
    def draw(export: Export) -> None:
        paths, options = written(export, tmp_path_factory.mktemp("export"))
        with path_taken(None, chosen), contextlib.suppress(InputError):
            load(paths, **options)

    draw()
    assert set(chosen) == {True, False}


# --- at the edge of the Int64 path ---------------------------------------------------------------

# The frame of `edge_export`: amounts 1000 and 10 (no decimals), quantities Q and 3, intervals
# month and day, in USD (2 decimals), major units, 30.4375 = 487/16 days a month. From the
# largest values (narrow.py):
#   price       = 1000 × Q                         (scale 0)
#   numerator   = 1000 × Q × 487 × 1 × 10^2 = 48,700,000 × Q   (487: a day's per_month_den)
#   denominator = 112 × 1 × 10^0 = 112
#   (per_month_den and per_month_num at most over the codes day … month: 487 a day's,
#   112 = 7 × 16 a week's; no interval_count: 1)
# narrow ⟺ 2 × (48,700,000 × Q + 112) < 2^62 ⟺ 48,700,000 × Q < 2^61 − 112
#   2^61 − 112 = 2,305,843,009,213,693,840; ÷ 48,700,000 = 47,347,905,733.34…
Q_NARROW = 47_347_905_733  # the largest Q that is narrow
Q_WIDE = 47_347_905_734  # the smallest that is not
assert 48_700_000 * Q_NARROW < 2**61 - 112 < 48_700_000 * Q_WIDE


def edge_export(folder: Path, quantity: int) -> str:
    path = folder / "edge.csv"
    path.write_text(
        "customer_id,start_date,amount,quantity,interval\n"
        f"A,2024-01-01,1000,{quantity},month\n"
        "B,2024-01-01,10,3,day\n"
    )
    return str(path)


@pytest.mark.parametrize(("quantity", "is_narrow"), [(Q_NARROW, True), (Q_WIDE, False)])
def test_the_path_at_the_int64_threshold(tmp_path: Path, quantity: int, is_narrow: bool) -> None:
    chosen: list[bool] = []
    with path_taken(None, chosen):
        rows = load([edge_export(tmp_path, quantity)])
    assert chosen == [is_narrow]
    mrr = rows.frame.sort("_row").get_column("mrr").to_list()
    # A: 1000 × Q a month = 100,000 × Q cents:
    #   Q_NARROW → 4,734,790,573,300,000; Q_WIDE → 4,734,790,573,400,000 (both below 2^62).
    # B: 10 × 3 a day × 30.4375 days = 913.125 → 91,312.5 cents → 91,313 (half away from 0).
    expected_a = {Q_NARROW: 4_734_790_573_300_000, Q_WIDE: 4_734_790_573_400_000}[quantity]
    assert mrr == [expected_a, 91_313]
    with path_taken("wide", []):
        assert load([edge_export(tmp_path, quantity)]).frame.equals(rows.frame)


def test_a_typed_parquet_export_is_narrow_and_to_the_cent(tmp_path: Path) -> None:
    """Decimal(18,2) amounts, Int32 quantities and counts, as the bench file has them."""
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "start_date": ["2024-01-01"] * 3,
            "amount": pl.Series([Decimal("49.99"), Decimal("600.00"), Decimal("7.25")]).cast(
                pl.Decimal(18, 2)
            ),
            "quantity": pl.Series([3, 2, None], dtype=pl.Int32),
            "interval": ["month", "year", "week"],
            "interval_count": pl.Series([1, 1, 2], dtype=pl.Int32),
        }
    ).write_parquet(path)
    chosen: list[bool] = []
    with path_taken(None, chosen):
        rows = load([str(path)])
    assert chosen == [True]
    # A: 49.99 × 3 = 149.97 → 14,997 cents.
    # B: 600.00 × 2 a year ÷ 12 = 100.00 → 10,000 cents.
    # C: 7.25 (no quantity: 1) every 2 weeks = 7.25 ÷ (2 × 7 ÷ 30.4375) = 15.7622… → 1,576 cents
    #    (725 × 487 ÷ (2 × 112) = 353,075 ÷ 224 = 1,576.23… cents).
    assert rows.frame.sort("_row").get_column("mrr").to_list() == [14_997, 10_000, 1_576]


# --- the amount's limit, compared exactly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "refused"),
    [
        ("999999999999.99", False),  # 99,999,999,999,999 < 10^14 (10^12 at 2 places)
        ("1000000000000.00", True),  # = 10^14
        ("1000000000000", True),  # = 10^12 at 0 places
        # Per-row scales (exponent notation): 9.99…e11 = 999,999,999,999.9999999 < 10^12
        ("9.999999999999999999e11", False),
        ("1e12", True),
    ],
)
def test_the_amount_limit_is_exact(tmp_path: Path, amount: str, refused: bool) -> None:
    path = tmp_path / "large.csv"
    # A second row with another scale, so that exponent notation gives each row its own scale.
    path.write_text(f"customer_id,start_date,amount\nA,2024-01-01,{amount}\nB,2024-01-01,1.5\n")
    run: Callable[[], object] = lambda: load([str(path)])  # noqa: E731
    if refused:
        with pytest.raises(InputError, match="implausibly large"):
            run()
    else:
        run()


@pytest.mark.parametrize(
    ("percent", "refused"),
    [
        ("100.00", False),  # 10,000 = 100 × 10^2 at 2 places: a full discount
        ("100.01", True),  # 10,001 > 10,000
        # Per-row scales (exponent notation; the other row has 1 place):
        ("1e2", False),  # 100 at 0 places = 100
        ("1.0000001e2", True),  # 100.00001: 10,000,001 at 5 places > 100 × 10^5
    ],
)
def test_the_discount_percent_limit_is_exact(tmp_path: Path, percent: str, refused: bool) -> None:
    path = tmp_path / "percent.csv"
    path.write_text(
        "customer_id,start_date,amount,discount_percent\n"
        f"A,2024-01-01,10,{percent}\nB,2024-01-01,10,12.5\n"
    )
    if refused:
        with pytest.raises(InputError, match="not between 0 and 100"):
            load([str(path)])
    else:
        # A at 0 MRR (a full discount); B: 10 × (1 − 0.125) = 8.75 → 875 cents.
        assert load([str(path)]).frame.sort("_row").get_column("mrr").to_list() == [0, 875]


@pytest.mark.parametrize("path", ["wide", None])
def test_an_empty_percentage_beside_exponent_form_is_no_discount(
    tmp_path: Path, path: Literal["wide"] | None
) -> None:
    # A discount_percent column in exponent form scales each row apart, so its empty cell has
    # no scale; the Int128 path once bounded that row by null and called it an overflow.
    # 10.00 with no discount = 1,000 cents; 0e-2 % off = 1,000; 1e1 = 10 % off 10.00 = 900.
    csv = tmp_path / "export.csv"
    csv.write_text(
        "customer_id,start_date,amount,discount_percent\n"
        "a,2024-01-01,10,\nb,2024-01-01,10,0e-2\nc,2024-01-01,10,1e1\n"
    )
    with path_taken(path, []):
        rows = load([str(csv)])
    assert rows.frame.sort("customer_id").get_column("mrr").to_list() == [1000, 1000, 900]
