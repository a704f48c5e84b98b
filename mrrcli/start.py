"""Starting Apache Spark for `--engine spark`: one line when pyspark or Java is missing, and
a JVM whose own chatter stays out of mrrcli's stderr."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

from mrrcli.errors import MrrError


class SparkMissing(MrrError):
    """--engine spark without pyspark or Java: one line saying what to install (exit 1)."""


def require_spark() -> None:
    """Stop with one line when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkMissing(
            "--engine spark needs pyspark: pip install 'mrrcli[spark]' (or pip install pyspark)"
        ) from None
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (home and os.path.exists(f"{home}/bin/java")):
        raise SparkMissing(
            "--engine spark needs Java 17 or later: install a JDK or JRE (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )


def session(master: str) -> Any:
    """The Spark session (an existing one is reused), its Python workers on this Python. A
    JVM started here writes its own messages (log4j's start, Java's warnings) to a log in
    TMPDIR, removed at exit, not to mrrcli's stderr, which a cron job mails: a Spark that
    does not start is one line quoting the log's end."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("mrrcli")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
    )
    if SparkContext._active_spark_context is not None:
        spark = builder.getOrCreate()
    else:
        log = os.path.join(tempfile.gettempdir(), f"mrrcli-spark-{os.getpid()}.log")
        with _stderr_to(log):
            try:
                spark = builder.getOrCreate()
            except Exception as error:
                raise SparkMissing(f"Spark did not start: {_last_words(log, error)}") from None
        atexit.register(_remove, log)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextlib.contextmanager
def _stderr_to(path: str) -> Iterator[None]:
    """File descriptor 2 pointed at `path` meanwhile: a process started now (the JVM, and
    the Python workers it starts) keeps writing there. Where no log can be written, stderr
    is left as it is."""
    sys.stderr.flush()
    try:
        log = open(path, "ab")  # noqa: SIM115 (closed once its descriptor is copied)
    except OSError:
        yield
        return
    saved = os.dup(2)
    with log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _last_words(log: str, error: Exception) -> str:
    """The last line the JVM wrote to its log, else the error's first line."""
    with contextlib.suppress(OSError), open(log, errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
        if lines:
            return f"{lines[-1]} (its log: {log})"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
