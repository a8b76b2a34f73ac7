"""Writes hostile import files into DIR: a zip bomb disguised as XLSX, an ODS repeat bomb (under a
kilobyte; 98 million cells once expanded, just under calamine's own cap of 100 million, about
3 GB as one range), an XLSX with a cell at its last column, binary garbage, an unclosed quote,
a million columns, a 100 kB cell.

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

ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
    '<table:table table:name="Feuille1"><table:table-row table:number-rows-repeated="6000">'
    '<table:table-cell table:number-columns-repeated="16384" office:value-type="string">'
    "<text:p>email@example.com</text:p></table:table-cell></table:table-row></table:table>"
    "</office:spreadsheet></office:body></office:document-content>"
)
ODS_MANIFEST = (
    '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)
with zipfile.ZipFile(os.path.join(out, "repeat-bomb.ods"), "w", zipfile.ZIP_DEFLATED) as ods:
    ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    ods.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    ods.writestr("content.xml", ODS_CONTENT)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
with zipfile.ZipFile(os.path.join(out, "far-cell.xlsx"), "w", zipfile.ZIP_DEFLATED) as xlsx:
    xlsx.writestr("[Content_Types].xml",
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/></Types>')
    xlsx.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{RELS}"><Relationship Id="rId1"'
        f' Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    xlsx.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}">'
        '<sheets><sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    xlsx.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="{RELS}">'
        f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    xlsx.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">'
        '<dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>a@b.example</t></is></c></row>'
        '</sheetData></worksheet>')

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
