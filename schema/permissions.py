"""Permission classes, one rule each, stacked on fields in the order they are listed."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from console_users.context import Context


class IsAuthenticated(BasePermission):
    message = "Sign in first: this operation needs a session."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return info.context.actor is not None


class IsAdmin(BasePermission):
    message = "This operation needs the Admin role."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        actor = info.context.actor
        return actor is not None and actor.is_admin


class IsOwner(BasePermission):
    message = "Only the owner of the organization can do this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        actor = info.context.actor
        return actor is not None and actor.is_owner


class IsPerson(BasePermission):
    """Rejects API tokens: the operation acts on a person's own account or session."""

    message = "API tokens cannot do this; sign in as a person."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        actor = info.context.actor
        return actor is not None and actor.is_person


# Field extensions, one per access rule, shared by every field with that rule. Directives are
# left out of the SDL, so the published schema stays as clients know it.
SIGNED_IN = [PermissionExtension(permissions=[IsAuthenticated()], use_directives=False)]
PERSON = [PermissionExtension(permissions=[IsAuthenticated(), IsPerson()], use_directives=False)]
ADMIN = [PermissionExtension(permissions=[IsAuthenticated(), IsAdmin()], use_directives=False)]
PERSON_ADMIN = [PermissionExtension(permissions=[IsAuthenticated(), IsPerson(), IsAdmin()], use_directives=False)]
OWNER = [PermissionExtension(permissions=[IsAuthenticated(), IsOwner()], use_directives=False)]
