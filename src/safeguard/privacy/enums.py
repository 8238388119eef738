"""Public enums of the privacy app."""

from __future__ import annotations

from django.db import models


class HoldScope(models.TextChoices):
    """What a legal hold covers: every case of a customer, or one case."""

    CUSTOMER = "customer", "Customer (all their cases and recordings)"
    CASE = "case", "Case"
    QUERY = "query", "Query (every case matching a queue, tag or date range)"


class SweepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class RequestKind(models.TextChoices):
    """What the data subject asks for: GDPR Arts. 15-21 and the CCPA/CPRA rights
    (jurisdictions.yaml says which regime knows which kind, and under which article)."""

    ACCESS = "access", "Access (GDPR Art. 15)"
    RECTIFICATION = "rectification", "Rectification (GDPR Art. 16)"
    ERASURE = "erasure", "Erasure (GDPR Art. 17)"
    RESTRICTION = "restriction", "Restriction of processing (GDPR Art. 18)"
    PORTABILITY = "portability", "Portability (GDPR Art. 20)"
    OBJECTION = "objection", "Objection (GDPR Art. 21)"
    KNOW = "know", "Right to know (CCPA)"
    DELETE = "delete", "Right to delete (CCPA)"
    CORRECT = "correct", "Right to correct (CCPA)"
    OPT_OUT = "opt_out", "Opt out of sale or sharing (CCPA)"
    LIMIT_SENSITIVE = "limit_sensitive", "Limit use of sensitive personal information (CCPA)"


class RequestAction(models.TextChoices):
    """How a kind of request is fulfilled: the handler each app registers (handlers.py)."""

    EXPORT = "export", "Export the data (a bundle)"
    ERASE = "erase", "Erase (keeping what a hold or a statute requires)"
    RECTIFY = "rectify", "Correct the data"
    RESTRICT = "restrict", "Restrict or stop a processing"


KIND_ACTION: dict[str, str] = {
    RequestKind.ACCESS: RequestAction.EXPORT, RequestKind.PORTABILITY: RequestAction.EXPORT,
    RequestKind.KNOW: RequestAction.EXPORT,
    RequestKind.ERASURE: RequestAction.ERASE, RequestKind.DELETE: RequestAction.ERASE,
    RequestKind.RECTIFICATION: RequestAction.RECTIFY, RequestKind.CORRECT: RequestAction.RECTIFY,
    RequestKind.RESTRICTION: RequestAction.RESTRICT, RequestKind.OBJECTION: RequestAction.RESTRICT,
    RequestKind.OPT_OUT: RequestAction.RESTRICT,
    RequestKind.LIMIT_SENSITIVE: RequestAction.RESTRICT,
}


class RequestChannel(models.TextChoices):
    STAFF = "staff", "Recorded by staff"
    PUBLIC = "public", "Public request page or API"


class ClockState(models.TextChoices):
    """Where an open request stands against its clock (notifications fire on a change)."""

    ON_TRACK = "on_track", "On track"
    ACK_DUE = "ack_due", "Acknowledgement overdue (CCPA)"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"


class RestrictionScope(models.TextChoices):
    """What a processing restriction stops (GDPR Arts. 18, 21; CCPA §§ 1798.120, 1798.121)."""

    ALL = "all", "All processing except storage (GDPR Art. 18)"
    OBJECTED = "objected", "Processing on legitimate interests or for marketing (GDPR Art. 21)"
    SALE_SHARING = "sale_sharing", "Sale or sharing (CCPA § 1798.120)"
    SENSITIVE = "sensitive", "Use of sensitive personal information (CCPA § 1798.121)"


KIND_SCOPE: dict[str, str] = {
    RequestKind.RESTRICTION: RestrictionScope.ALL, RequestKind.OBJECTION: RestrictionScope.OBJECTED,
    RequestKind.OPT_OUT: RestrictionScope.SALE_SHARING,
    RequestKind.LIMIT_SENSITIVE: RestrictionScope.SENSITIVE,
}


class Regime(models.TextChoices):
    GDPR = "gdpr", "GDPR"
    CCPA = "ccpa", "CCPA / CPRA"


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received: identity not yet verified"
    VERIFIED = "verified", "Identity verified"
    FULFILLED = "fulfilled", "Fulfilled"
    REFUSED = "refused", "Refused"
    UNVERIFIABLE = "unverifiable", "Closed: identity could not be verified"


class TransferMechanism(models.TextChoices):
    """How personal data reaches a subprocessor outside the EEA/UK lawfully (GDPR Chapter V)."""

    NONE_NEEDED = "none", "None needed (processed in the EEA/UK)"
    ADEQUACY = "adequacy", "Adequacy decision (GDPR Art. 45)"
    DPF = "dpf", "EU-US Data Privacy Framework (adequacy, Art. 45)"
    SCC = "scc", "Standard contractual clauses (Art. 46(2)(c))"
    BCR = "bcr", "Binding corporate rules (Art. 47)"
    DEROGATION = "derogation", "Derogation for a specific situation (Art. 49)"
