"""`mrrcli report` (SPEC §11): the page opened in a real browser (headless Chromium, network
off), the e-mail parsed back, the figures held to the reports' own CSV, and the failures that
must write nothing.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.document import Report
from mrrcli.present.pictures import page as page_module
from mrrcli.present.pictures.mail import eml_report, html_report
from mrrcli.present.pictures.page import NO_COHORTS, Contents
from mrrcli.present.terminal import Terminal
from mrrcli.report import Settings, expansion, load, metrics, movements
from mrrcli.vocabulary import Level, Mode, Scope
from tests.conftest import ROOT, SAMPLE_CSV, SPEC_EXAMPLE

PIPE = Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=100, color=False)
SAMPLE_AS_OF = ("--as-of", "2026-06-30")
ARTIFACTS = ROOT / "test-artifacts"
# Every chart of the page: the cohort NRR heat map too, now that report.cohorts exists.
CHARTS = ("movements", "expansion", "retention", "cohorts")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), obj=PIPE)


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "report.html"
    result = invoke("report", str(SAMPLE_CSV), *SAMPLE_AS_OF, "-o", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    return path


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run .ci/run (CI installs Debian's chromium)")
    return found


# Chromium's own background requests (updates, time, spelling), never the page's.
BROWSER_OWN = re.compile(
    r"^https?://([\w-]+\.)*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/"
)


@dataclass
class Browsed:
    stdout: str
    stderr: str
    requests: list[str]  # every URL the page asked the network for (all of them fail)


def browse(page: Path, *args: str) -> Browsed:
    """Chromium, headless, every network request sent to a closed port and logged."""
    netlog = page.parent / f"{page.stem}-netlog.json"
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-background-networking",
        "--proxy-server=127.0.0.1:9",
        f"--log-net-log={netlog}",
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    logged = netlog.read_text(encoding="utf-8", errors="replace") if netlog.exists() else ""
    netlog.unlink(missing_ok=True)
    urls = sorted(set(re.findall(r'"url":"([^"]+)"', logged)))
    return Browsed(done.stdout, done.stderr, [u for u in urls if not BROWSER_OWN.match(u)])


def test_the_browser_check_sees_a_page_that_loads_from_the_network(tmp_path: Path) -> None:
    page = tmp_path / "external.html"
    page.write_text('<html><body><img src="http://example.com/logo.png"></body></html>')
    assert browse(page, "--dump-dom").requests == ["http://example.com/logo.png"]


def png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixel values of an 8-bit RGB(A) PNG, decoded with zlib
    (the filter bytes left in: distinct rows of distinct pixels are what is counted)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6)
    idat, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            idat += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(idat)
    size = 3 if colour == 2 else 4
    stride = width * size + 1
    pixels = {
        raw[row * stride + 1 + i : row * stride + 1 + i + size]
        for row in range(0, height, 7)
        for i in range(0, width * size, size * 5)
    }
    return width, height, pixels


def test_the_page_renders_in_a_browser_offline(sample_page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = browse(sample_page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert shot.exists(), done.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report-page.png")  # kept, not compared byte for byte
    assert done.requests == []  # nothing asked of the network (where every load would fail)
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 2000)
    assert len(pixels) > 50, "the screenshot is nearly blank"


def test_every_chart_is_in_the_rendered_page(sample_page: Path) -> None:
    done = browse(sample_page, "--dump-dom")
    dom = done.stdout
    for name in CHARTS:
        assert re.search(rf'<figure id="chart-{name}"><svg[^>]*role="img"', dom), name
    assert dom.count("<svg") == len(CHARTS)
    assert done.requests == []


def test_the_page_is_self_contained(sample_page: Path) -> None:
    text = sample_page.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "@media print" in text
    # The only URLs are the SVG namespaces, which are names, never fetched.
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"""(src|href)=["'](?!#)""", text)
    assert '<figure id="chart-cohorts"><svg' in text and NO_COHORTS not in text


