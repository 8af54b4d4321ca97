"""Read fields of the API."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from console_users.context import Context
from models import Membership
from resolvers import activity, invitations, users
from resolvers.validation import id_or_none
from schema.enums import InvitationState, Role
from schema.inputs import UserFilter
from schema.pagination import check_page_size, check_search_term, decode_cursor, encode_cursor
from schema.permissions import SIGNED_IN
from schema.types import (
    ActivityEvent,
    ActivityEventConnection,
    ActivityEventEdge,
    InvitationPreview,
    Organization,
    PageInfo,
    User,
    UserConnection,
    UserEdge,
    Viewer,
)



def viewer_of(context: Context) -> Viewer | None:
    actor = context.actor
    if actor is None:
        return None
    return Viewer(
        account=actor.account, member=actor.membership, current_organization=actor.organization, token=actor.api_token
    )


def _user_query(filter: UserFilter | None) -> users.UserQuery:
    if filter is None:
        return users.UserQuery()
    statuses = users.DEFAULT_STATUSES if filter.status is None else [status.value for status in filter.status]
    return users.UserQuery(
        statuses=statuses,
        role=filter.role.to_stored() if filter.role is not None else None,
        search=check_search_term(filter.search),
    )


@strawberry.type
class UsersQuery:
    """Read fields of the Users section."""

    @strawberry.field(description="Null when the request is not signed in.")
    def viewer(self, info: Info[Context, None]) -> Viewer | None:
        return viewer_of(info.context)

    @strawberry.field(extensions=SIGNED_IN)
    def organization(self, info: Info[Context, None]) -> Organization:
        assert info.context.actor is not None
        return Organization(model=info.context.actor.organization)

    @strawberry.field(extensions=SIGNED_IN)
    async def users(
        self, info: Info[Context, None], first: int | None = 50, after: str | None = None, filter: UserFilter | None = None
    ) -> UserConnection:
        first = check_page_size(first)
        after_id = decode_cursor("user", after)
        actor = info.context.actor
        assert actor is not None
        rows, total = await users.list_members(actor.organization.id, _user_query(filter), first=first, after_id=after_id)
        page = rows[:first]
        edges = [
            UserEdge(cursor=encode_cursor("user", row.id), node=User.from_model(row, actor.organization.owner_user_id))
            for row in page
        ]
        for row in page:
            info.context.members.prime(row.id, row)
        return UserConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
            total_count=total,
        )

    @strawberry.field(extensions=SIGNED_IN)
    async def user(self, info: Info[Context, None], id: strawberry.ID) -> User | None:
        actor = info.context.actor
        assert actor is not None
        member_id = id_or_none(id)
        if member_id is None:
            return None
        member = await Membership.filter(id=member_id, organization_id=actor.organization.id).select_related("account").first()
        return User.from_model(member, actor.organization.owner_user_id) if member else None

    @strawberry.field(extensions=SIGNED_IN, description="Newest first.")
    async def activity(
        self, info: Info[Context, None], first: int | None = 50, after: str | None = None
    ) -> ActivityEventConnection:
        first = check_page_size(first)
        after_id = decode_cursor("event", after)
        actor = info.context.actor
        assert actor is not None
        rows = await activity.list_events(actor.organization.id, first=first, after_id=after_id)
        edges = [
            ActivityEventEdge(
                cursor=encode_cursor("event", row.id),
                node=ActivityEvent(model=row, owner_user_id=actor.organization.owner_user_id),
            )
            for row in rows[:first]
        ]
        return ActivityEventConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="Null for an unknown, used or revoked token. Needs no sign-in.")
    async def invitation(self, token: str) -> InvitationPreview | None:
        preview = await invitations.preview_invitation(token)
        if preview is None:
            return None
        return InvitationPreview(
            organization_name=preview.organization_name,
            email=preview.email,
            role=Role.from_stored(preview.role),
            invited_by_name=preview.invited_by_name,
            expires_at=preview.expires_at,
            state=InvitationState.EXPIRED if preview.expired else InvitationState.PENDING,
            account_exists=preview.account_exists,
        )


