"""SCIM 2.0 provisioning (RFC 7643/7644) of staff users and their roles at ``/scim/v2/``
(issue 13 section 2; R-WORK-3, R-OPS-8; docs/scim.md, decisions 0124-0127).

``mapping`` turns stored users and roles into scim2-models resources and back (no Django);
``selectors`` reads, ``services`` writes through the accounts services (leaver path, role grants,
all audited); ``views`` is the thin HTTP layer (bearer token, SCIM errors, scim+json).
"""
