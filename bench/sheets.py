"""Which .xlsx reader: python-calamine against openpyxl's read-only mode, side by side.

    python bench/sheets.py --rows 100000 --runs 3

Writes a seeded contact sheet (bench/ingest.py's messy phone values, half of them number
cells) once, then reads every row with each library, the runs interleaved; prints the medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from ingest import messy_values


def write_sheet(path: Path, rows: int) -> None:
    """A contact export: Phone (text or a number cell), MobilePhone, Reason, DoNotCall."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["Phone", "MobilePhone", "Reason", "DoNotCall"])
    rng = random.Random(3)
    for index, value in enumerate(messy_values(1, rows)):
        phone: object = value if rng.random() < 0.5 else float(4155550000 + index % 10000)
        sheet.append([phone, None, "opt-out", "true"])
    book.save(path)


def calamine_rows(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    return sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows())


def openpyxl_rows(path: Path) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))


def main() -> None:
    """Write the sheet, time both readers, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"contacts-{args.rows}.xlsx"
    if not path.exists():
        write_sheet(path, args.rows)
    readers = {"python-calamine": calamine_rows, "openpyxl (read_only)": openpyxl_rows}
    walls: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.runs):
        for name, read in readers.items():
            start = time.perf_counter()
            read(path)
            walls[name].append(time.perf_counter() - start)
    print(f"| {'reader':<22} | {'rows':>9} | {'median s':>8} | {'rows/s':>9} |")
    print(f"| {'-' * 22} | {'-' * 9}: | {'-' * 8}: | {'-' * 9}: |")
    for name, times in walls.items():
        wall = statistics.median(times)
        print(f"| {name:<22} | {args.rows:>9,} | {wall:>8.2f} | {args.rows / wall:>9,.0f} |")


if __name__ == "__main__":
    main()
