"""Attachment screening cost per page (issue 8; R-OPS-2): PDF text extraction, OCR of a page
image, and OCR of a scanned PDF page, each followed by the card-number check, as
``cases.services`` runs them on every inbound file.

Generates its own files (deterministic): text PDFs of 1, 10 and 50 pages (about 2,500
characters a page, a card number on the last page), a PNG page image (A4 at 150 dpi, 30 lines
of 40-point text) and a one-page scanned PDF made of that image. Reports seconds per page
(median and p90 of the repeats) as wall time and as CPU time, the latter split into this
process and its children (Tesseract runs as a child process). Writes
bench/results/attachments_screening.json and prints a summary.

    .venv/bin/python bench/attachments/bench_attachments.py [--repeats 5] [--ocr-repeats 3]

Caveat: OCR time depends on how much text a page holds and on the machine; the page used here
is dense on purpose (a worst case for a letter or an invoice, a mild one for a book page).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib
from benchlib import percentile, say

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PAN = "4111 1111 1111 1111"
LINE = ("Invoice line {n:03d}: parcel delivered to the customer's address, total 45.00 EUR, "
        "reference AB-{n:05d}, thank you for your order.")


def _pdf(pages: int) -> bytes:
    """A text PDF of ``pages`` pages (Helvetica), written object by object."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    font_number = 3
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for p in range(pages):
        lines = [LINE.format(n=p * 20 + i) for i in range(20)]
        if p == pages - 1:
            lines.append(f"Paid by card {PAN}")
        stream = "BT /F1 9 Tf 40 800 Td 12 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
                       f"{content} 0 R /Resources << /Font << /F1 {font_number} 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>"
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
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
              "%%EOF\n".encode())
    return out.getvalue()


def _page_image() -> Any:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 28) if FONT.exists() else ImageFont.load_default(28)
    image = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(image)
    for i in range(30):
        text = LINE.format(n=i)[:70] if i < 29 else f"Paid by card {PAN}"
        draw.text((60, 60 + i * 55), text, fill=0, font=font)
    return image


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _scanned_pdf(image: Any) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PDF", resolution=150)
    return out.getvalue()


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def measure(name: str, run: Callable[[], int], *, pages: int, repeats: int) -> dict[str, Any]:
    """Seconds per page over ``repeats`` runs: wall, CPU of this process, CPU of children."""
    wall, own, kids = [], [], []
    found = 0
    for _ in range(repeats):
        c0, k0 = _cpu()
        t0 = time.perf_counter()
        found = run()
        wall.append((time.perf_counter() - t0) / pages)
        c1, k1 = _cpu()
        own.append((c1 - c0) / pages)
        kids.append((k1 - k0) / pages)
    say(f"  {name}: {percentile(wall, 50) * 1000:.1f} ms/page wall")
    return {
        "pages": pages, "repeats": repeats, "cards_found": found,
        "wall_s_per_page_median": round(percentile(wall, 50), 5),
        "wall_s_per_page_p90": round(percentile(wall, 90), 5),
        "cpu_self_s_per_page_median": round(percentile(own, 50), 5),
        "cpu_children_s_per_page_median": round(percentile(kids, 50), 5),
        "cpu_total_s_per_page_median": round(percentile([a + b for a, b in zip(own, kids,
                                                                                strict=True)],
                                                        50), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ocr-repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("SAFEGUARD_ENV", "test")
    os.environ.setdefault("SAFEGUARD_DATA_DIR", tempfile.mkdtemp(prefix="sg-bench-att-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguard.settings")
    import django

    django.setup()
    import pytesseract

    from safeguard.cases import attachments as files
    from safeguard.protection import services as protection

    limits = files.Limits.from_settings()

    def screen(content: bytes) -> Callable[[], int]:
        def run() -> int:
            kind = files.sniff(content)
            return protection.card_numbers_in(files.extract(content, kind, limits).text)
        return run

    results: dict[str, Any] = {}
    for pages in (1, 10, 50):
        say(f"PDF text, {pages} pages")
        results[f"pdf_text_{pages}p"] = measure(f"pdf_text_{pages}p", screen(_pdf(pages)),
                                                pages=pages, repeats=args.repeats)
    image = _page_image()
    say("OCR of a page image (PNG)")
    results["ocr_png_page"] = measure("ocr_png_page", screen(_png(image)), pages=1,
                                      repeats=args.ocr_repeats)
    say("OCR of a scanned PDF page")
    results["ocr_scanned_pdf_page"] = measure("ocr_scanned_pdf_page",
                                              screen(_scanned_pdf(image)), pages=1,
                                              repeats=args.ocr_repeats)
    report = {
        "benchmark": "attachment screening per page",
        "machine": benchlib.machine("Tesseract runs as a child process: its CPU is reported "
                                    "apart from this process's"),
        "tesseract": str(pytesseract.get_tesseract_version()),
        "ocr_lang": limits.ocr_lang,
        "results": results,
    }
    path = benchlib.write_result("attachments", "screening", report)
    print(f"{'case':<24}{'wall ms/page':>14}{'p90':>10}{'CPU self':>10}{'CPU child':>11}"
          f"{'cards':>7}")
    for name, r in results.items():
        print(f"{name:<24}{r['wall_s_per_page_median'] * 1000:>14.1f}"
              f"{r['wall_s_per_page_p90'] * 1000:>10.1f}"
              f"{r['cpu_self_s_per_page_median'] * 1000:>10.1f}"
              f"{r['cpu_children_s_per_page_median'] * 1000:>11.1f}{r['cards_found']:>7}")
    print(f"Tesseract {report['tesseract']}; results in {path.relative_to(benchlib.ROOT)}")


if __name__ == "__main__":
    main()
