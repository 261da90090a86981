"""Write the hostile and odd export files in this folder (run: ``python make_files.py``).

- ``xxe.xml``: an external entity that would read ``/etc/hostname`` into a learner's name.
- ``billion-laughs.xml``: nested entities that would expand to about 3 GB.
- ``zip-bomb.xlsx``: a zip whose worksheet is 64 MiB of spaces compressed about 1000:1 (the file
  itself is about 70 KB).
- ``not-a-zip.xlsx``: CSV text saved under an .xlsx name.
- ``utf16.csv``: Excel's "Unicode text": UTF-16LE with a byte-order mark, tab-separated.
- ``semicolon.csv``: European Excel: ``;``-separated, with a ``sep=;`` first line.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

XXE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE transcript [
  <!ENTITY secret SYSTEM "file:///etc/hostname">
]>
<transcript>
  <learner id="10231" email="dana.whitfield@pinelake.example">
    <name>&secret;</name>
    <agency>Pine Lake PD</agency>
    <course id="RC-101" record="TR-1">
      <title>Group Crisis Intervention</title>
      <status>completed</status>
      <completed>2025-01-01</completed>
    </course>
  </learner>
</transcript>
"""

LAUGHS = ['<?xml version="1.0"?>', "<!DOCTYPE transcript [", '  <!ENTITY lol "lol">']
LAUGHS += [
    f'  <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
]
LAUGHS += [
    "]>",
    '<transcript><learner id="1" email="a@b.example"><name>&lol9;</name>',
    '<course id="X" record="R1"><title>Group Crisis Intervention</title>',
    "<status>completed</status><completed>2025-01-01</completed></course></learner></transcript>",
    "",
]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)

TAB_ROWS = [
    [
        "Learner Name",
        "Email",
        "Agency",
        "Course Title",
        "Course ID",
        "Enrollment Date",
        "Completion Date",
        "Status",
        "Credit Hours",
        "Certificate Number",
    ],
    [
        "Erin Lindqvist",
        "erin.lindqvist@pinelake.example",
        "Pine Lake PD",
        "Assisting Individuals in Crisis",
        "PS-AIC-2025-01",
        "01/08/2025",
        "01/23/2025",
        "Completed",
        "14",
        "AIC-25-0042",
    ],
    [
        "Renée Dubois",
        "renee.dubois@riverbend.example",
        "Riverbend PD",
        "QPR",
        "PS-QPR-2025-02",
        "02/03/2025",
        "02/03/2025",
        "Completed",
        "1",
        "QPR-25-0880",
    ],
]

SEMICOLON = (
    "sep=;\r\n"
    "Learner Name;Email;Agency;Course Title;Course ID;Enrollment Date;Completion Date;Status;Credit Hours;"
    "Certificate Number\r\n"
    'Tom Baker;tom.baker@pinelake.example;Pine Lake PD;"QPR; Gatekeeper";PS-QPR-2025-02;02/03/2025;'
    "02/04/2025;Completed;1;QPR-25-0871\r\n"
    "Lisa Hartmann;lhartmann@cedarcounty.example;Cedar County SO;Group Crisis Intervention;PS-GCI-2024-10;"
    "10/01/2024;10/02/2024;Completed;14;GCI-24-0388\r\n"
)


def main() -> None:
    """Write every file into this folder."""
    (HERE / "xxe.xml").write_text(XXE, encoding="utf-8")
    (HERE / "billion-laughs.xml").write_text("\n".join(LAUGHS), encoding="utf-8")
    with zipfile.ZipFile(
        HERE / "zip-bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as bomb:
        bomb.writestr("[Content_Types].xml", CONTENT_TYPES)
        with bomb.open("xl/worksheets/sheet1.xml", "w") as sheet:
            block = b" " * (1024 * 1024)
            for _ in range(64):
                sheet.write(block)
    (HERE / "not-a-zip.xlsx").write_text(
        "Learner Name,Email\r\nDana Whitfield,dana.whitfield@pinelake.example\r\n", encoding="utf-8"
    )
    text = "".join("\t".join(row) + "\r\n" for row in TAB_ROWS)
    (HERE / "utf16.csv").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (HERE / "semicolon.csv").write_bytes(SEMICOLON.encode("utf-8"))


if __name__ == "__main__":
    main()
