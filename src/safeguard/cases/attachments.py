"""What an attachment is and what text it holds: type from content, text out of PDFs, images
and office files, every step bounded (issue 8, issue 17 item 8; R-OPS-2, decision 0103).

No ORM and no storage here: bytes in, a :class:`Extracted` (or :class:`Unscreenable`) out.
``cases.services`` screens the text with the protection scanner and decides what is stored.

- The type comes from the content (``filetype``'s magic numbers, then the container's members
  for office files); the declared type is a hint that must agree, so a zip declared as a PDF or
  as text is never read as one (decision 0103).
- PDFs: the text of every page, form field values, annotation contents and document metadata
  (pypdf), and every embedded image is OCR'd. Encrypted PDFs that need a password, embedded
  files and more pages or images than the limits make the file unscreenable.
- Images (PNG, JPEG, GIF frames): OCR with Tesseract (pytesseract), a time limit per image
  and a pixel limit checked before decoding (decompression bombs).
- Office files (docx, xlsx): the text of their XML parts read with defusedxml (no DTDs, no
  entity expansion) out of a zip checked first for member count, total unzipped size and
  compression ratio (zip bombs); embedded media images are OCR'd, embedded objects make the
  file unscreenable.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import filetype
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.conf import settings

TEXT = "text"
PDF = "pdf"
PNG = "png"
JPEG = "jpeg"
GIF = "gif"
DOCX = "docx"
XLSX = "xlsx"
ZIP = "zip"
UNKNOWN = "unknown"

MIME = {
    TEXT: "text/plain", PDF: "application/pdf", PNG: "image/png", JPEG: "image/jpeg",
    GIF: "image/gif", ZIP: "application/zip",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
IMAGES = frozenset({PNG, JPEG, GIF})
SCREENABLE = frozenset({TEXT, PDF, PNG, JPEG, GIF, DOCX, XLSX})
# Declared types each content kind may arrive under (lower case, parameters stripped).
_DECLARED = {
    PDF: {"application/pdf", "application/x-pdf"},
    PNG: {"image/png"},
    JPEG: {"image/jpeg", "image/jpg", "image/pjpeg"},
    GIF: {"image/gif"},
    DOCX: {MIME[DOCX]},
    XLSX: {MIME[XLSX]},
}
# A declared type that names no format: the content decides alone.
GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_FILETYPE_KIND = {"application/pdf": PDF, "image/png": PNG, "image/jpeg": JPEG,
                  "image/gif": GIF, "application/zip": ZIP, MIME[DOCX]: DOCX,
                  MIME[XLSX]: XLSX}


class Unscreenable(Exception):
    """The file cannot be screened; ``reason`` says why in words an agent understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """Bounds on screening one attachment (settings ``SAFEGUARD_ATTACHMENT_*``)."""

    screen_max_bytes: int
    max_pages: int
    max_images: int
    max_pixels: int
    ocr_seconds: int
    ocr_lang: str
    ocr_threads: int
    max_unzipped_bytes: int
    max_zip_members: int
    max_zip_ratio: int
    max_text: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            screen_max_bytes=settings.SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES,
            max_pages=settings.SAFEGUARD_ATTACHMENT_MAX_PAGES,
            max_images=settings.SAFEGUARD_ATTACHMENT_MAX_IMAGES,
            max_pixels=settings.SAFEGUARD_ATTACHMENT_MAX_PIXELS,
            ocr_seconds=settings.SAFEGUARD_ATTACHMENT_OCR_SECONDS,
            ocr_lang=settings.SAFEGUARD_ATTACHMENT_OCR_LANG,
            ocr_threads=settings.SAFEGUARD_ATTACHMENT_OCR_THREADS,
            max_unzipped_bytes=settings.SAFEGUARD_ATTACHMENT_MAX_UNZIPPED_BYTES,
            max_zip_members=settings.SAFEGUARD_ATTACHMENT_MAX_ZIP_MEMBERS,
            max_zip_ratio=settings.SAFEGUARD_ATTACHMENT_MAX_ZIP_RATIO,
            max_text=settings.SAFEGUARD_ATTACHMENT_MAX_TEXT,
        )


@dataclass(frozen=True)
class Extracted:
    """The text found in a file, and how much of it was read (pages, OCR'd images)."""

    kind: str
    text: str
    pages: int = 0
    images: int = 0


# --- type from content ----------------------------------------------------------------------------


def declared_type(content_type: str) -> str:
    """The declared media type, lower case, without parameters."""
    return (content_type or "").split(";")[0].strip().lower()


