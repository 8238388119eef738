"""Accounts storage (private to the app). Rules live in services.py, not here."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A staff member or an integration (service) account. Customers are not users."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_service_account = models.BooleanField(
        default=False, help_text="Integration identity: API tokens only, cannot sign in."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    session_epoch = models.PositiveIntegerField(
        default=0, help_text="Bumped when the user is disabled: every older session is void.")
    # Who this person reports to (issue 13 section 2): the first reviewer of their grants in an
    # access review. Set only through services.user_set_manager, which refuses self and cycles.
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="reports")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash, also bound to ``session_epoch``: disabling a user voids every
        session signed in before, even one no index knew of, and enabling never revives it
        (R-WORK-4). Epoch 0 keeps Django's own value, so sessions survive this upgrade."""
        if not self.session_epoch:
            return str(super()._get_session_auth_hash(secret=secret))  # type: ignore[misc]
        return salted_hmac(
            "safeguard.accounts.User.session_auth_hash",
            f"{self.password}\x00{self.session_epoch}", secret=secret, algorithm="sha256",
        ).hexdigest()


class Role(models.Model):
    """A named bundle of permissions. Built-in roles take theirs from the code registry."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    is_builtin = models.BooleanField(default=False)
    permissions = models.JSONField(
        default=list, blank=True, help_text="Codenames; used for custom roles only."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A user holding a role, and who granted it when."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="accounts_roleassignment_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} holds {self.role_id}"


class ApiToken(models.Model):
    """An API credential: only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class Organisation(models.Model):
    """The operator's organisation: one row (R-ORG-1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    name = models.CharField(max_length=200, default="Safeguard")
    dpo_name = models.CharField("Data Protection Officer", max_length=200, blank=True)
    dpo_email = models.EmailField("DPO email", blank=True)
    security_hotline = models.CharField(max_length=50, blank=True)
    security_email = models.EmailField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1),
                                              name="accounts_organisation_singleton")]

    def __str__(self) -> str:
        return self.name


class SecurityState(models.Model):
    """One entry of the durable security-state store (lockout counters, used TOTP codes, webhook
    nonces, throttles): never evicted, only expired. Written by ``securitystate`` with atomic
    upserts; ``key`` is an HMAC of the logical key, so no address or e-mail is stored."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.BinaryField(null=True)
    counter = models.BigIntegerField(null=True)
    expires = models.FloatField(null=True, db_index=True, help_text="Unix time; null = never.")

    def __str__(self) -> str:
        return self.key


class GrantRequest(models.Model):
    """A grant of a role holding a sensitive permission, waiting for a second administrator
    (four eyes, R-OPS-8). Nothing is granted until another administrator approves it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REFUSED = "refused"
        EXPIRED = "expired"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grant_requests")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="grant_requests")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="grantreq_status_idx")]
        constraints = [
            # one open request per user and role: a second would only split the reviewers
            models.UniqueConstraint(fields=["user", "role"], condition=models.Q(status="pending"),
                                    name="accounts_grantrequest_one_pending"),
        ]

    def __str__(self) -> str:
        return f"grant {self.role_id} to {self.user_id} ({self.status})"


class Notification(models.Model):
    """One in-app notification for one staff user (issue 15). The text holds no customer value
    in clear: callers pass masked or friendly forms and the service screens it again."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True, default="")
    subject_type = models.CharField(max_length=32, blank=True, default="")
    subject_id = models.CharField(max_length=64, blank=True, default="")
    # Makes a repeated notice (an SLA warning found again by a resumed job) a no-op.
    dedupe_key = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at", "-created_at"],
                                name="notification_user_unread_idx")]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"],
                                    condition=~models.Q(dedupe_key=""),
                                    name="accounts_notification_dedupe"),
        ]

    def __str__(self) -> str:
        return f"notification {self.id} ({self.kind})"


class ScimIdentity(models.Model):
    """How an identity provider knows a staff user over SCIM 2.0 (issue 13 section 2, decision
    0124): its ``userName``, its own ``externalId`` and the name parts it sent. Created when
    the provider first creates or changes the user; ``deleted_at`` marks a SCIM DELETE (the
    user is disabled, never erased: the audit trail keeps naming them)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="scim_identity")
    user_name = models.CharField(max_length=254, unique=True)
    external_id = models.CharField(max_length=200, blank=True, default="")
    given_name = models.CharField(max_length=150, blank=True, default="")
    family_name = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"scim identity of {self.user_id}"


# Access reviews (decision 0128) keep their tables in their own module; imported here so Django
# registers them with this app.
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem  # noqa: E402

__all__ = ["AccessReviewCampaign", "AccessReviewItem", "ApiToken", "GrantRequest",
           "Notification", "Organisation", "Role", "RoleAssignment", "ScimIdentity",
           "SecurityState", "User"]
