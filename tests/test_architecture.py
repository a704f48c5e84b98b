"""The structure ARCHITECTURE.md describes, enforced: imports only run down the layers, `--help`
imports neither Polars nor pyarrow, and functions and modules stay small.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "mrrcli"

# Lowest first. A module may import from its own layer or any layer below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("mrrcli", "mrrcli.vocabulary", "mrrcli.errors", "mrrcli.currency"),
    ("mrrcli.read",),
    ("mrrcli.sources",),
    ("mrrcli.normalize",),
    ("mrrcli.engine",),
    ("mrrcli.pipeline",),
    (
        "mrrcli.parts",
        "mrrcli.batches",
        "mrrcli.split",
        "mrrcli.spark",
        "mrrcli.spark_fields",
        "mrrcli.start",
        "mrrcli.urls",
        "mrrcli.validate",
        "mrrcli.checks",
    ),
    ("mrrcli.present",),
    ("mrrcli.report",),
    ("mrrcli.cli", "mrrcli.__main__"),
]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of a module of mrrcli: the one whose name is its longest prefix."""
    best, found = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), index
    assert found >= 0, f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    return found


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every mrrcli module a file imports, anywhere in it (lazy imports included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("mrrcli")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mrrcli":
                # `from mrrcli import parts` imports the module mrrcli.parts.
                for alias in node.names:
                    sub = f"mrrcli.{alias.name}"
                    is_module = (PACKAGE / alias.name).is_dir() or (
                        PACKAGE / f"{alias.name}.py"
                    ).exists()
                    found.append((node.lineno, sub if is_module else "mrrcli"))
            elif node.module.startswith("mrrcli."):
                found.append((node.lineno, node.module))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[module_name(p) for p in SOURCES])
def test_imports_only_run_downwards(path: Path) -> None:
    module = module_name(path)
    own = layer_of(module)
    upward = [
        f"line {line}: {target} (layer {layer_of(target)})"
        for line, target in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if layer_of(target) > own
    ]
    assert not upward, f"{module} (layer {own}) imports upwards: {'; '.join(upward)}"


def test_the_layer_check_catches_an_upward_import() -> None:
    tree = ast.parse("def f():\n    from mrrcli.report import load\n")
    assert [layer_of(t) for _, t in imported_modules(tree)] == [8]
    assert layer_of("mrrcli.engine.partials") > layer_of("mrrcli.normalize.periods")


def _explained(text: str) -> bool:
    """A module may pass a limit when a comment at its top says why (`# size:`)."""
    return any(line.startswith("# size:") for line in text.splitlines()[:15])


@pytest.mark.parametrize("path", SOURCES, ids=[module_name(p) for p in SOURCES])
def test_functions_and_modules_are_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if _explained(text):
        return
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: {', '.join(long)}"


START_UP = """
import sys
sys.argv = ["mrrcli", *sys.argv[1:]]
from mrrcli.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("polars", "pyarrow", "pyspark") if m in sys.modules)
sys.stderr.write("HEAVY:" + ",".join(heavy) + "\\n")
"""


@pytest.mark.parametrize("args", [["--help"], ["movements", "--help"], ["check", "--help"]])
def test_help_imports_no_polars(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", START_UP, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert "Usage" in done.stdout
    assert "HEAVY:\n" in done.stderr, done.stderr


NUMPY = START_UP.replace('("polars", "pyarrow", "pyspark")', '("numpy", "pandas", "pyspark")')


@pytest.mark.parametrize("output", ["csv", "json", "table"])
def test_a_report_does_not_import_numpy(output: str) -> None:
    # NumPy is not needed to report (a Decimal literal once pulled it in: 0.1 s of start-up).
    args = ["movements", "sample_data/subscriptions.csv", "--as-of", "2026-06-30", "-f", output]
    done = subprocess.run(
        [sys.executable, "-c", NUMPY, *args, "-q", "--max-age", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "2026-06" in done.stdout
    assert "HEAVY:\n" in done.stderr, done.stderr
