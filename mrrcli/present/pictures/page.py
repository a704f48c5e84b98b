"""The one-page report (SPEC §11): headline figures of the last complete month, the charts, the
movements of the last 12 months and the notes a reader must see, as one self-contained HTML
page (inline styles, no JavaScript, no external URL), and the same figures as plain text.

Every figure is a value of the reports given (movements, expansion, metrics, cohorts), shown
as the tables show it; nothing is computed here. Each figure carries its column and the value
of the CSV output (`data-column`, `data-value`), so a test can hold the page to the reports.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mrrcli.present.document import Report
from mrrcli.present.pictures import specs
from mrrcli.present.tables import TRAILING_SUFFIX, display_text, header
from mrrcli.vocabulary import MONEY_COLUMNS

TABLE_MONTHS = 12
CHARTS = ("movements", "expansion", "retention", "cohorts")
NO_COHORTS = (
    "The cohort NRR heat map is left out: no cohorts report was given to the page "
    "(mrrcli.report.page_reports builds all four)."
)
# Headline figures: (report, column, label); NRR/GRR over twelve months when the metrics have them.
HEADLINE = (
    ("metrics", "closing_mrr", "Closing MRR"),
    ("metrics", "net_new_mrr", "Net new MRR"),
    ("expansion", "expansion_mrr", "Expansion MRR"),
    ("expansion", "expansion_to_new", "Expansion ÷ new MRR"),
    ("expansion", "benchmark_met", "30% benchmark"),
    ("metrics", "quick_ratio", "Quick ratio"),
    ("metrics", "nrr", "NRR"),
    ("metrics", "grr", "GRR"),
    ("metrics", "nrr_ttm", "NRR"),
    ("metrics", "grr_ttm", "GRR"),
)
OPTIONS_SHOWN = {"report", "partial_month", "mrrcli_version"}


@dataclass
class Contents:
    """What the page shows: the reports of one run over one load of the rows, and the notes
    from reading the export."""

    movements: Report
    expansion: Report
    metrics: Report
    cohorts: Report | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def meta(self) -> dict[str, Any]:
        return self.metrics.meta

    @property
    def currency(self) -> str:
        return self.metrics.currency

    @property
    def stale(self) -> bool:
        """The export is stale (SPEC §12), when the report's meta says so."""
        return self.meta.get("stale") is True

    @property
    def period(self) -> str:
        return str(self.meta.get("period") or "month")


@dataclass(frozen=True)
class Figure:
    column: str
    label: str
    text: str  # as a table shows it
    value: str  # as the CSV writes it


def csv_value(value: object) -> str:
    """A value as the CSV output writes it (`true`, `0.357143`, `1234.50`, empty)."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def headline_month(contents: Contents) -> str | None:
    """The last complete month (or period) reported; the month to date if it is the only one."""
    months = contents.metrics.frame.get_column("month").to_list()
    complete = [str(m) for m in months if m != contents.metrics.partial_month]
    found = complete or [str(m) for m in months]
    return found[-1] if found else None


def headline(contents: Contents) -> list[Figure]:
    """The headline figures of the last complete month, as the reports hold them."""
    month = headline_month(contents)
    figures = []
    for name, column, label in HEADLINE:
        report: Report = getattr(contents, name)
        if column not in report.frame.columns:
            continue
        row = report.frame.filter(pl.col("month") == month).row(0, named=True)
        value = row[column]
        # A trailing ratio shows as its monthly one does (nrr_ttm as nrr: a percentage).
        shown_as = column.removesuffix(TRAILING_SUFFIX)
        text = display_text(shown_as, value, report.exponent) if value is not None else "—"
        if column in MONEY_COLUMNS:
            text = f"{contents.currency} {text}"
        shown = header(column, period=contents.period).replace("\n", " ")
        if column.startswith(("nrr", "grr")):
            label = shown
        figures.append(Figure(column, label, text, csv_value(value)))
    return figures


def chart_specs(contents: Contents) -> dict[str, dict[str, Any]]:
    """The page's charts as Vega-Lite specs, by name (CHARTS)."""
    currency, label = contents.currency, contents.period
    charts = {
        "movements": specs.movements_spec(contents.movements.frame, currency, label),
        "expansion": specs.expansion_spec(
            contents.expansion.frame, currency, contents.expansion.days_per_month, label
        ),
        "retention": specs.retention_spec(contents.metrics.frame, currency, label),
    }
    if contents.cohorts is not None:
        charts["cohorts"] = specs.cohort_spec(contents.cohorts.frame, currency)
    return charts


def reader_notes(contents: Contents) -> list[str]:
    """What a reader must see: stale data, the subscription-list caveat, the month to date,
    rows set aside and what else reading the export said, and a left-out chart."""
    meta, notes = contents.meta, []
    if contents.stale:
        notes.append(
            f"STALE: the export shows nothing after {meta.get('data_through')}, more than "
            f"{meta.get('max_age')} days before the as-of date {meta.get('as_of')}."
        )
    if meta.get("caveat"):
        notes.append(str(meta["caveat"]))
    partial = contents.metrics.partial_month
    if partial is not None:
        notes.append(
            f"{partial} is to date (through {meta.get('as_of')}): its flows are not a whole "
            f"{contents.period}'s; the headline figures are of {headline_month(contents)}."
        )
    notes.extend(note for note in contents.notes if note not in notes)  # the caveat once
    if contents.cohorts is None:
        notes.append(NO_COHORTS)
    return notes


