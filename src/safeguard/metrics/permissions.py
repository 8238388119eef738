"""Permissions declared by the metrics app (R-KPI-1..9). The trust page and security.txt are
public (``@public``): they show only what the organisation publishes."""

from safeguard.accounts import rbac

KPIS_VIEW = rbac.declare(
    "metrics.view_kpis",
    "See every KPI against its target, with control charts and their signals",
    roles=("supervisor", "security_analyst", "privacy_officer", "compliance_manager",
           "administrator"),
    read_only=True,
)

CHANGES_ANNOTATE = rbac.declare(
    "metrics.annotate_changes",
    "Annotate a process change on a KPI, so its control chart starts a new baseline phase",
    roles=("supervisor", "compliance_manager"),
)

REVIEWS_ARCHIVE = rbac.declare(
    "metrics.archive_reviews",
    "Generate and archive the review pack of a closed month, quarter or year now (instead of "
    "waiting for the scheduler)",
    roles=("supervisor", "compliance_manager", "administrator"),
)

rbac.nav("KPIs", url_name="metrics:kpis", permission=KPIS_VIEW, order=610)

COST_MODEL_EDIT = rbac.declare(
    "metrics.edit_cost_model",
    "Change the inputs of the cost, ROI and planning model (each change kept with its source)",
    roles=("compliance_manager", "administrator"),
)

CUSTOMER_SUMMARY = rbac.declare(
    "metrics.customer_summary",
    "Generate the customer-facing security summary (HTML and PDF) to hand to a customer",
    roles=("supervisor", "compliance_manager", "administrator"),
    read_only=True,
)

rbac.nav("Cost model", url_name="metrics:cost", permission=KPIS_VIEW, order=611)
rbac.nav("Customer summary", url_name="metrics:customer_summary", permission=CUSTOMER_SUMMARY,
         order=612)
rbac.nav("Reviews", url_name="metrics:review_archive", permission=KPIS_VIEW, order=611)
