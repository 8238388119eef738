"""Channel bookkeeping only: no message text or customer data lives here."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class ImapCursor(models.Model):
    """How far ``safeguard imap-poll`` got in one mailbox: resumable by UID.

    UIDs are only meaningful under one UIDVALIDITY; when the server changes it, the cursor
    restarts at 0 and Message-ID idempotency drops what was already ingested.
    """

    account = models.CharField(max_length=300, unique=True)  # user@host:port/mailbox
    uidvalidity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    # Spelled out: django-stubs resolves the label "channels" to the third-party Channels
    # package and then infers neither the manager nor the primary key.
    id: int
    objects: ClassVar[models.Manager[ImapCursor]] = models.Manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(last_uid__gte=0),
                                   name="channels_imapcursor_uid_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.account} uidvalidity={self.uidvalidity} last_uid={self.last_uid}"