def plain_text(contents: Contents) -> str:
    """The headline figures and notes as plain text (the e-mail's text part)."""
    month = headline_month(contents)
    lines = [f"{title(contents)}", "", f"{month}:"]
    width = max(len(f.label) for f in headline(contents))
    lines += [f"  {f.label:<{width}}  {f.text}" for f in headline(contents)]
    lines += ["", *[f"- {note}" for note in reader_notes(contents)], ""]
    lines.append(
        f"The charts and the movements of the last {TABLE_MONTHS} {contents.period}s are in "
        "the HTML part."
    )
    return "\n".join(lines) + "\n"


def title(contents: Contents) -> str:
    stale = "STALE · " if contents.stale else ""
    return f"{stale}MRR report · {contents.currency} · as of {contents.meta.get('as_of')}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def inline_svg(svg: str, name: str) -> str:
    """An SVG drawn by vl-convert, ready to sit inline beside others: its ids made unique to
    the chart (clip paths would otherwise collide) and labelled for screen readers."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(name)} chart" ', 1)


STYLE = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; color: #111; margin: 24px auto;
  max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.stale { background: #b2182b; color: white; padding: 8px 12px; font-weight: bold; }
.options { color: #444; font-size: 12px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr));
  gap: 8px; margin: 12px 0; padding: 0; }
.figures div { border: 1px solid #ccc; padding: 8px; }
.figures dt { font-size: 12px; color: #444; } .figures dd { margin: 0; font-size: 18px; }
figure { margin: 16px 0; } figure svg, figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.notes li { margin: 4px 0; }
@page { size: A4; margin: 12mm; }
@media print { body { margin: 0; max-width: none; }
  figure, table, .figures { break-inside: avoid; } }
"""


def _figures_html(contents: Contents) -> str:
    items = [
        f'<div><dt>{_e(f.label)}</dt><dd data-column="{f.column}" data-value="{_e(f.value)}">'
        f"{_e(f.text)}</dd></div>"
        for f in headline(contents)
    ]
    return f'<dl class="figures">{"".join(items)}</dl>'


def _table_html(report: Report) -> str:
    frame = report.frame.tail(TABLE_MONTHS)
    heads = "".join(f"<th>{_e(header(c).replace(chr(10), ' '))}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows(named=True):
        cells = "".join(
            f'<td data-column="{c}" data-value="{_e(csv_value(v))}">'
            f"{_e(display_text(c, v, report.exponent))}</td>"
            for c, v in row.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _options_html(contents: Contents) -> str:
    shown = {k: v for k, v in contents.meta.items() if k not in OPTIONS_SHOWN and v is not None}
    parts = [
        f"{_e(k)}: {_e(', '.join(v) if isinstance(v, list) else csv_value(v))}"
        for k, v in shown.items()
    ]
    version = contents.meta.get("mrrcli_version")
    return f'<p class="options">{" · ".join(parts)} · mrrcli {_e(version)}</p>'


def page(contents: Contents, images: dict[str, str]) -> str:
    """The page, with each chart as given in `images` (inline SVG, or an <img> for mail)."""
    month = headline_month(contents)
    stale = f'<p class="stale">{_e(reader_notes(contents)[0])}</p>' if contents.stale else ""
    charts = "".join(
        f'<figure id="chart-{name}">{images[name]}</figure>' for name in CHARTS if name in images
    )
    notes = "".join(f"<li>{_e(note)}</li>" for note in reader_notes(contents))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title(contents))}</title><style>{STYLE}</style></head><body>"
        f"{stale}<h1>{_e(title(contents))}</h1>{_options_html(contents)}"
        f"<h2>{_e(month)}</h2>{_figures_html(contents)}"
        f"<h2>Charts</h2>{charts}"
        f"<h2>Movements, last {TABLE_MONTHS} {_e(contents.period)}s ({_e(contents.currency)})</h2>"
        f"{_table_html(contents.movements)}"
        f'<h2>Notes</h2><ul class="notes">{notes}</ul>'
        "</body></html>\n"
    )


def report_spec(report: Report) -> dict[str, Any]:
    """The chart of one report (`--chart PATH`): its movements, its expansion, its NRR/GRR, its
    cohort heat map."""
    label = str(report.meta.get("period") or "month")
    # With --by, one row per month and segment: the chart is of the whole (the report without
    # --by, which the segments add up to), not of the segments' rows drawn as months.
    frame = report.frame
    if "segment" in frame.columns and "totals" in report.extra:
        frame = report.extra["totals"]
    if report.kind == "movements":
        return specs.movements_spec(frame, report.currency, label)
    if report.kind == "expansion":
        return specs.expansion_spec(frame, report.currency, report.days_per_month, label)
    if report.kind == "metrics":
        return specs.retention_spec(frame, report.currency, label)
    if str(report.kind) == "cohorts":
        return specs.cohort_spec(report.frame, report.currency)
    raise ValueError(f"no chart for the {report.kind} report")
