"""Vega-Lite specs drawn as SVG or PNG, offline, with the font shipped in the package.

vl-convert (the `pictures` extra) is imported here only, when a picture is asked for; without
it, one line says what to install. Every picture is drawn with DejaVu Sans from `fonts/`, so
the same input gives the same bytes on every machine."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from mrrcli.errors import MrrError
from mrrcli.present.files import write_atomic

FONTS = Path(__file__).with_name("fonts")
PNG_SCALE = 2.0  # pixels per SVG unit: sharp on high-density screens and in print
EXTENSIONS = (".png", ".svg")
INSTALL = "pip install 'mrrcli[pictures]'"


class MissingExtra(MrrError):
    """Pictures need vl-convert-python, an optional extra."""


class PictureError(MrrError):
    """A picture or report that cannot be written where it was asked for."""


def import_converter() -> ModuleType:
    """vl_convert, or MissingExtra saying what to install."""
    try:
        import vl_convert
    except ImportError:
        raise MissingExtra(
            f"pictures need the 'pictures' extra (vl-convert-python): {INSTALL}"
        ) from None
    return vl_convert


@functools.cache
def converter() -> ModuleType:
    """vl_convert with the package's font registered (once per process)."""
    module = import_converter()
    module.register_font_directory(str(FONTS))
    return module


# Vega numbers the gradients it draws with one counter per process: `…gradient_7` in the second
# chart drawn. Renumbered from 0 in each SVG, a chart is the same bytes however many were drawn
# before it in the same process (a library user drawing two reports).
_GRADIENT = re.compile(r"([\w-]*gradient_)(\d+)\b")


def to_svg(spec: dict[str, Any]) -> str:
    """The chart as SVG text, the same bytes for the same spec (_GRADIENT)."""
    svg: str = converter().vegalite_to_svg(spec)
    numbers: dict[str, str] = {}

    def renumbered(found: re.Match[str]) -> str:
        number = numbers.setdefault(found.group(0), str(len(numbers)))
        return found.group(1) + number

    return _GRADIENT.sub(renumbered, svg)


def svg_to_png(svg: str, scale: float = PNG_SCALE) -> bytes:
    """An SVG drawn by to_svg as PNG, with the same font."""
    png: bytes = converter().svg_to_png(svg, scale=scale)
    return png


def picture(spec: dict[str, Any], extension: str) -> bytes:
    """The chart as the bytes of a `.svg` or `.png` file."""
    svg = to_svg(spec)
    return svg.encode("utf-8") if extension == ".svg" else svg_to_png(svg)


def extension_of(path: str, option: str) -> str:
    """`.png` or `.svg`, from the path's extension; anything else is a usage error."""
    from mrrcli.errors import UsageError

    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise UsageError(f"{option} {path}: a chart is written as .png or .svg")
    return extension


def write_file(path: str, data: str | bytes) -> None:
    """Write a picture or report whole or not at all; an unwritable place is one line."""
    try:
        write_atomic(path, data)
    except OSError as error:
        raise PictureError(f"{path}: cannot write it: {error.strerror}") from None


def write_chart(spec: dict[str, Any], path: str) -> None:
    """`--chart PATH.png|.svg`: the chart drawn and written atomically."""
    write_file(path, picture(spec, extension_of(path, "--chart")))
