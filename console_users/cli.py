"""The `console-users` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tortoise import Tortoise

from console_users.database import apply_migrations, tortoise_config
from console_users.log_redaction import install_log_redaction
from console_users.settings import Settings, SettingsError, load_settings
from resolvers.errors import UserFacingError

T = TypeVar("T")
logger = logging.getLogger("console_users")

DEMO_ORGANIZATION = "Demo Company"
DEMO_OWNER_EMAIL = "owner@example.com"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Tortoise logs every SQL statement at DEBUG; keep that out unless asked for.
    logging.getLogger("tortoise").setLevel(max(logging.INFO, logging.getLevelName(level)))
    install_log_redaction()


async def with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    await Tortoise.init(config=tortoise_config(settings))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def command_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(apply_migrations(settings))
    print("Migrations applied.")
    return 0


def command_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from console_users.app import create_app

    asyncio.run(apply_migrations(settings))
    if args.demo:
        asyncio.run(with_database(settings, lambda: create_demo(settings)))
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the same signal again
    # for whatever handler was installed before it. With these no-op handlers in place, a
    # graceful stop ends the process with status 0 instead of death by signal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore_signal)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None, lifespan="on")
    return 0


def _ignore_signal(signum: int, frame: object) -> None:
    logger.info("Server stopped by signal %d", signum)


async def create_demo(settings: Settings) -> None:
    """On an empty database, create a demo organization and print its owner's invitation link."""
    from models import Organization
    from resolvers.organizations import create_organization

    if await Organization.exists():
        return
    organization, invitation = await create_organization(settings, DEMO_ORGANIZATION, DEMO_OWNER_EMAIL)
    link = f"{settings.console_url}/accept-invitation?token={invitation.token}"
    print(
        f"\nCreated the demo organization {organization.name!r} (id {organization.id}).\n"
        f"Its owner {DEMO_OWNER_EMAIL} is invited; accept in GraphiQL with this token:\n"
        f"  {invitation.token}\n"
        f"(the console link would be {link})\n",
        flush=True,
    )


def command_worker(settings: Settings, args: argparse.Namespace) -> int:
    from mailer.delivery import run_delivery_loop

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_delivery_loop(settings, stop)

    asyncio.run(with_database(settings, work))
    return 0


def command_create_organization(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.organizations import create_organization

    organization, invitation = asyncio.run(
        with_database(settings, lambda: create_organization(settings, args.name, args.owner_email))
    )
    print(organization.id)
    print(f"Invitation for the owner queued (user id {invitation.membership.id}).", file=sys.stderr)
    return 0


def command_notify_owner(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.organizations import notify_owner

    body_path = Path(args.body_file)
    try:
        body = body_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read --body-file {body_path}: {error}", file=sys.stderr)
        return 2
    message = asyncio.run(
        with_database(settings, lambda: notify_owner(settings, args.organization, args.subject, body))
    )
    print(f"Queued message {message.id} to the owner of organization {args.organization}.")
    return 0


def command_transfer_ownership(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.ownership import transfer_by_support

    organization = asyncio.run(
        with_database(settings, lambda: transfer_by_support(settings, args.organization, args.to_email, args.reason))
    )
    print(f"Ownership of organization {organization.id} transferred to {args.to_email.strip().lower()}.")
    return 0


def command_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="console-users", description="The Users section API server.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply the database migrations").set_defaults(run=command_migrate)

    serve = commands.add_parser("serve", help="apply migrations, serve /graphql and deliver mail")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="on an empty database, create a demo organization first")
    serve.set_defaults(run=command_serve)

    commands.add_parser("worker", help="deliver queued mail until stopped").set_defaults(run=command_worker)

    create = commands.add_parser("create-organization", help="create an organization and invite its owner")
    create.add_argument("--name", required=True)
    create.add_argument("--owner-email", required=True)
    create.set_defaults(run=command_create_organization)

    notify = commands.add_parser("notify-owner", help="queue a message to the organization's current owner")
    notify.add_argument("--organization", type=int, required=True, help="organization id")
    notify.add_argument("--subject", required=True)
    notify.add_argument("--body-file", required=True, help="UTF-8 text file with the message body")
    notify.set_defaults(run=command_notify_owner)

    transfer = commands.add_parser("transfer-ownership", help="support path: make another Admin the owner")
    transfer.add_argument("--organization", type=int, required=True, help="organization id")
    transfer.add_argument("--to-email", required=True)
    transfer.add_argument("--reason", required=True, help="kept in the activity log")
    transfer.set_defaults(run=command_transfer_ownership)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql", help="file to write, or - for standard output")
    export.set_defaults(run=command_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return int(args.run(settings, args))
    except UserFacingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