def page_values(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for column, value in re.findall(r'data-column="(\w+)" data-value="([^"]*)"', text):
        values.setdefault(column, []).append(value)
    return values


def report_csv(command: str, *args: str) -> list[dict[str, str]]:
    result = invoke(command, *args, "-f", "csv", "-q")
    assert result.exit_code == 0
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_figures_are_the_reports_own(sample_page: Path) -> None:
    shown = page_values(sample_page.read_text(encoding="utf-8"))
    args = (str(SAMPLE_CSV), *SAMPLE_AS_OF)
    june = report_csv("metrics", *args)[-1]
    expanded = report_csv("expansion", *args)[-1]
    assert june["month"] == expanded["month"] == "2026-06"  # June 30: the month is complete
    for column in ("closing_mrr", "net_new_mrr", "quick_ratio", "nrr", "grr"):
        assert shown[column][-1 if column.endswith("_mrr") else 0] == june[column], column
    for column in ("expansion_mrr", "expansion_to_new"):
        assert shown[column][0] == expanded[column], column
    assert shown["benchmark_met"] == ["true"] and expanded["benchmark_met"] == "true"
    # The table: the movements CSV's last 12 months, every column, value for value.
    last = report_csv("movements", *args)[-12:]
    for column in last[0]:
        assert shown[column][-12:] == [row[column] for row in last], column


def test_the_page_states_the_options(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    options = ("--mode", "snapshot", "--level", "subscription", "--expansion-scope", "broad")
    result = invoke("report", str(SAMPLE_CSV), *SAMPLE_AS_OF, *options, "-o", str(path))
    assert result.exit_code == 0
    text = path.read_text(encoding="utf-8")
    for said in ("mode: snapshot", "level: subscription", "expansion_scope: broad"):
        assert said in text


def test_a_month_to_date_is_noted_and_the_headline_is_the_last_complete_month(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.html"
    result = invoke("report", str(SPEC_EXAMPLE), "--as-of", "2024-05-20", "-o", str(path))
    assert result.exit_code == 0
    text = path.read_text(encoding="utf-8")
    # SPEC §8 on April 2024: closing 100 (B); net new -180 (A churns); NRR and GRR of the
    # customers paying at April's opening (A 180, B 100): 100 / 280 = 35.7%.
    assert "<h2>2024-04</h2>" in text
    assert 'data-column="closing_mrr" data-value="100.00">USD 100.00<' in text
    assert 'data-column="net_new_mrr" data-value="-180.00">USD -180.00<' in text
    assert 'data-column="nrr" data-value="0.357143">35.7%<' in text
    assert "2024-05 is to date (through 2024-05-20)" in text


def parsed(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_email_parses_back(tmp_path: Path) -> None:
    path = tmp_path / "r.eml"
    args = ("--mail-to", "cfo@example.com", "--mail-to", "ceo@example.com")
    result = invoke("report", str(SPEC_EXAMPLE), "--as-of", "2024-04-30", *args, "-o", str(path))
    assert result.exit_code == 0, result.output
    message = parsed(path)
    assert message["To"] == "cfo@example.com, ceo@example.com"
    assert message["Subject"] == "MRR report 2024-04 (USD)"
    assert message["From"].startswith("mrrcli <mrrcli@")
    assert message.get_content_type() == "multipart/alternative"
    html_part = message.get_body(("html",))
    assert html_part is not None
    body = html_part.get_content()
    assert "<script" not in body.lower() and "data:" not in body and "<svg" not in body
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    images = {p["Content-ID"].strip("<>"): p for p in message.walk() if p["Content-ID"]}
    cids = re.findall(r'src="cid:([^"]+)"', body)
    assert sorted(cids) == sorted(f"{name}@mrrcli" for name in CHARTS)
    for cid in cids:
        assert images[cid].get_content_type() == "image/png"
        assert images[cid].get_content().startswith(b"\x89PNG")
    text = message.get_body(("plain",))
    assert text is not None
    plain = text.get_content()
    # SPEC §8, April 2024: closing 100, net new -180, quick ratio 0 / 180 = 0.00x, NRR 35.7%.
    for line in ("Closing MRR", "USD 100.00", "USD -180.00", "0.00×", "35.7%"):
        assert line in plain


def test_subject_given(tmp_path: Path) -> None:
    path = tmp_path / "r.eml"
    result = invoke(
        "report", str(SPEC_EXAMPLE), "--as-of", "2024-04-30", "--subject", "Board: MRR",
        "--mail-from", "finance@example.com", "-o", str(path),
    )  # fmt: skip
    assert result.exit_code == 0
    message = parsed(path)
    assert (message["Subject"], message["From"], message["To"]) == (
        "Board: MRR",
        "finance@example.com",
        None,
    )


@dataclass
class StaleReport(Report):
    """A report whose meta says the export is stale, as SPEC §12's freshness check writes it."""

    @property
    def meta(self) -> dict[str, Any]:
        return {**super().meta, "stale": True, "data_through": "2024-02-10", "max_age": 35}


def spec_contents(as_of: date, stale: bool = False) -> Contents:
    rows = load([str(SPEC_EXAMPLE)])
    settings = Settings(as_of=as_of)
    report = metrics(rows, settings)
    if stale:
        report = StaleReport(**{k: getattr(report, k) for k in report.__dataclass_fields__})
    return Contents(movements(rows, settings), expansion(rows, settings), report)


def test_a_stale_export_is_marked_on_the_page_and_in_the_subject() -> None:
    contents = spec_contents(date(2024, 4, 30), stale=True)
    html = html_report(contents)
    assert '<p class="stale">STALE: the export shows nothing after 2024-02-10' in html
    assert "<title>STALE · MRR report" in html
    message = email.message_from_string(
        eml_report(contents, [], "MRR"), policy=email.policy.default
    )
    assert message["Subject"] == "[STALE] MRR"
    fresh = spec_contents(date(2024, 4, 30))
    assert "STALE" not in html_report(fresh)


def test_the_cohort_heat_map_is_drawn_when_there_is_a_cohorts_report() -> None:
    import polars as pl

    contents = spec_contents(date(2024, 5, 31))
    frame = pl.DataFrame({"cohort": ["2024-01", "all"], "age": [0, 0], "nrr": [1.0, 1.0]})
    contents.cohorts = Report("metrics", frame, "USD", 2, contents.metrics.settings, [])
    html = html_report(contents)
    assert '<figure id="chart-cohorts"><svg' in html and NO_COHORTS not in html
    # Each chart's ids are its own: no two inline SVGs share one.
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("extension", [".html", ".eml"])
def test_a_broken_or_empty_export_writes_no_report(tmp_path: Path, extension: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("customer_id,subscription_id,start_date,end_date,amount\n")
    broken = ROOT / "tests" / "fixtures" / "bad" / "unmapped_headers.csv"
    path = tmp_path / f"report{extension}"
    for export in (empty, broken):
        result = invoke("report", str(export), "-o", str(path))
        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1 and "error" in result.stderr
        assert not path.exists()


def test_an_existing_report_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("yesterday")
    result = invoke("report", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "-o", str(path), "-q")
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    # A failed run leaves it exactly as it was.
    before = path.read_bytes()
    assert invoke("report", str(tmp_path / "missing.csv"), "-o", str(path)).exit_code == 1
    assert path.read_bytes() == before


def test_output_unwritable_missing_or_of_another_kind(tmp_path: Path) -> None:
    gone = tmp_path / "no" / "such" / "report.html"
    result = invoke("report", str(SPEC_EXAMPLE), "--as-of", "2024-05-31", "-o", str(gone))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"mrrcli: error: {gone}: cannot write it")
    assert len(result.stderr.splitlines()) == 1
    result = invoke("report", str(SPEC_EXAMPLE))
    assert result.exit_code == 2
    assert "give -o report.html or -o report.eml" in result.stderr
    result = invoke("report", str(SPEC_EXAMPLE), "-o", str(tmp_path / "r.pdf"))
    assert result.exit_code == 2
    assert "a report is written as .html or .eml" in result.stderr


def test_the_page_module_computes_nothing() -> None:
    # No arithmetic on report values in the page: it shows them (ratios, sums come from the
    # reports). The only numbers it writes are its own layout constants.
    source = Path(page_module.__file__).read_text(encoding="utf-8")
    assert ".sum(" not in source and ".mean(" not in source and " / " not in source


@pytest.mark.parametrize(
    "settings",
    [
        Settings(as_of=date(2026, 6, 30)),
        Settings(as_of=date(2026, 6, 12), mode=Mode.snapshot, level=Level.subscription),
        Settings(as_of=date(2026, 6, 30), scope=Scope.broad, month_from=date(2025, 7, 1)),
    ],
)
def test_overview_is_the_three_reports_in_one_pass(settings: Settings) -> None:
    from mrrcli.report import overview

    rows = load([str(SAMPLE_CSV)])
    one_pass = overview(rows, settings)
    each = (movements(rows, settings), expansion(rows, settings), metrics(rows, settings))
    for together, alone in zip(one_pass, each, strict=True):
        assert together.kind == alone.kind
        assert together.frame.equals(alone.frame), alone.kind
        assert together.meta == alone.meta
    assert one_pass[1].extra["top_expanding"].equals(each[1].extra["top_expanding"])


def test_a_stale_export_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "r.eml"
    result = invoke("report", str(SPEC_EXAMPLE), "--as-of", "2024-12-31", "-o", str(path), "-q")
    # SPEC §8's last event is C's return on 2024-05-10: 235 days before 2024-12-31, more than
    # the default --max-age 35. The report is written, marked, and the warning survives -q.
    assert result.exit_code == 0
    assert "stale export: it shows nothing after 2024-05-10, 235 days" in result.stderr
    message = parsed(path)
    assert message["Subject"] == "[STALE] MRR report 2024-12 (USD)"
    body = message.get_body(("html",))
    assert body is not None
    assert "STALE: the export shows nothing after 2024-05-10" in body.get_content()
    text = message.get_body(("plain",))
    assert text is not None and text.get_content().startswith("STALE · MRR report")


def test_the_page_prints(sample_page: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    done = browse(sample_page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.exists(), done.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 2 <= pages <= 6, pages  # A4: the figures and charts over a few pages, not one strip
    assert done.requests == []


def test_the_headline_has_the_trailing_twelve_months_when_the_metrics_do() -> None:
    import polars as pl

    contents = spec_contents(date(2024, 4, 30))
    # A metrics frame that has nrr_ttm / grr_ttm (the `period` work adds them to metrics).
    frame = contents.metrics.frame.with_columns(
        pl.lit(1.05).alias("nrr_ttm"), pl.lit(None, pl.Float64).alias("grr_ttm")
    )
    contents.metrics = Report("metrics", frame, "USD", 2, contents.metrics.settings, [])
    figures = {f.label: f.text for f in page_module.headline(contents)}
    # April: NRR (month) 100 / 280 = 35.7%; the 12-month figures as given, an empty one as —.
    assert figures["NRR (month)"] == "35.7%"
    assert figures["NRR (12 mo)"] == "105.0%"
    assert figures["GRR (12 mo)"] == "—"
    assert "NRR (12 mo)" in html_report(contents)


def test_the_page_is_the_same_however_the_run_was_computed(tmp_path: Path) -> None:
    # SPEC §13: whole and split runs give identical output, byte for byte. How the run was
    # computed ("read in 3 parts by customer", "read whole, not in 3 parts: …") is said on
    # stderr only (Rows.computed); it used to be among the page's notes.
    lines = str(ROOT / "tests" / "fixtures" / "sources" / "stripe_invoice_lines.csv")
    for export in (str(SAMPLE_CSV), lines):
        pages = []
        for parts in ((), ("--parts", "3")):
            path = tmp_path / f"page{len(pages)}.html"
            command = [sys.executable, "-m", "mrrcli", "report", export, *SAMPLE_AS_OF]
            command += ["--max-age", "0", *parts, "-o", str(path)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            assert ("parts" in done.stderr) == bool(parts)
            pages.append(path.read_bytes())
        assert pages[0] == pages[1], export
        assert b" parts" not in pages[1]
