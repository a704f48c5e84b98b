"""The cohorts report on a terminal (SPEC §10, §11): a triangle of one metric, cohorts as rows
and ages as columns, the weighted average (`all`) last; cut to the terminal's width by leaving
out the oldest ages (money abbreviated first), the caption says how many. By segment (--by),
a block of rows per segment, each labelled with segment and cohort, its own average last."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrrcli.present.document import Report
from mrrcli.present.fit import table_width
from mrrcli.present.tables import caption_notes, display_text, report_frame

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
LEAD_HEADERS = {
    "segment": "segment",
    "cohort": "cohort",
    "customers_new": "cust.",
    "base_mrr": "base MRR",
}


@dataclass
class _Triangle:
    """The rows of the triangle as text: the lead columns, then one cell per age."""

    columns: tuple[str, ...]  # the lead columns: LEAD, after `segment` by segment
    lead: list[list[str]]
    ages: list[list[str]]  # per row, one text per age ("" where the age is not reached)
    count: int  # ages 0 … count − 1
    ends: list[bool]  # per row, whether it ends a segment's block

    def widths(self, shown: int) -> list[int]:
        lead = [
            max([len(LEAD_HEADERS[c]), *(len(r[i]) for r in self.lead)])
            for i, c in enumerate(self.columns)
        ]
        ages = [max([len(str(a)), *(len(r[a]) for r in self.ages)]) for a in range(shown)]
        return lead + ages


def _texts(report: Report, metric: str, short: bool) -> _Triangle:
    """Every cell of the triangle as text; a month-to-date cell ends with `*`. Rows are
    cohorts, their average last; by segment, per segment (in sort order) the same."""
    frame = report.frame
    count = frame.height and int(frame.get_column("age").max()) + 1  # type: ignore[arg-type]
    by_segment = "segment" in frame.columns
    cohorts: dict[tuple[str, str], dict[int, Any]] = {}  # (segment, cohort) → age → text
    lead: dict[tuple[str, str], list[str]] = {}
    for row in frame.iter_rows(named=True):
        segment = row["segment"] if by_segment else ""
        index = (segment, row["cohort"])
        text = display_text(metric, row[metric], report.exponent, short)
        # With a month to date, every cell keeps a place for its mark, so digits align.
        mark = ("*" if row["partial"] else " ") if report.partial_month else ""
        cohorts.setdefault(index, {})[row["age"]] = text + mark
        if index not in lead or row["age"] == 0:
            base = display_text("base_mrr", row["base_mrr"], report.exponent, short)
            names = [segment, row["cohort"]] if by_segment else [row["cohort"]]
            lead[index] = [*names, str(row["customers_new"]), base]
    for index in lead:
        if index[1] == ALL:
            lead[index][-2:] = ["", ""]  # the average's members change with the age
    # Per segment, its cohorts in order, then its average.
    order = sorted(cohorts, key=lambda index: (index[0], index[1] == ALL, index[1]))
    ends = [i + 1 == len(order) or order[i + 1][0] != s for i, (s, _) in enumerate(order)]
    return _Triangle(
        columns=("segment", *LEAD) if by_segment else LEAD,
        lead=[lead[index] for index in order],
        ages=[[cohorts[index].get(a, "") for a in range(count)] for index in order],
        count=count,
        ends=ends if by_segment else [False] * len(order),
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
    metric = report.extra.get("metric", "nrr")
    triangle, shown, short = _fitted(report, metric, width)
    settings = report.settings
    by = f", {report.extra['by']}" if "segment" in triangle.columns else ""
    title = (
        f"{METRIC_TITLES[metric]} by cohort{by} and age in months · {report.currency} · "
        f"{settings.mode} mode · {settings.level} level · as of {settings.as_of.isoformat()}"
    )
    table = report_frame(title)
    widths = triangle.widths(shown)
    columns = triangle.columns
    for index, column in enumerate(columns):
        table.add_column(
            LEAD_HEADERS[column],
            justify="left" if column in ("segment", "cohort") else "right",
            min_width=widths[index],
            no_wrap=True,
        )
    for age in range(shown):
        width = widths[len(columns) + age]
        table.add_column(str(age), justify="right", min_width=width, no_wrap=True)
    for lead, ages, end in zip(triangle.lead, triangle.ages, triangle.ends, strict=True):
        table.add_row(*lead, *ages[:shown], end_section=end)
    notes = caption_notes(report)
    cohort = columns.index("cohort")
    if any(lead[cohort] == ALL for lead in triangle.lead):
        per = " of its segment" if "segment" in columns else ""
        notes.append(
            f"{ALL}: the weighted average of the cohorts{per} whose month at that age is complete"
        )
    if "segment" in columns:
        by = report.extra.get("by", "segment")
        notes.append(
            f"segment: the {by} of most of a customer's MRR on its first paying day, "
            "whatever it moves to later"
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
