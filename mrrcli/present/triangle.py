"""The cohorts report on a terminal (SPEC §10, §11): a triangle of one metric, cohorts as rows
and ages as columns, the weighted average (`all`) last; cut to the terminal's width by leaving
out the oldest ages (money abbreviated first), the caption says how many."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrrcli.present.document import Report
from mrrcli.present.fit import table_width
from mrrcli.present.tables import caption_notes, display_text

if TYPE_CHECKING:
    from rich.table import Table

METRIC_TITLES = {
    "nrr": "Net revenue retention",
    "grr": "Gross revenue retention",
    "logo_retention": "Logo retention",
    "mrr": "MRR",
}
ALL = "all"  # the cohort of the weighted-average rows (engine.cohorts.ALL)
LEAD = ("cohort", "customers_new", "base_mrr")  # the columns before the ages
LEAD_HEADERS = {"cohort": "cohort", "customers_new": "cust.", "base_mrr": "base MRR"}


@dataclass
class _Triangle:
    """The rows of the triangle as text: the lead columns, then one cell per age."""

    lead: list[list[str]]
    ages: list[list[str]]  # per row, one text per age ("" where the age is not reached)
    count: int  # ages 0 … count − 1

    def widths(self, shown: int) -> list[int]:
        lead = [
            max([len(LEAD_HEADERS[c]), *(len(r[i]) for r in self.lead)]) for i, c in enumerate(LEAD)
        ]
        ages = [max([len(str(a)), *(len(r[a]) for r in self.ages)]) for a in range(shown)]
        return lead + ages


def _texts(report: Report, metric: str, short: bool) -> _Triangle:
    """Every cell of the triangle as text; a month-to-date cell ends with `*`."""
    frame = report.frame
    count = frame.height and int(frame.get_column("age").max()) + 1  # type: ignore[arg-type]
    cohorts: dict[str, dict[int, Any]] = {}
    lead: dict[str, list[str]] = {}
    for row in frame.iter_rows(named=True):
        cohort = row["cohort"]
        text = display_text(metric, row[metric], report.exponent, short)
        # With a month to date, every cell keeps a place for its mark, so digits align.
        mark = ("*" if row["partial"] else " ") if report.partial_month else ""
        cohorts.setdefault(cohort, {})[row["age"]] = text + mark
        if cohort not in lead or row["age"] == 0:
            base = display_text("base_mrr", row["base_mrr"], report.exponent, short)
            lead[cohort] = [cohort, str(row["customers_new"]), base]
    order = [c for c in cohorts if c != ALL] + ([ALL] if ALL in cohorts else [])
    if ALL in lead:
        lead[ALL][1:] = ["", ""]  # the average's members change with the age
    return _Triangle(
        lead=[lead[c] for c in order],
        ages=[[cohorts[c].get(a, "") for a in range(count)] for c in order],
        count=count,
    )


def _fitted(report: Report, metric: str, width: int | None) -> tuple[_Triangle, int, bool]:
    """The triangle, how many ages it shows and whether money is abbreviated, at `width`."""
    triangle = _texts(report, metric, short=False)
    if width is None or table_width(triangle.widths(triangle.count)) <= width:
        return triangle, triangle.count, False
    triangle = _texts(report, metric, short=True)
    shown = triangle.count
    while shown > 1 and table_width(triangle.widths(shown)) > width:
        shown -= 1
    return triangle, shown, True


def cohort_table(report: Report, width: int | None = None) -> Table:
    """The triangle of the report's metric (`extra["metric"]`) that fits `width` (None: every
    age in full)."""
    from rich import box
    from rich.table import Table

    metric = report.extra.get("metric", "nrr")
    triangle, shown, short = _fitted(report, metric, width)
    settings = report.settings
    title = (
        f"{METRIC_TITLES[metric]} by cohort and age in months · {report.currency} · "
        f"{settings.mode} mode · {settings.level} level · as of {settings.as_of.isoformat()}"
    )
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
    )
    widths = triangle.widths(shown)
    for index, column in enumerate(LEAD):
        table.add_column(
            LEAD_HEADERS[column],
            justify="left" if column == "cohort" else "right",
            min_width=widths[index],
            no_wrap=True,
        )
    for age in range(shown):
        table.add_column(str(age), justify="right", min_width=widths[len(LEAD) + age], no_wrap=True)
    for lead, ages in zip(triangle.lead, triangle.ages, strict=True):
        table.add_row(*lead, *ages[:shown])
    notes = caption_notes(report)
    if any(lead[0] == ALL for lead in triangle.lead):
        notes.append(
            f"{ALL}: the weighted average of the cohorts whose month at that age is complete"
        )
    if short:
        notes.append("to fit the terminal, money is abbreviated (k = thousand, M = million)")
    if shown < triangle.count:
        cut = triangle.count - shown
        left = f"age {shown}" if cut == 1 else f"ages {shown}–{triangle.count - 1}"
        notes.append(f"to fit the terminal, {left} ({cut} left out); --wide shows every age")
    table.caption = "\n".join([*notes, *report.caption_notes()])
    table.caption_justify = "left"
    return table
