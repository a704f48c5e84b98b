"""The commands: parse their own options, call the library (mrrcli.report), and hand what it
returns to the one output path. Nothing else.

Domain errors are caught in cli.errors, printed as one line on stderr, and turned into exit codes
(see errors.ExitCode). Polars is imported inside commands so `--help` stays fast.
"""

from typing import Annotated, Any

import typer

from mrrcli.cli.application import command
from mrrcli.cli.common import reading_command, report_command
from mrrcli.cli.options import AttributesOption, ByOption, CohortByOption
from mrrcli.cli.pictures import (
    CHART_HELP,
    ChartPathOption,
    MailFromOption,
    MailToOption,
    SubjectOption,
)
from mrrcli.cli.run import Run
from mrrcli.errors import ExitCode, InputError, UsageError
from mrrcli.vocabulary import (
    EXPANSION_COLUMNS,
    METRICS_COLUMNS,
    MOVEMENTS_COLUMNS,
    CohortMetric,
    Period,
    Settings,
    parse_movement,
)

ChartOption = Annotated[
    bool,
    typer.Option(
        "--chart",
        help=CHART_HELP,
        rich_help_panel="Output",
    ),
]


@command
@report_command
def movements(
    run: Run,
    chart: ChartOption = False,
    chart_path: ChartPathOption = None,
    by: ByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Monthly MRR movements: new, expansion, reactivation, contraction, churn.

    One row per month: opening MRR, each movement, net new MRR and closing MRR, with
    opening + new + expansion + reactivation - contraction - churned = closing to the cent.

    [bold]Example[/bold]

        $ mrrcli movements sample_data/subscriptions.csv --as-of 2026-06-30
    """
    from mrrcli.report import movements as movements_report

    run = run.segmented(by, attributes)
    run.report(movements_report, chart, chart_path)


@command
@report_command
def expansion(
    run: Run,
    chart: ChartOption = False,
    chart_path: ChartPathOption = None,
    by: ByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Expansion MRR, the Expansion MRR rate, its share of opening MRR and of new MRR.

    Flows are day-normalized (value x 30.4375 / days) before the month-over-month rate, so
    February is not penalised for being short. benchmark_met: expansion >= 30% of new MRR. On a
    terminal, the customers with the most expansion in the last month follow the table.

    [bold]Example[/bold]

        $ mrrcli expansion sample_data/subscriptions.csv --from 2026-01
    """
    from mrrcli.report import expansion as expansion_report

    run = run.segmented(by, attributes)
    run.report(expansion_report, chart, chart_path)


@command
@report_command
def metrics(
    run: Run,
    chart: ChartOption = False,
    chart_path: ChartPathOption = None,
    by: ByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Growth, quick ratio, gross and net MRR churn, NRR, GRR, ARPA and customer counts.

    [bold]Example[/bold]

        $ mrrcli metrics sample_data/subscriptions.csv --as-of 2026-06-30
    """
    from mrrcli.report import metrics as metrics_report

    if chart and chart_path is None:
        run.note("metrics draws its chart (NRR and GRR) as a file only: --chart PATH.png")
    run = run.segmented(by, attributes)
    run.report(metrics_report, picture=chart_path)


MonthOption = Annotated[
    str | None,
    typer.Option("--month", help="Only this month, YYYY-MM.", show_default=False),
]
MovementOption = Annotated[
    str | None,
    typer.Option(
        "--movement",
        help="Only this movement: new, expansion, reactivation, contraction or churn (also "
        "expanded, reactivated, contracted, churned); moved_in, moved_out with --by.",
        show_default=False,
    ),
]
CustomerOption = Annotated[
    str | None,
    typer.Option("--customer", help="Only this customer id.", show_default=False),
]


@command
@report_command
def customers(
    run: Run,
    month: MonthOption = None,
    movement: MovementOption = None,
    customer: CustomerOption = None,
    by: ByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Every movement per customer and day: the audit trail behind each monthly total.

    Rows of a month sum exactly to that month's movements. Filter with --month, --movement
    and --customer. Rows are sorted by date; with --month, largest amount first.

    [bold]Example[/bold]

        $ mrrcli customers sample_data/subscriptions.csv --as-of 2026-06-30 \\
            --month 2026-03 --movement expansion
    """
    from mrrcli.cli.config import parse_month
    from mrrcli.report import customers as customers_report
    from mrrcli.report import has_customer

    if month is not None:
        month = parse_month(month, "--month").strftime("%Y-%m")
    customer = customer.strip() if customer is not None else None
    movement = _movement_name(movement, by if by is not None else run.options.by)
    run = run.segmented(by, attributes)
    report, rows = run.report(
        customers_report,
        month=month,
        movement=movement,
        customer=customer,
    )
    if report.frame.height == 0:
        if customer is not None and not has_customer(rows, customer):
            run.note(f"no customer {customer!r} in the export: no row to show")
        elif month or movement or customer:
            run.note("no movement matches --month, --movement and --customer: no row to show")


@command
@reading_command
def validate(run: Run) -> None:
    """Check an export the way the reports read it and list every problem found.

    Each problem names the file, the first spreadsheet rows, the column and how many rows share
    it; a summary of rows read, used and set aside goes to stderr. Exit 0 when there are no
    errors (warnings alone are fine), 1 when there are.

    [bold]Example[/bold]

        $ mrrcli validate export.csv --map customer_id="Account ID"
    """
    from mrrcli.present.output import problems_document

    result = run.validation()
    run.deliver(problems_document(result))
    run.note(result.summary())
    if result.errors:
        raise typer.Exit(int(ExitCode.DATA_ERROR))


# What `check` can judge: every column of movements, expansion and metrics but the month.
CHECK_METRICS = tuple(
    dict.fromkeys(
        c for c in (*MOVEMENTS_COLUMNS, *EXPANSION_COLUMNS, *METRICS_COLUMNS) if c != "month"
    )
)
RuleOption = Annotated[
    list[str],
    typer.Option(
        "--rule",
        "-r",
        help="METRIC OP NUMBER, e.g. 'expansion_to_new>=0.30' (repeatable; ratios as fractions, "
        f"money in major units; OP one of >= > <= < ==). METRIC: {', '.join(CHECK_METRICS)}.",
        show_default=False,
    ),
]
CheckMonthOption = Annotated[
    str | None,
    typer.Option(
        "--month",
        help="Month to check, YYYY-MM (with --period, its quarter or year, or 2026-Q2, "
        "2026), or 'current': the month to date, its flows day-normalized so a weekly alert "
        "judges the month's pace.  [default: the last complete month (or period) before --as-of]",
        show_default=False,
    ),
]


@command
@report_command
def check(
    run: Run,
    rule: RuleOption,
    month: CheckMonthOption = None,
    by: ByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Evaluate threshold rules on one month's metrics, for alerts from cron.

    Prints each rule with the metric's value and pass or fail (with why, for an empty value),
    then how many rules failed on stderr. Exit 0 when all pass, 3 when any fails (an empty
    value, such as a ratio over 0, fails), 2 for a malformed rule or an unknown metric, 1 for
    bad input or a stale export (its last event more than --max-age days before --as-of:
    nothing is judged). Any column of movements, expansion or metrics is a metric. With --by,
    each rule is judged per segment (a month to date at each segment's pace) and every failing
    segment is named.

    [bold]Example[/bold]

        $ mrrcli check export.csv -r 'expansion_to_new>=0.30' -r 'nrr>=1'
    """
    from mrrcli.checks import parse_rule, require_fresh, summary
    from mrrcli.present.output import outcomes_document
    from mrrcli.report import all_metrics

    run = run.segmented(by, attributes)
    transfers = {"moved_in_mrr", "moved_out_mrr"} if run.options.by is not None else set()
    rules = [parse_rule(text, set(CHECK_METRICS) | transfers) for text in rule]
    settings = run.settings()
    target = _check_target(month, settings)
    rows, settings = run.load(settings)
    report = all_metrics(rows, settings)
    require_fresh(report.freshness, report.files)
    found = report.frame.filter(report.frame.get_column("month") == target)
    if found.height == 0:
        months = report.frame.get_column("month").to_list()
        span = f"{months[0]} to {months[-1]}" if months else "no month"
        message = f"no data for {target}: the report covers {span}"
        if month is None and months and months[-1] > target:  # only the month to date
            message += f"; --month current checks {months[-1]} to date"
        if month is not None:
            raise UsageError(f"--month {target}: {message}")
        raise InputError(message)
    outcomes = _outcomes(run, rules, target, found, report, settings)
    run.deliver(outcomes_document(outcomes, report.currency, report.exponent, report))
    run.tell(rows)
    run.note(summary(outcomes))
    if not all(outcome.passed for outcome in outcomes):
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


CohortMetricOption = Annotated[
    CohortMetric,
    typer.Option(
        "--metric",
        help="What the terminal triangle shows: nrr, grr, logo (logo retention) or mrr. CSV and "
        "JSON hold every column.",
    ),
]


@command
@report_command
def cohorts(
    run: Run,
    metric: CohortMetricOption = CohortMetric.nrr,
    by: CohortByOption = None,
    attributes: AttributesOption = None,
) -> None:
    """Retention by cohort (the month a customer first paid) and age in months.

    One row per cohort and age: its customers and base (its new MRR), the members paying and
    their MRR at that month's end, their flows that month, logo retention, NRR and GRR against
    the base; then, per age, the weighted average of the cohorts whose month at that age is
    complete (cohort = all). A customer stays in its cohort for ever, reactivations included;
    --expansion-scope changes only the flow columns. With --level subscription each
    subscription has its cohort (customers are still counted once per cohort). --from keeps
    the cohorts that start on or after it; --to ends every cohort there. Cohorts and ages are
    calendar months (--period does not apply). On a terminal, a triangle of --metric, cut to
    the terminal's width. --by splits each cohort by the segment its customers started in.

    [bold]Example[/bold]

        $ mrrcli cohorts sample_data/subscriptions.csv --as-of 2026-06-30 --metric grr
        $ mrrcli cohorts sample_data/subscriptions.csv --as-of 2026-06-30 --by plan_id
    """
    from dataclasses import replace

    from mrrcli.report import cohorts as cohorts_report

    # Cohorts are by month whatever --period says (so --period never stops --by here).
    run = replace(run, options=replace(run.options, period=Period.month))
    run.segmented(by, attributes).report(cohorts_report, metric=metric.value)


@command
@report_command
def report(
    run: Run,
    mail_to: MailToOption = None,
    subject: SubjectOption = None,
    mail_from: MailFromOption = None,
) -> None:
    """A one-page report for people: headline figures, charts, the last 12 months, the notes.

    -o report.html writes one self-contained page (inline SVG charts, no JavaScript, no
    external URL, printable); -o report.eml a MIME message for sendmail -t, its charts as PNG
    parts. A broken or empty export writes nothing and exits 1; a stale one is marked STALE
    on the page and in the subject. Needs the pictures extra (vl-convert-python).

    [bold]Example[/bold]

        $ mrrcli report sample_data/subscriptions.csv -o report.html
    """
    from mrrcli.cli.pictures import write_page

    write_page(run, mail_to or [], subject, mail_from)


def _check_target(month: str | None, settings: Settings) -> str:
    """The label of the month (or, with --period, the period) check judges: --month, else the
    last complete one."""
    from mrrcli.checks import last_complete_month, last_complete_period, period_of_text
    from mrrcli.cli.config import parse_month
    from mrrcli.present.document import period_label

    period = settings.period
    if month is not None and month.strip().lower() == "current":
        # The month (or period) to date: the as-of day's (SPEC §5, a weekly alert).
        as_of = settings.as_of.replace(day=1)
        if period == Period.month:
            return as_of.strftime("%Y-%m")
        return period_label(
            period_of_text(as_of.strftime("%Y-%m"), period.months, "--month"), period
        )
    if period == Period.month:
        return (
            parse_month(month, "--month") if month else last_complete_month(settings.as_of)
        ).strftime("%Y-%m")
    if month:
        return period_label(period_of_text(month, period.months, "--month"), period)
    return period_label(last_complete_period(settings.as_of, period.months), period)


def _outcomes(
    run: Run, rules: list[Any], target: str, found: Any, report: Any, settings: Any
) -> list[Any]:
    """The rules judged on the target month's row, or on each segment's row with --by; a month
    (or period) to date at its pace (SPEC §5)."""
    from mrrcli.checks import judge

    to_date = report.partial_month == target
    pace = (report.days_per_month, settings.period.months) if to_date else None
    segmented = run.options.by is not None
    outcomes, note = judge(rules, target, list(found.rows(named=True)), segmented, pace)
    if note is not None:
        run.note(f"{target}: {note}" + (" in each segment" if segmented else ""))
    return outcomes


def _movement_name(movement: str | None, by: str | None) -> str | None:
    """A --movement value as the customers report takes it: a movement (or its alias), or
    moved_in / moved_out, the transfers between segments, with --by (SPEC §9)."""
    if movement is None:
        return None
    name = movement.strip().lower()
    if name in ("moved_in", "moved_out"):
        if by is None:
            raise UsageError(f"--movement {name} is a transfer between segments: give --by")
        return name
    return parse_movement(movement).value