def _looks_like_text(content: bytes) -> bool:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def _office_kind(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist()[:10_000])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return ZIP  # a zip by its signature, damaged or not: never screened as anything else
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return ZIP


def sniff(content: bytes) -> str:
    """The kind of ``content`` by its bytes alone (one of SCREENABLE, ZIP or UNKNOWN)."""
    guess = filetype.guess(content)
    if guess is not None:
        kind = _FILETYPE_KIND.get(guess.mime, UNKNOWN)
        if kind in (ZIP, DOCX, XLSX):  # filetype reads only the first members: look inside
            return _office_kind(content)
        return kind
    if content[:4] == b"PK\x03\x04" or content[:4] == b"PK\x05\x06":
        return _office_kind(content)
    return TEXT if _looks_like_text(content) else UNKNOWN


def declared_agrees(kind: str, declared: str) -> bool:
    """Whether the declared type may describe content of ``kind`` (a generic one always may)."""
    declared = declared_type(declared)
    if declared in GENERIC:
        return True
    if kind == TEXT:
        return declared.startswith("text/")
    return declared in _DECLARED.get(kind, set())


# --- text out of files ----------------------------------------------------------------------------


def extract(content: bytes, kind: str, limits: Limits) -> Extracted:
    """The text of ``content`` read as ``kind``; Unscreenable when it cannot be read fully
    within the limits (a partly read file is never passed as screened)."""
    if len(content) > limits.screen_max_bytes:
        raise Unscreenable(f"larger than the screening limit of {limits.screen_max_bytes} "
                           "bytes")
    from PIL import ImageFile

    # A truncated image (a file's own, or one inside a PDF or an Office file) is one that cannot
    # be decoded, whatever else ran in this process: WeasyPrint sets Pillow's process-wide
    # LOAD_TRUNCATED_IMAGES on import, after which a cut PNG decodes in part and would pass as
    # screened. Strict decoding is put back on every call (our own PDFs embed no cut image).
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    if kind == TEXT:
        return _bounded(Extracted(kind, content.decode("utf-8")), limits)
    if kind == PDF:
        return _pdf(content, limits)
    if kind in IMAGES:
        texts = list(_ocr_image_file(content, limits, budget=limits.max_images))
        return _bounded(Extracted(kind, "\n".join(texts), images=len(texts)), limits)
    if kind in (DOCX, XLSX):
        return _office(content, kind, limits)
    raise Unscreenable("its type cannot be screened")


def _bounded(found: Extracted, limits: Limits) -> Extracted:
    if len(found.text) > limits.max_text:
        raise Unscreenable(f"more than {limits.max_text} characters of text")
    return found


# --- images ---------------------------------------------------------------------------------------


def _ocr(image: object, limits: Limits) -> str:
    import pytesseract

    # Tesseract's OpenMP threads cost three times the CPU for the same page on a busy machine
    # (bench/attachments): bounded here unless the operator set OMP_THREAD_LIMIT themselves.
    # Only the Tesseract child process reads it.
    os.environ.setdefault("OMP_THREAD_LIMIT", str(limits.ocr_threads))

    try:
        return str(pytesseract.image_to_string(image, lang=limits.ocr_lang,
                                               timeout=limits.ocr_seconds))
    except pytesseract.TesseractNotFoundError as exc:
        raise Unscreenable("text recognition (Tesseract) is not installed") from exc
    except pytesseract.TesseractError as exc:  # a RuntimeError too: caught first
        raise Unscreenable("text recognition failed") from exc
    except RuntimeError as exc:  # pytesseract's timeout ("Tesseract process timeout")
        raise Unscreenable(f"text recognition took longer than {limits.ocr_seconds} s") from exc


