"""A Document as text: CSV, JSON, NDJSON, Markdown, or its table as plain text (SPEC §7.1)."""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

import polars as pl

from mrrcli.errors import UsageError
from mrrcli.present.document import Document

Format = Literal["auto", "table", "csv", "json", "ndjson", "markdown"]
EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "table",
}


# Files people expect in another format than text: never written as CSV under their name.
NOT_TEXT = frozenset(
    [
        ".xlsx",
        ".xls",
        ".xlsm",
        ".ods",
        ".numbers",
        ".parquet",
        ".pdf",
        ".png",
        ".svg",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".html",
        ".htm",
        ".eml",
        ".docx",
        ".pptx",
    ]
)


# What writes those files instead, said with the usage error.
ELSEWHERE = {
    ".html": "; a page with charts: mrrcli report FILE... -o report.html",
    ".htm": "; a page with charts: mrrcli report FILE... -o report.html",
    ".eml": "; an e-mail with charts: mrrcli report FILE... -o report.eml",
    ".png": "; the report's chart as a picture: --chart PATH.png",
    ".svg": "; the report's chart as a picture: --chart PATH.svg",
}


def resolve_format(fmt: Format, output: str | None, stdout_is_terminal: bool) -> Format:
    """`auto`: the output file's extension, else a table on a terminal and CSV in a pipe. An
    extension mrrcli cannot write (`.xlsx`, `.png` for a table) is a usage error (SPEC §11),
    as is an unknown one unless `fmt` says what to write."""
    # `-o ''` arrives as `.` (a path): a folder, not a file
    if output is not None and os.path.basename(output).strip() in ("", ".", ".."):
        raise UsageError(f"-o {output!r}: give the name of the file to write")
    extension = os.path.splitext(output)[1].lower() if output is not None else ""
    if extension in NOT_TEXT or (fmt == "auto" and extension and extension not in EXTENSIONS):
        written = ", ".join(EXTENSIONS)
        raise UsageError(
            f"-o {output}: this report cannot be written as {extension}; it writes {written} "
            f"(.txt: the table as text){ELSEWHERE.get(extension, '')}"
        )
    if fmt != "auto":
        return fmt
    if output is not None:
        return EXTENSIONS.get(extension, "csv")
    return "table" if stdout_is_terminal else "csv"


def _unquote_money(text: str, frame: pl.DataFrame, numbers: tuple[str, ...] = ()) -> str:
    """Polars writes Decimals as JSON strings; money is a number (`"amount":"12.50"` → 12.50),
    as are the exact numbers of the text columns `numbers`."""
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    for column in [*decimals, *numbers]:
        text = re.sub(rf'("{re.escape(column)}":)"(-?\d+(?:\.\d+)?)"', r"\1\2", text)
    return text


def to_ndjson(document: Document) -> str:
    return _unquote_money(document.frame.write_ndjson(), document.frame, document.json_numbers)


def to_json(document: Document) -> str:
    rows = _unquote_money(document.frame.write_json(), document.frame, document.json_numbers)
    meta = json.dumps(document.meta, ensure_ascii=document.ascii_meta)
    return f'{{"meta": {meta}, "rows": {rows}}}\n'


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def frame_markdown(frame: pl.DataFrame) -> str:
    """Any frame as a Markdown table, numbers right-aligned."""
    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + "|".join("---:" if is_number(frame, c) else "---" for c in frame.columns) + "|",
    ]
    for row in frame.iter_rows():
        cells = (markdown_cell(cell_text(v)) for v in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_cell(text: str) -> str:
    """A value as one Markdown table cell: a `|` in it (a segment or customer id such as
    `A|B`) escaped, a line break made a space, so that it stays one cell of its row."""
    return text.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def is_number(frame: pl.DataFrame, column: str) -> bool:
    return frame.schema[column].is_numeric()


def render_text(document: Document, fmt: Format) -> str:
    """The document as text in `fmt`; `table` as the table's plain text (for a .txt file)."""
    if fmt == "csv":
        return document.frame.write_csv()
    if fmt == "json":
        return to_json(document)
    if fmt == "ndjson":
        return to_ndjson(document)
    if fmt == "markdown":
        return frame_markdown(document.frame)
    if fmt == "table":
        from mrrcli.present.tables import table_text

        return table_text(document.table(None))
    raise ValueError(f"no text rendering for {fmt!r}")
