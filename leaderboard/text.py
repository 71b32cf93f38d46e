"""User text is data: helpers that make it safe to show anywhere (a page, an HTML wall, a CSV export)."""

from __future__ import annotations

import csv
import html
import math
import numbers
import re
from typing import Any, Collection, Iterable, Mapping, Sequence, TextIO

import numpy as np

# Characters Markdown (and Streamlit's extensions: :red[], $math$) give meaning to.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~:$<>&\"'=")


def html_text(value: object, *, max_length: int | None = None) -> str:
    """Escape ``value`` for HTML *and* Markdown: every special character becomes an entity.

    Safe inside ``st.html`` and inside ``st.markdown(..., unsafe_allow_html=True)``:
    tags, links, images and math in a customer's comment show literally and
    load nothing. Newlines become spaces so an HTML block is never split.
    """
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return "".join(f"&#{ord(ch)};" if ch in _MARKDOWN_SPECIAL else ch for ch in text)


_WORD_JOINER = "\u2060"


def markdown_text(value: object) -> str:
    """Escape ``value`` for ``st.markdown``: entities, plus no autolinks.

    GitHub-flavoured Markdown turns bare ``http://…``, ``www.…`` and ``a@b.c`` into
    links even when every character is an entity; an invisible word joiner after
    ``:``, ``@`` and ``www`` keeps them plain text.
    """
    escaped = html_text(value)
    escaped = escaped.replace("&#58;", "&#58;" + _WORD_JOINER).replace("@", "@" + _WORD_JOINER)
    return escaped.replace("www", "www" + _WORD_JOINER).replace("WWW", "WWW" + _WORD_JOINER)


def plain(value: object) -> str:
    """Collapse whitespace; for dataframe cells and ``st.text``."""
    return " ".join(("" if value is None else str(value)).split())


# ---- CSV exports
#
# A cell that starts with = + - @ (or a tab or carriage return) is a formula to Excel,
# LibreOffice and Google Sheets: `=HYPERLINK("http://x","click")` in an agent's name
# becomes a live link, `=cmd|' /C calc'!A0` a DDE call (OWASP "CSV Injection").
# Spreadsheet-safe exporters put an apostrophe in front: the spreadsheet shows the
# text as typed and treats it as text. Decisions:
# - Numbers stay numbers: a value whose Python type is a number (int, float, Decimal,
#   numpy numbers; not bool) is written as it is, so an nps of -42.5 stays `-42.5`.
# - Text that merely looks like a number (the string "-5") stays as it is only in a
#   column the writer declares numeric (``numeric_columns``), and only if it is a plain
#   number literal; in any other column it is text and gets the apostrophe.
# - The first character that is not whitespace counts (" =x" gets the apostrophe):
#   importers that trim spaces (LibreOffice's "Trim spaces") would see the `=`.
# - The full-width forms (＝ ＋ － ＠) count too: cheap insurance against spreadsheets
#   that normalise them; ordinary names in any script are never touched.
# - Header cells go through the same rule (a rejected-rows file repeats the user's header).
# Every CSV the app writes goes through ``CsvWriter`` (tests/test_csv_safe.py checks
# that no other module builds a csv.writer, a DictWriter or calls .to_csv).
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER_LITERAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_csv_cell(value: Any, *, numeric: bool = False) -> str:
    """The text of one CSV cell: a would-be formula neutralised with a leading apostrophe.

    None and NaN are empty; booleans ``true``/``false``; numbers as ``str`` gives them.
    ``numeric``: the cell's column holds numbers, so a text that is a plain number
    literal ("-5", "+2.5") is kept as it is.
    """
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Number):
        if isinstance(value, (float, np.floating)) and math.isnan(value):
            return ""
        return str(value)
    text = str(value)
    if numeric and _NUMBER_LITERAL.fullmatch(text.strip()):
        return text
    if text[:1] in FORMULA_START or text.lstrip()[:1] in FORMULA_START:
        return "'" + text
    return text


class CsvWriter:
    """``csv.writer`` (comma, ``\\n`` line ends) whose every cell goes through ``safe_csv_cell``.

    ``numeric_columns``: positions (0-based) of the columns that hold numbers.
    """

    def __init__(self, out: TextIO, *, numeric_columns: Collection[int] = ()) -> None:
        self._writer = csv.writer(out, lineterminator="\n")
        self.numeric_columns = frozenset(numeric_columns)

    def writerow(self, cells: Iterable[Any]) -> None:
        numeric = self.numeric_columns
        self._writer.writerow([safe_csv_cell(v, numeric=i in numeric) for i, v in enumerate(cells)])


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    *,
    numeric_columns: Collection[str] = (),
) -> None:
    """A header of ``columns``, then one line per row (a missing key is an empty cell)."""
    writer = CsvWriter(out, numeric_columns=[i for i, c in enumerate(columns) if c in numeric_columns])
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c) for c in columns])


__all__ = ["CsvWriter", "FORMULA_START", "html_text", "markdown_text", "plain", "safe_csv_cell", "write_csv", "html"]
