"""Charts (SPEC §11): specs as plain dicts snapshot-tested on the SPEC §8 example, drawn the same
twice, titled and labelled with the currency, legends not by colour alone; `--chart PATH`; the
pictures extra imported only when a picture is asked for, and one line when it is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.cli.pictures import chart_arguments
from mrrcli.present.pictures import render, specs
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, expansion, load, metrics, movements
from tests.conftest import ROOT, SPEC_EXAMPLE

GOLDEN = ROOT / "tests" / "golden" / "pictures"
WRITE = os.environ.get("MRRCLI_GOLDEN_WRITE") == "1"
AS_OF = ("--as-of", "2024-05-31")
PIPE = Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=100, color=False)
# A hand-made cohorts frame (the cohorts report is not built yet): cohort 2024-01 has base 160
# (A 100 + C 60); at age 1 (February) A pays 180 and C left: 180 / 160 = 1.125.
COHORTS = pl.DataFrame(
    {
        "cohort": ["2024-01", "2024-01", "2024-02", "all", "all"],
        "age": [0, 1, 0, 0, 1],
        "nrr": [1.0, 1.125, 1.0, 1.0, 1.125],
    }
)


@pytest.fixture(scope="module")
def spec_reports() -> dict[str, Any]:
    rows = load([str(SPEC_EXAMPLE)])
    settings = Settings(as_of=date(2024, 5, 31))
    return {
        "movements": movements(rows, settings),
        "expansion": expansion(rows, settings),
        "metrics": metrics(rows, settings),
    }


def all_specs(reports: dict[str, Any]) -> dict[str, dict[str, Any]]:
    m, e, k = reports["movements"], reports["expansion"], reports["metrics"]
    return {
        "movements": specs.movements_spec(m.frame, "USD"),
        "expansion": specs.expansion_spec(e.frame, "USD", e.days_per_month),
        "retention": specs.retention_spec(k.frame, "USD"),
        "cohorts": specs.cohort_spec(COHORTS, "USD"),
    }


@pytest.mark.parametrize("name", ["movements", "expansion", "retention", "cohorts"])
def test_spec_matches_its_snapshot(spec_reports: dict[str, Any], name: str) -> None:
    spec = all_specs(spec_reports)[name]
    text = json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: MRRCLI_GOLDEN_WRITE=1 writes it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


def test_movement_bars_hold_the_report_values_losses_drawn_down(
    spec_reports: dict[str, Any],
) -> None:
    spec = all_specs(spec_reports)["movements"]
    closing, bars = spec["vconcat"]
    amounts = {(v["month"], v["movement"]): v["amount"] for v in bars["data"]["values"]}
    # SPEC §8: January new 160 (A 100 + C 60); February expansion 80 (A 100 → 180), churn 60
    # (C) drawn below zero; April churn 180 (A); May reactivation 75 (C).
    assert amounts[("2024-01", "new")] == 160.0
    assert amounts[("2024-02", "expansion")] == 80.0
    assert amounts[("2024-02", "churned")] == -60.0
    assert amounts[("2024-04", "churned")] == -180.0
    assert amounts[("2024-05", "reactivation")] == 75.0
    assert [v["closing_mrr"] for v in closing["data"]["values"]] == [160, 280, 280, 100, 175]


def test_benchmark_line_is_30_percent_of_new_day_normalized(spec_reports: dict[str, Any]) -> None:
    spec = all_specs(spec_reports)["expansion"]
    line = spec["layer"][1]
    expression = line["transform"][0]["calculate"]
    february = next(v for v in spec["data"]["values"] if v["month"] == "2024-02")
    # The spec's own expression, evaluated on February's row: 0.3 x 100 x 30.4375 / 29
    # = 31.487069; the bar, 80 x 30.4375 / 29 = 83.965517, is above it (80/100 >= 0.3).
    value = eval(expression.replace("datum.", ""), {}, february)
    assert round(value, 6) == 31.487069
    assert february["expansion_mrr_daynorm"] == 83.965517
    assert february["benchmark_met"] is True


def test_standard_days_of_a_month_a_quarter_a_year() -> None:
    frame = pl.DataFrame({"month": ["2026-06", "2026-Q2", "2026"]})
    # 30.4375 a month; 3 x 30.4375 = 91.3125 a quarter; 12 x 30.4375 = 365.25 a year.
    got = frame.select(specs.standard_days(30.4375)).get_column("standard").to_list()
    assert got == [30.4375, 91.3125, 365.25]


def test_retention_shows_the_trailing_twelve_months_when_the_metrics_have_them() -> None:
    frame = pl.DataFrame(
        {
            "month": ["2025-01", "2025-02"],
            "nrr": [1.0, 0.9],
            "grr": [0.95, 0.9],
            "nrr_ttm": [None, 1.1],
            "grr_ttm": [None, 0.8],
        }
    )
    spec = specs.retention_spec(frame, "EUR")
    series = {(v["month"], v["series"]): v["ratio"] for v in spec["layer"][1]["data"]["values"]}
    # Four series; the empty January TTM values are left out, not drawn as 0.
    assert series == {
        ("2025-01", "NRR (month)"): 1.0,
        ("2025-02", "NRR (month)"): 0.9,
        ("2025-01", "GRR (month)"): 0.95,
        ("2025-02", "GRR (month)"): 0.9,
        ("2025-02", "NRR (12 mo)"): 1.1,
        ("2025-02", "GRR (12 mo)"): 0.8,
    }


def _encodings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    views = spec.get("vconcat") or spec.get("layer") or [spec]
    return [view["encoding"] for view in views if "encoding" in view]


@pytest.mark.parametrize("name", ["movements", "expansion", "retention", "cohorts"])
def test_every_chart_has_a_title_axes_with_the_currency_and_a_legend_beyond_colour(
    spec_reports: dict[str, Any], name: str
) -> None:
    spec = all_specs(spec_reports)[name]
    assert "USD" in spec["title"]["text"]
    encodings = _encodings(spec)
    titles = [e["y"].get("title") or "" for e in encodings if "y" in e]
    if name == "cohorts":  # the axes are months; the colour scale is of the currency's MRR
        titles = [e["color"].get("title") or "" for e in encodings]
    assert any("USD" in t for t in titles), titles
    assert all(e["x"].get("title") for e in encodings if "x" in e and e["x"].get("axis", 1))
    if name == "cohorts":
        texts = [e for e in encodings if "text" in e]
        assert texts and texts[0]["text"]["field"] == "nrr"  # every cell prints its number
        return
    # A second channel besides colour tells the series apart, each its own value.
    other = [e[c] for e in encodings for c in ("strokeDash", "shape") if c in e]
    assert other, "no channel besides colour"
    for channel in other:
        ranges = [json.dumps(r) for r in channel["scale"]["range"]]
        assert len(set(ranges)) == len(ranges), ranges


def test_the_same_input_draws_the_same_bytes(spec_reports: dict[str, Any]) -> None:
    spec = all_specs(spec_reports)["movements"]
    svg = render.picture(spec, ".svg")
    png = render.picture(spec, ".png")
    assert svg.startswith(b"<svg") and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert render.picture(spec, ".svg") == svg
    assert render.picture(spec, ".png") == png
    assert b"DejaVu Sans" in svg  # the font shipped in the package


def test_a_gradient_is_numbered_in_its_own_picture() -> None:
    # Vega numbers gradients with one counter per process: drawn twice, the second chart said
    # `gradient_1`. Each SVG now numbers its own from 0, so it is the same bytes both times.
    heat = {
        "data": {"values": [{"x": "a", "y": "b", "v": 1}, {"x": "b", "y": "a", "v": 2}]},
        "mark": "rect",
        "encoding": {
            "x": {"field": "x", "type": "nominal"},
            "y": {"field": "y", "type": "nominal"},
            "color": {"field": "v", "type": "quantitative"},
        },
    }
    first, second = render.to_svg(heat), render.to_svg(heat)
    assert 'id="gradient_0"' in first and "url(#gradient_0)" in first
    assert "gradient_1" not in first
    assert second == first


def test_the_font_and_its_licence_ship_in_the_package() -> None:
    names = sorted(p.name for p in render.FONTS.iterdir())
    assert names == ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LICENSE"]
    assert "Bitstream" in (render.FONTS / "LICENSE").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"mrrcli.present.pictures" = ["fonts/*.ttf", "fonts/LICENSE"]' in pyproject


def test_chart_arguments() -> None:
    # --chart before an image path takes it; --chart alone (or before a FILE) is the flag.
    assert chart_arguments(["a.csv", "--chart", "m.PNG"]) == ["a.csv", "--chart-path", "m.PNG"]
    assert chart_arguments(["--chart=m.svg", "a.csv"]) == ["--chart-path=m.svg", "a.csv"]
    assert chart_arguments(["a.csv", "--chart", "-f", "table"]) == [
        "a.csv",
        "--chart",
        "-f",
        "table",
    ]
    assert chart_arguments(["a.csv", "--chart"]) == ["a.csv", "--chart"]
    assert chart_arguments(["--", "--chart", "x.png"]) == ["--", "--chart", "x.png"]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), obj=PIPE)


@pytest.mark.parametrize(
    ("command", "extension"),
    [("movements", ".svg"), ("expansion", ".png"), ("metrics", ".svg")],
)
def test_chart_path_writes_the_picture_and_the_report_unchanged(
    tmp_path: Path, command: str, extension: str
) -> None:
    path = tmp_path / f"chart{extension}"
    plain = invoke(command, str(SPEC_EXAMPLE), *AS_OF, "-f", "csv")
    drawn = invoke(command, str(SPEC_EXAMPLE), *AS_OF, "--chart", str(path), "-f", "csv")
    assert drawn.exit_code == 0, drawn.output
    assert drawn.stdout == plain.stdout
    data = path.read_bytes()
    assert data.startswith(b"<svg" if extension == ".svg" else b"\x89PNG")
    assert f"wrote the chart to {path}" in drawn.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_chart_path_replaces_an_existing_picture(tmp_path: Path) -> None:
    path = tmp_path / "chart.svg"
    path.write_text("old")
    result = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", str(path), "-q")
    assert result.exit_code == 0
    assert path.read_text().startswith("<svg")


def test_chart_path_of_another_kind_or_unwritable(tmp_path: Path) -> None:
    result = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", str(tmp_path / "m.pdf"))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"mrrcli: error: --chart {tmp_path}/m.pdf: a chart is written as .png or .svg\n"
    )
    gone = tmp_path / "no" / "such" / "m.png"
    result = invoke("movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", str(gone), "-q")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(f"mrrcli: error: {gone}: cannot write it")
    assert len(result.stderr.splitlines()) == 1


def test_a_missing_extra_is_one_line_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # `import vl_convert` fails
    render.converter.cache_clear()
    try:
        for args in (
            ["movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", str(tmp_path / "m.png")],
            ["report", str(SPEC_EXAMPLE), *AS_OF, "-o", str(tmp_path / "r.html")],
        ):
            result = invoke(*args)
            assert result.exit_code == 1
            assert result.stdout == ""
            assert result.stderr == (
                "mrrcli: error: pictures need the 'pictures' extra (vl-convert-python): "
                "pip install 'mrrcli[pictures]'\n"
            )
        assert list(tmp_path.iterdir()) == []
    finally:
        render.converter.cache_clear()


START_UP = """
import sys
sys.argv = ["mrrcli", *sys.argv[1:]]
from mrrcli.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("VL:" + str("vl_convert" in sys.modules) + "\\n")
"""


@pytest.mark.parametrize(
    "args",
    [["report", "--help"], ["movements", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "-f", "csv"]],
)
def test_vl_convert_is_imported_only_for_a_picture(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", START_UP, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert "VL:False" in done.stderr, done.stderr


def test_a_report_by_quarter_names_its_period() -> None:
    frame = pl.DataFrame({"month": ["2026-Q1", "2026-Q2"], "nrr": [1.0, 0.9], "grr": [0.9, 0.8]})
    spec = specs.retention_spec(frame, "USD", "quarter")
    names = {v["series"] for v in spec["layer"][1]["data"]["values"]}
    assert names == {"NRR (quarter)", "GRR (quarter)"}
    assert spec["layer"][1]["encoding"]["x"]["title"] == "quarter"
