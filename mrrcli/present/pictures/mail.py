"""The report written out: a self-contained HTML page with inline SVG charts, or an e-mail
(`sendmail -t` reads its headers) whose HTML body shows the charts as PNG parts referenced by
`cid:` — mail clients block SVG and `data:` images — beside a plain-text alternative."""

from __future__ import annotations

import os
import re
import socket
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses

from mrrcli.errors import UsageError
from mrrcli.present.pictures import render
from mrrcli.present.pictures.page import (
    Contents,
    chart_specs,
    headline_month,
    inline_svg,
    page,
    plain_text,
)

REPORT_EXTENSIONS = (".html", ".htm", ".eml")
CID_DOMAIN = "mrrcli"


def report_extension(path: str | None) -> str:
    """`.html` or `.eml`, from `-o`; anything else is a usage error."""
    if path is None:
        raise UsageError("report writes a file: give -o report.html or -o report.eml")
    extension = os.path.splitext(path)[1].lower()
    if extension not in REPORT_EXTENSIONS:
        raise UsageError(f"-o {path}: a report is written as .html or .eml")
    return extension


def html_report(contents: Contents) -> str:
    """The page, its charts as inline SVG."""
    svgs = {name: render.to_svg(spec) for name, spec in chart_specs(contents).items()}
    return page(contents, {name: inline_svg(svg, name) for name, svg in svgs.items()})


def _width(svg: str) -> str:
    found = re.search(r'<svg[^>]*\swidth="([\d.]+)"', svg)
    return found.group(1) if found else "640"


_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def addresses(values: list[str], option: str) -> list[Address]:
    """E-mail addresses as `sendmail -t` reads them (`revops@example.com`, `RevOps
    <revops@example.com>`, several separated by commas), a non-ASCII domain in its ASCII
    (IDNA) form; anything else is a usage error naming the option."""
    found: list[Address] = []
    for value in values:
        if "\n" in value or "\r" in value:
            raise UsageError(f"{option} must be one line, not {value!r}")
        parsed = getaddresses([value])
        if not parsed or any(not _ADDRESS.fullmatch(spec) for _, spec in parsed):
            raise UsageError(
                f"{option} {value!r} is not an e-mail address (e.g. revops@example.com or "
                "'RevOps <revops@example.com>')"
            )
        for name, spec in parsed:
            user, _, domain = spec.rpartition("@")
            try:
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError:
                raise UsageError(f"{option} {value!r}: {domain!r} is not a domain name") from None
            found.append(Address(display_name=name, username=user, domain=domain))
    return found


def check_headers(to: list[str], subject: str | None, sender: str | None) -> None:
    """Before anything is read: --mail-to and --mail-from are addresses, --subject one line."""
    addresses(to, "--mail-to")
    addresses([] if sender is None else [sender], "--mail-from")
    if subject is not None and ("\n" in subject or "\r" in subject):
        raise UsageError(f"--subject must be one line, not {subject!r}")


def default_subject(contents: Contents) -> str:
    stale = "[STALE] " if contents.stale else ""
    return f"{stale}MRR report {headline_month(contents)} ({contents.currency})"


def default_sender() -> str:
    return f"mrrcli <mrrcli@{socket.gethostname() or 'localhost'}>"


def eml_report(
    contents: Contents, to: list[str], subject: str | None = None, sender: str | None = None
) -> str:
    """The report as a MIME message: multipart/alternative of the headline figures as text and
    a multipart/related HTML body with one PNG part per chart. A stale export is named in the
    subject even when the subject is given."""
    message = EmailMessage(policy=SMTP.clone(linesep="\n"))
    given = subject or default_subject(contents)
    if contents.stale and "STALE" not in given:
        given = f"[STALE] {given}"
    message["Subject"] = given
    message["From"] = addresses([sender], "--mail-from") if sender else default_sender()
    if to:
        message["To"] = addresses(to, "--mail-to")
    message["X-Mailer"] = f"mrrcli {contents.meta.get('mrrcli_version')}"
    message.set_content(plain_text(contents))
    svgs = {name: render.to_svg(spec) for name, spec in chart_specs(contents).items()}
    images = {
        name: f'<img src="cid:{name}@{CID_DOMAIN}" width="{_width(svg)}" alt="{name} chart">'
        for name, svg in svgs.items()
    }
    message.add_alternative(page(contents, images), subtype="html")
    body = message.get_body(("html",))
    assert isinstance(body, EmailMessage)
    for name, svg in svgs.items():
        body.add_related(
            render.svg_to_png(svg),
            "image",
            "png",
            cid=f"<{name}@{CID_DOMAIN}>",
            filename=f"{name}.png",
            disposition="inline",
        )
    return message.as_string()


def write_report(
    contents: Contents,
    path: str,
    to: list[str] | None = None,
    subject: str | None = None,
    sender: str | None = None,
) -> None:
    """Write the report as `path`'s extension asks, whole or not at all."""
    if report_extension(path) == ".eml":
        text = eml_report(contents, to or [], subject, sender)
    else:
        text = html_report(contents)
    render.write_file(path, text)
