"""Write csat_tickets.xlsx from csat_tickets.csv, as a spreadsheet tool would save it:
real date-time cells (not text), scores as numbers (4.0 stays a decimal), a title sheet first.

    python examples/mappings/make_xlsx.py

The workbook is committed; this script is how it was made (and the test that it still matches).
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
# Fixed document times, so the same CSV always gives the same workbook.
STAMP = datetime(2026, 11, 20, 12, 0, 0)


def build(source: Path, target: Path) -> Path:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    book = Workbook()
    about = book.active
    about.title = "About"
    about.append(["CSAT export", "generated from csat_tickets.csv"])
    sheet = book.create_sheet("Tickets")
    sheet.append(header)
    for row in body:
        cells: list[object] = []
        for name, value in zip(header, row):
            if value and name in ("Solved At", "Survey Date"):
                cells.append(datetime.strptime(value, "%d/%m/%Y %H:%M"))
            elif value and name.startswith("CSAT"):
                cells.append(float(value) if "." in value else int(value))
            else:
                cells.append(value or None)
        sheet.append(cells)
    for column in ("B", "M"):
        for cell in sheet[column][1:]:
            cell.number_format = "dd/mm/yyyy hh:mm"
    book.properties.created = book.properties.modified = STAMP
    book.save(target)
    return target


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "csat_tickets.xlsx"
    print(build(HERE / "csat_tickets.csv", out))
