"""Customer profiles: encrypted fields with blind indexes, masked views, audited reveals,
identity verification and supervisor approvals of sensitive changes (issue 5, decision 0006)."""
