"""Pictures on the command line (SPEC §11): `--chart PATH.png|.svg` on the reports, and the
`report` command's page or e-mail. vl-convert is imported only once a picture is asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from mrrcli.cli.errors import say
from mrrcli.errors import InputError

if TYPE_CHECKING:
    from mrrcli.cli.run import Run
    from mrrcli.present.document import Report

# `--chart` followed by one of these is a picture's path, not a FILE; the chart writes .png and
# .svg, the others are named in a usage error.
PICTURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".gif", ".webp")
MAIL = "E-mail (-o report.eml)"

ChartPathOption = Annotated[
    str | None,
    typer.Option("--chart-path", hidden=True, show_default=False),
]
MailToOption = Annotated[
    list[str] | None,
    typer.Option(
        "--mail-to",
        help="Recipient of report.eml (repeatable); sendmail -t reads it.",
        rich_help_panel=MAIL,
        show_default=False,
    ),
]
SubjectOption = Annotated[
    str | None,
    typer.Option(
        "--subject",
        help="Subject of report.eml.  [default: MRR report MONTH (CURRENCY), [STALE] first "
        "when the export is stale]",
        rich_help_panel=MAIL,
        show_default=False,
    ),
]
MailFromOption = Annotated[
    str | None,
    typer.Option(
        "--mail-from",
        help="Sender of report.eml.  [default: mrrcli@HOSTNAME]",
        rich_help_panel=MAIL,
        show_default=False,
    ),
]
CHART_HELP = (
    "Draw the report's chart: --chart alone, below the table on a terminal; "
    "--chart PATH.png or PATH.svg, as an image file."
)


def chart_arguments(args: list[str]) -> list[str]:
    """`--chart PATH.png` (or `--chart=PATH.svg`) → `--chart-path PATH.png`; `--chart` alone
    stays the terminal chart. Nothing after `--` is touched."""
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg == "--":
            return out + args[index:]
        if arg == "--chart" and following.lower().endswith(PICTURE_SUFFIXES):
            out += ["--chart-path", following]
            index += 2
            continue
        out.append("--chart-path=" + arg[8:] if arg.startswith("--chart=") else arg)
        index += 1
    return out


class PictureCommand(TyperCommand):
    """A command whose `--chart` also takes a picture's path."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if any(param.name == "chart_path" for param in self.params):
            args = chart_arguments(list(args))
        parsed: list[str] = super().parse_args(ctx, args)
        return parsed


def check_chart(path: str) -> None:
    """Before any reading: the path is a .png or .svg, and the pictures extra is installed."""
    from mrrcli.present.pictures.render import converter, extension_of

    extension_of(path, "--chart")
    converter()


def write_chart(report: Report, path: str) -> None:
    from mrrcli.present.pictures.page import report_spec
    from mrrcli.present.pictures.render import write_chart as write

    write(report_spec(report), path)


def write_page(run: Run, mail_to: list[str], subject: str | None, mail_from: str | None) -> None:
    """`mrrcli report`: one load of the rows, the movements, expansion and metrics reports from
    one pass over them (report.overview), the page written whole or not at all. A broken or
    empty export writes nothing (exit 1)."""
    from mrrcli import report as library
    from mrrcli.present.pictures.mail import check_headers, report_extension, write_report
    from mrrcli.present.pictures.page import Contents
    from mrrcli.present.pictures.render import converter

    path = run.options.output
    mail = report_extension(path) == ".eml"
    if mail:
        check_headers(mail_to, subject, mail_from)
    converter()
    rows, settings = run.load()
    movements, expansion, metrics, cohorts = library.page_reports(rows, settings)
    # The page is the same however the run was computed (Rows.computed is not on it: SPEC §13)
    contents = Contents(movements, expansion, metrics, notes=[*rows.notes, run.read_summary(rows)])
    contents.cohorts = cohorts
    if contents.metrics.frame.height == 0:
        raise InputError(f"{', '.join(rows.files)}: no month with MRR to report")
    assert path is not None
    write_report(contents, path, mail_to, subject, mail_from)
    run.note(f"wrote the report to {path}")
    if mail and not mail_to:
        run.note(f"{path} has no To: header (sendmail -t finds no recipient): --mail-to")
    run.tell(rows)
    if metrics.stale and metrics.freshness is not None:  # marked on the page; said even with -q
        say(f"warning: {metrics.freshness.problem(metrics.files)}")
