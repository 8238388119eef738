"""Files for the attachment-screening tests, generated in the test run (nothing binary is kept
in the repository): a PDF with text, an encrypted PDF, a PNG rendered with a large clear font so
Tesseract reads it, docx and xlsx packages, a plain zip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(*lines: str) -> bytes:
    """A one-page PDF 1.4 with ``lines`` in Helvetica, written object by object."""
    stream = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join(
        f"({_pdf_string(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
         "/Resources << /Font << /F1 4 0 R >> >> >>"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()


def encrypted_pdf(*lines: str, password: str = "s3cret-pass") -> bytes:
    """The same PDF, encrypted with a user password (AES-128)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(*lines))))
    writer.encrypt(user_password=password, owner_password=password + "-owner",
                   algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png(*lines: str, size: int = 64) -> bytes:
    """Black text on white, large and clear, as a photo or scan of a card would be once cropped."""
    from PIL import Image, ImageDraw, ImageFont

    font = (ImageFont.truetype(str(FONT), size) if FONT.exists()
            else ImageFont.load_default(size=size))
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    image = Image.new("L", (width, (len(lines) + 1) * int(size * 1.6)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size // 2 + i * int(size * 1.6)), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _package(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx(*paragraphs: tuple[str, ...] | str, media: dict[str, bytes] | None = None) -> bytes:
    """A minimal Word document; a paragraph given as a tuple is split into several runs, as
    Word splits text it formats differently (a number can span runs)."""
    body = "".join(
        "<w:p>" + "".join(f"<w:r><w:t xml:space=\"preserve\">{run}</w:t></w:r>"
                          for run in ((p,) if isinstance(p, str) else p)) + "</w:p>"
        for p in paragraphs)
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="xml" ContentType="application'
            '/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            '//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>'),
        "word/document.xml": (f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
                              f'"{_W}"><w:body>{body}</w:body></w:document>'),
    }
    for name, data in (media or {}).items():
        parts[f"word/media/{name}"] = data
    return _package(parts)


def xlsx(*cells: str) -> bytes:
    """A minimal workbook whose first sheet holds ``cells`` as shared strings in column A."""
    strings = "".join(f"<si><t>{c}</t></si>" for c in cells)
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>{i - 1}</v></c></row>'
                   for i in range(1, len(cells) + 1))
    return _package({
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxml'
                               'formats.org/package/2006/content-types"/>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{_S}"><sheets><sheet '
                           'name="Sheet1" sheetId="1"/></sheets></workbook>',
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><sst xmlns="{_S}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{_S}">'
                                    f'<sheetData>{rows}</sheetData></worksheet>',
    })


def plain_zip(**members: str) -> bytes:
    """A zip archive that is no office file."""
    return _package(dict(members) or {"readme.txt": "hello"})


def pdf_with_embedded_file(name: str, data: bytes) -> bytes:
    """A PDF carrying a file inside it (what it holds is on no page)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf("See the attachment."))))
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_comment(page_text: str, comment: str) -> bytes:
    """A PDF whose page is harmless and whose comment (a FreeText annotation) is not."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import FreeText

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(page_text))))
    writer.add_annotation(page_number=0, annotation=FreeText(text=comment,
                                                             rect=(50, 550, 400, 600)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf(*lines: str) -> bytes:
    """A PDF whose only content is a picture of the text (a scan): no text layer at all."""
    from PIL import Image

    image = Image.open(io.BytesIO(png(*lines)))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PDF")
    return out.getvalue()
