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
    """What the data subject asks for (GDPR Arts. 15-21; the CCPA's equivalents)."""

    ACCESS = "access", "Access"
    RECTIFICATION = "rectification", "Rectification"
    ERASURE = "erasure", "Erasure"
    PORTABILITY = "portability", "Portability"
    OBJECTION = "objection", "Objection"


class Regime(models.TextChoices):
    GDPR = "gdpr", "GDPR"
    CCPA = "ccpa", "CCPA / CPRA"


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received: identity not yet verified"
    VERIFIED = "verified", "Identity verified"
    FULFILLED = "fulfilled", "Fulfilled"
    REFUSED = "refused", "Refused"


class TransferMechanism(models.TextChoices):
    """How personal data reaches a subprocessor outside the EEA/UK lawfully (GDPR Chapter V)."""

    NONE_NEEDED = "none", "None needed (processed in the EEA/UK)"
    ADEQUACY = "adequacy", "Adequacy decision (GDPR Art. 45)"
    DPF = "dpf", "EU-US Data Privacy Framework (adequacy, Art. 45)"
    SCC = "scc", "Standard contractual clauses (Art. 46(2)(c))"
    BCR = "bcr", "Binding corporate rules (Art. 47)"
    DEROGATION = "derogation", "Derogation for a specific situation (Art. 49)"
