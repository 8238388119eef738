"""HTML to PDF with WeasyPrint for the statement of applicability. The fetcher refuses every
URL: the document is built from the text handed in and nothing else, so no template or value
(evidence text included) can make the server fetch a resource. Same approach as the privacy
app's documents."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string


class _NoFetch(Exception):
    pass


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise _NoFetch(f"external resources are not loaded: {url[:40]}")


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """Render ``template`` with ``context`` and return the PDF bytes."""
    from weasyprint import HTML  # imported on use: loading Pango costs time at start-up

    html = render_to_string(template, context)
    return bytes(HTML(string=html, url_fetcher=_refuse).write_pdf())
