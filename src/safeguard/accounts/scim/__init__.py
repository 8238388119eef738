"""SCIM 2.0 provisioning (RFC 7643/7644) of staff users and their roles at ``/scim/v2/``
(issue 13 section 2; R-WORK-3, R-OPS-8; docs/scim.md, decisions 0124-0127).

``mapping`` turns stored users and roles into scim2-models resources and back (no Django);
``selectors`` reads, ``services`` writes through the accounts services (leaver path, role grants,
all audited); ``views`` is the thin HTTP layer (bearer token, SCIM errors, scim+json).
"""

import logging

import lark  # scim2-models parses filters with it; loaded here so the next lines run after it

# On import lark puts a bare StreamHandler on its "lark" logger, which would write to stderr
# around the log redactor and the JSON formatter (ops.logging). Its records propagate to ours
# instead.
for _handler in list(logging.getLogger(lark.__name__).handlers):
    if type(_handler) is logging.StreamHandler:
        logging.getLogger(lark.__name__).removeHandler(_handler)
