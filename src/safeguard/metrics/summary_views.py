"""The customer-facing security summary as a page and a PDF (R-MEAS-4): staff generate it to
hand to an enterprise customer. Generating it is audited."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required, request_actor
from safeguard.audit import services as audit
from safeguard.metrics import permissions as perm
from safeguard.metrics import summary
from safeguard.privacy.pdf import render_pdf


@permission_required(perm.CUSTOMER_SUMMARY)
@require_GET
def customer_summary_page(request: HttpRequest) -> HttpResponse:
    """The summary as it will be handed over, with a link to its PDF."""
    doc = summary.customer_summary()
    audit.record(action="metrics.customer_summary_generated", actor=request_actor(request),
                 data={"format": "html"})
    return render(request, "metrics/summary/page.html", {"s": doc})


@permission_required(perm.CUSTOMER_SUMMARY)
@require_GET
def customer_summary_pdf(request: HttpRequest) -> HttpResponse:
    """The same summary as a PDF (WeasyPrint; no external resource is fetched)."""
    doc = summary.customer_summary()
    audit.record(action="metrics.customer_summary_generated", actor=request_actor(request),
                 data={"format": "pdf"})
    body = render_pdf("metrics/summary/pdf.html", {"s": doc})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="security-summary-{doc.as_of.date().isoformat()}.pdf"')
    return response
