"""Writes hostile import files into DIR: a zip bomb disguised as XLSX, binary garbage, an unclosed
quote, a million columns, a 100 kB cell.

usage: python hostile.py DIR
"""

import os
import random
import sys
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

with zipfile.ZipFile(os.path.join(out, "zip-bomb.xlsx"), "w", zipfile.ZIP_DEFLATED) as bomb:
    bomb.writestr("[Content_Types].xml", "<Types/>")
    bomb.writestr("xl/workbook.xml", "<workbook/>")
    with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
        block = b" " * (1 << 20)
        for _ in range(1024):  # 1 GiB expanded, about 1 MB on disk
            sheet.write(block)

rng = random.Random(7)
with open(os.path.join(out, "garbage.csv"), "wb") as f:
    f.write(bytes(rng.getrandbits(8) for _ in range(10 << 20)))

with open(os.path.join(out, "unclosed-quote.csv"), "wb") as f:
    f.write(b'email,notes\na@b.example,"')
    f.write(b"x" * (200 << 20))

with open(os.path.join(out, "million-columns.csv"), "wb") as f:
    f.write(b"email" + b",x" * 1_000_000 + b"\n")

with open(os.path.join(out, "huge-cell.csv"), "wb") as f:
    f.write(b"email,notes\na@b.example," + b"n" * 100_000 + b"\n")
