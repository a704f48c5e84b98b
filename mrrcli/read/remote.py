"""Files only Spark can read: URLs such as `s3a://bucket/export.parquet` (`--engine spark`).

mrrcli reads a file's header and first bytes to decide how to read it (its delimiter, its
source, the header the customer id is in, a Parquet file's types). For a URL, the driver asks
Spark for them once (mrrcli.spark) and registers them here as the file's `head`: the first
lines of a CSV file as bytes, or a Parquet file holding the first row of the file with its
columns and types. Every decision is then made from the head; the rows themselves are read
by Spark only. The registry is handed to every bucket with the rest of the job.
"""

from __future__ import annotations

import io
import re

URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

# URL → its head (see above), registered by mrrcli.spark on the driver and in each bucket.
HEADS: dict[str, bytes] = {}


def is_url(path: str) -> bool:
    """Whether `path` is a URL (`s3a://…`, `hdfs://…`, `file://…`), not a local path."""
    return URL.match(path) is not None


def head(path: str) -> bytes | None:
    """The head of a registered URL, else None (a local file: read it)."""
    return HEADS.get(path)


def readable(path: str) -> str | io.BytesIO:
    """What Polars reads for `path`: the file itself, or a registered URL's head."""
    found = HEADS.get(path)
    return path if found is None else io.BytesIO(found)