def _ocr_image_file(content: bytes, limits: Limits, *, budget: int) -> Iterator[str]:
    """OCR every frame of an image file (a GIF may hide a card in a later frame)."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(content))  # lazy: reads the header only
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise Unscreenable("the image cannot be decoded") from exc
    width, height = image.size
    if width * height > limits.max_pixels:
        raise Unscreenable(f"an image larger than {limits.max_pixels} pixels")
    frames = getattr(image, "n_frames", 1)
    if frames > budget:
        raise Unscreenable(f"more than {budget} images or frames to read")
    try:
        for frame in ImageSequence.Iterator(image):
            yield _ocr(frame.convert("RGB"), limits)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise Unscreenable("the image cannot be decoded") from exc


# --- PDF ------------------------------------------------------------------------------------------


def _pdf(content: bytes, limits: Limits) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unscreenable("the PDF is encrypted (a password is needed to read it)")
        pages = len(reader.pages)
        if pages > limits.max_pages:
            raise Unscreenable(f"more than {limits.max_pages} pages")
        if len(reader.attachments):  # embedded files: what they hold is not on any page
            raise Unscreenable("the PDF carries embedded files")
        parts: list[str] = [str(v) for v in (reader.metadata or {}).values()]
        parts += [str(f.get("/V", "")) for f in (reader.get_fields() or {}).values()]
        images = 0
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text)
            if size > limits.max_text:
                raise Unscreenable(f"more than {limits.max_text} characters of text")
            parts.append(text)
            for annotation in page.get("/Annots") or []:
                fields = annotation.get_object()
                if isinstance(fields, dict):  # a DictionaryObject; anything else has no text
                    parts.append(str(fields.get("/Contents", "")))
            for image in page.images:
                images += 1
                if images > limits.max_images:
                    raise Unscreenable(f"more than {limits.max_images} images to read")
                parts.extend(_ocr_image_file(image.data, limits, budget=1))
    except Unscreenable:
        raise
    except (PdfReadError, PyPdfError, KeyError, ValueError, TypeError, AttributeError,
            OSError, NotImplementedError) as exc:
        raise Unscreenable("the PDF cannot be read") from exc
    return _bounded(Extracted(PDF, "\n".join(parts), pages=pages, images=images), limits)


# --- office files ---------------------------------------------------------------------------------

# Parts whose text a reader sees: the body, headers, footers, notes, comments; cell strings.
_DOCX_PARTS = ("word/document.xml", "word/header", "word/footer", "word/footnotes.xml",
               "word/endnotes.xml", "word/comments.xml")
_XLSX_PARTS = ("xl/sharedStrings.xml", "xl/worksheets/", "xl/comments")
_MEDIA = ("word/media/", "xl/media/")
_EMBEDDED = ("word/embeddings/", "xl/embeddings/", "word/activeX/", "xl/activeX/")
# Elements after which a reader sees a break: paragraphs, line breaks, tabs, table cells.
_BREAKS = frozenset({"p", "br", "tab", "tc", "c", "si", "row", "cr"})


def _xml_text(data: bytes) -> str:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError) as exc:
        raise Unscreenable("an XML part cannot be read safely") from exc
    out: list[str] = []
    for element in root.iter():
        if element.text:
            out.append(element.text)
        if element.tag.rsplit("}", 1)[-1] in _BREAKS:
            out.append("\n")
    return "".join(out)


def _office(content: bytes, kind: str, limits: Limits) -> Extracted:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Unscreenable("the file cannot be unpacked") from exc
    with archive:
        members = archive.infolist()
        _check_members(members, limits)
        wanted = _DOCX_PARTS if kind == DOCX else _XLSX_PARTS
        parts: list[str] = []
        images = 0
        for m in members:
            if m.is_dir():
                continue
            name = m.filename
            if name.startswith(wanted) and name.endswith(".xml"):
                parts.append(_xml_text(_read_member(archive, m, limits)))
            elif name.startswith(_MEDIA):
                data = _read_member(archive, m, limits)
                media = sniff(data)
                if media not in IMAGES:
                    raise Unscreenable("the file carries media that cannot be screened")
                images += 1
                if images > limits.max_images:
                    raise Unscreenable(f"more than {limits.max_images} images to read")
                parts.extend(_ocr_image_file(data, limits, budget=limits.max_images))
    return _bounded(Extracted(kind, "\n".join(parts), images=images), limits)


def _check_members(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Zip-bomb and content bounds, from the central directory, before a byte is unpacked."""
    if len(members) > limits.max_zip_members:
        raise Unscreenable(f"more than {limits.max_zip_members} parts")
    if sum(m.file_size for m in members) > limits.max_unzipped_bytes:
        raise Unscreenable(f"unpacks to more than {limits.max_unzipped_bytes} bytes")
    for m in members:
        if m.flag_bits & 0x1:
            raise Unscreenable("the file is encrypted")
        if m.compress_size and m.file_size / m.compress_size > limits.max_zip_ratio:
            raise Unscreenable("a part is compressed suspiciously well (zip bomb)")
        if m.filename.startswith(_EMBEDDED):
            raise Unscreenable("the file carries embedded objects")


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, reading no more than it declared (a lying header is a zip bomb)."""
    with archive.open(member) as stream:
        data = stream.read(min(member.file_size, limits.max_unzipped_bytes) + 1)
    if len(data) > member.file_size:
        raise Unscreenable("a part is larger than its header says (zip bomb)")
    return data
