"""API tokens in the schema: listing, creating and revoking them, and limiting their request rate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from console_users.context import Context
from models import ApiToken as ApiTokenModel
from resolvers import api_tokens
from resolvers.rate_limits import Limit, RateLimited, consume
from schema.enums import Role
from schema.errors import RateLimitedError
from schema.mutation import attempt, signed_in_actor
from schema.payloads import UserError
from schema.permissions import ADMIN, PERSON_ADMIN, SIGNED_IN
from schema.types import User



@strawberry.type(description="A credential for an integration. The secret is shown once, when the token is created.")
class ApiToken:
    model: strawberry.Private[ApiTokenModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="The maximum role of the token; it never exceeds its creator's current role.")
    def role(self) -> Role:
        return Role.from_stored(self.model.role)

    @strawberry.field(description="The first characters of the secret, to tell tokens apart.")
    def prefix(self) -> str:
        return self.model.display_prefix

    @strawberry.field
    async def created_by(self, info: Info[Context, None]) -> User | None:
        creator = await info.context.members.load(self.model.created_by_id)  # type: ignore[attr-defined]
        if creator is None:
            return None
        actor = info.context.actor
        return User.from_model(creator, actor.organization.owner_user_id if actor else None)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Updated at most once a minute.")
    def last_used_at(self) -> datetime | None:
        return self.model.last_used_at

    @strawberry.field(description="Null for a token that does not expire.")
    def expires_at(self) -> datetime | None:
        return self.model.expires_at


@strawberry.input
class CreateApiTokenInput:
    name: str
    role: Role
    expires_at: datetime | None = strawberry.field(default=None, description="Null for a token that does not expire.")


@strawberry.type
class CreateApiTokenPayload:
    api_token: ApiToken | None = None
    secret: str | None = strawberry.field(
        default=None, description="Send as 'Authorization: Bearer SECRET'. Returned only here, only once."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiTokensQuery:
    @strawberry.field(extensions=SIGNED_IN, description="The organization's tokens that are not revoked, newest first.")
    async def api_tokens(self, info: Info[Context, None]) -> list[ApiToken]:
        actor = signed_in_actor(info)
        return [ApiToken(model=token) for token in await api_tokens.list_tokens(actor.organization.id)]


@strawberry.type
class ApiTokensMutation:
    @strawberry.mutation(extensions=PERSON_ADMIN, description="Admins only, and not through a token.")
    async def create_api_token(self, info: Info[Context, None], input: CreateApiTokenInput) -> CreateApiTokenPayload:
        actor = signed_in_actor(info)
        issued, errors = await attempt(
            api_tokens.create_token(actor, input.name, input.role.to_stored(), input.expires_at)
        )
        if issued is None:
            return CreateApiTokenPayload(errors=errors)
        return CreateApiTokenPayload(api_token=ApiToken(model=issued.token), secret=issued.secret)

    @strawberry.mutation(extensions=ADMIN, description="The token stops working at once.")
    async def revoke_api_token(self, info: Info[Context, None], id: strawberry.ID) -> RevokeApiTokenPayload:
        actor = signed_in_actor(info)
        token, errors = await attempt(api_tokens.revoke_token(actor, id))
        if token is None:
            return RevokeApiTokenPayload(errors=errors)
        return RevokeApiTokenPayload(api_token=ApiToken(model=token))


class ApiTokenRateLimit(SchemaExtension):
    """Count each operation sent with an API token against API_TOKEN_REQUESTS_PER_MINUTE."""

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context.context
        actor = getattr(context, "actor", None)
        if actor is not None and actor.api_token is not None:
            limit = Limit(count=context.settings.api_token_requests_per_minute, window_seconds=60)
            try:
                await consume("api_token_request", str(actor.api_token.id), limit)
            except RateLimited as error:
                raise RateLimitedError(str(error), retryAfter=error.retry_after) from error
        yield
