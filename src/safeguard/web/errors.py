"""The root of every domain exception; one handler turns them into RFC 9457 problems."""

from __future__ import annotations

from typing import Any, ClassVar


class ApplicationError(Exception):
    """A rule of the domain was broken by the caller: a 4xx, never a 500."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "application-error"
    title: ClassVar[str] = "The request cannot be carried out"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ApplicationError):
    """The object does not exist or is outside the caller's scope (same answer for both)."""

    status = 404
    code = "not-found"
    title = "Not found"


class PermissionDenied(ApplicationError):
    """The principal lacks the permission the operation declares."""

    status = 403
    code = "permission-denied"
    title = "Permission denied"


class Conflict(ApplicationError):
    """The object is not in a state that allows the operation."""

    status = 409
    code = "conflict"
    title = "Conflict"
