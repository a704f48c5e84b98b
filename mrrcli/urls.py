"""URLs read on Spark (`--engine spark`): `s3a://bucket/export/*.parquet`, `hdfs://…`,
`file://…`, whatever the user's Spark can read (SPEC §13).

The driver asks Spark, once, for the files a URL names (a pattern expanded by Spark's file
system, as Spark itself would) and for each file's head: its first lines, or, for Parquet, its
first row with its columns and types. The heads are registered in read.remote, so that every
decision mrrcli makes from a file's header is made from them; the rows themselves are read by
Spark only (mrrcli.spark).
"""

from __future__ import annotations

import glob
import io
import re
from collections.abc import Sequence
from typing import Any

from mrrcli.errors import InputError
from mrrcli.read import remote
from mrrcli.read.files import PARQUET_SUFFIXES

HEAD_LINES = 64  # a CSV file's first lines: its header and the rows that show its delimiter


def registered(spark: Any, paths: Sequence[str]) -> list[str]:
    """`paths` with each URL replaced by the files it names, their heads registered in
    read.remote.HEADS (local paths are left as given)."""
    found: list[str] = []
    for path in paths:
        if not remote.is_url(path):
            found.append(path)
            continue
        for url in _files(spark, path):
            remote.HEADS[url] = _head(spark, url)
            found.append(url)
    return found


def _files(spark: Any, url: str) -> list[str]:
    """The files a URL names, in order of name; a pattern is expanded by Spark's file system.
    A URL that names nothing, or a directory, is an error."""
    context = spark.sparkContext
    pattern = context._jvm.org.apache.hadoop.fs.Path(url)
    try:
        system = pattern.getFileSystem(context._jsc.hadoopConfiguration())
        statuses = system.globStatus(pattern)
    except Exception as error:  # py4j: no file system for the scheme, no access …
        raise InputError(f"{url}: Spark cannot read it: {java_message(error)}") from None
    if not statuses:
        problem = "no file matches this pattern" if statuses is not None else "no such file"
        raise InputError(f"{url}: {problem}")
    named = sorted((_spelled(str(s.getPath().toString())), s.isDirectory()) for s in statuses)
    if len(named) == 1 and not glob.has_magic(url):
        named = [(url, named[0][1])]  # as the user wrote it
    for name, directory in named:
        if directory:
            raise InputError(f"{name}: is a directory, not a file")
    return [name for name, _ in named]


def _spelled(name: str) -> str:
    """A file's URL as users write it: Hadoop writes a local file `file:/a/b`, not `file:///a/b`."""
    if name.startswith("file:/") and not name.startswith("file://"):
        return "file://" + name[len("file:") :]
    return name


def _head(spark: Any, url: str) -> bytes:
    """The file's head (read.remote): a Parquet file of its first row (with its columns and
    types, as Spark reads them), or its first HEAD_LINES lines."""
    import pyarrow.parquet as pq

    lines = [] if url.lower().endswith(PARQUET_SUFFIXES) else _first_lines(spark, url)
    if lines and not lines[0].startswith("PAR1"):
        return "\n".join(lines).encode("utf-8") + b"\n"
    sink = io.BytesIO()
    try:
        pq.write_table(spark.read.parquet(url).limit(1).toArrow(), sink)
    except Exception as error:  # py4j or Spark: not Parquet after all
        message = java_message(error)
        raise InputError(f"{url}: cannot read it as CSV or Parquet: {message}") from None
    return sink.getvalue()


def _first_lines(spark: Any, url: str) -> list[str]:
    try:
        rows = spark.read.text(url).limit(HEAD_LINES).collect()
    except Exception as error:
        raise InputError(f"{url}: Spark cannot read it: {java_message(error)}") from None
    if not rows:
        raise InputError(f"{url}: the file is empty (0 bytes); was the export complete?")
    return [str(row[0]) for row in rows]


def java_message(error: Exception) -> str:
    """What Spark or Java said, in one line, without its class names and stack."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    for line in lines:
        found = re.search(r"(?:Exception|Error): (.+)$", line)
        if found is not None:
            return found.group(1)
    return lines[0] if lines else type(error).__name__
