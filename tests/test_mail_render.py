"""Rendering of each message kind, and the MIME message built from an outbox row. No database."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from jinja2.exceptions import UndefinedError

from mailer.delivery import build_email
from mailer.render import render_message
from models import OutboxMessage

# Every context value each kind's templates use, and nothing more.
CONTEXTS: dict[str, dict[str, Any]] = {
    "invitation": {
        "organization_name": "Acme",
        "inviter_name": "Olivia Owner",
        "role_label": "Admin",
        "link": "https://console.test/accept-invitation?token=abc123",
        "expires_at": "2030-01-08 12:00 UTC",
    },
    "ownership_received": {
        "organization_name": "Acme",
        "previous_owner_name": "Olivia Owner",
        "new_owner_name": "Adam Admin",
    },
    "ownership_given": {
        "organization_name": "Acme",
        "previous_owner_name": "Olivia Owner",
        "new_owner_name": "Adam Admin",
        "new_owner_email": "adam@acme.example",
    },
    "owner_notice": {
        "organization_name": "Acme",
        "subject": "Invoice overdue",
        "body": "Your invoice is overdue.\nPlease pay it this week.",
    },
}
KINDS = list(CONTEXTS)
REQUIRED_VALUES = [(kind, key) for kind, context in CONTEXTS.items() for key in context]

RAW_NAME = "<b>Acme & Co</b>"
ESCAPED_NAME = "&lt;b&gt;Acme &amp; Co&lt;/b&gt;"


def context_for(kind: str, **changes: Any) -> dict[str, Any]:
    return {**CONTEXTS[kind], **changes}


@pytest.mark.parametrize("kind", KINDS)
def test_kind_renders_all_three_parts(kind: str) -> None:
    rendered = render_message(kind, context_for(kind))

    assert "Acme" in rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.text.strip()
    assert "<" not in rendered.text
    assert rendered.html.startswith("<!doctype html>")
    assert "Acme" in rendered.html
    assert rendered.html.rstrip().endswith("</html>")


def test_invitation_contains_link_and_role() -> None:
    context = context_for("invitation")
    rendered = render_message("invitation", context)

    assert context["link"] in rendered.text
    assert f'href="{context["link"]}"' in rendered.html
    assert "Admin" in rendered.text
    assert context["expires_at"] in rendered.text
    assert rendered.subject.startswith("Olivia Owner ")


def test_invitation_without_inviter_names_admin() -> None:
    # create_organization invites the first owner with no inviter, so None must render as "An admin".
    rendered = render_message("invitation", context_for("invitation", inviter_name=None))

    assert rendered.subject.startswith("An admin ")
    assert "None" not in rendered.subject
    assert "None" not in rendered.text
    assert "None" not in rendered.html


@pytest.mark.parametrize("kind", KINDS)
def test_html_escapes_organization_name(kind: str) -> None:
    rendered = render_message(kind, context_for(kind, organization_name=RAW_NAME))

    assert ESCAPED_NAME in rendered.html
    assert RAW_NAME not in rendered.html
    assert RAW_NAME in rendered.subject


# The owner notice's text part is the sender's body alone, so it never names the organization.
@pytest.mark.parametrize("kind", ["invitation", "ownership_received", "ownership_given"])
def test_text_keeps_organization_name_raw(kind: str) -> None:
    rendered = render_message(kind, context_for(kind, organization_name=RAW_NAME))

    assert RAW_NAME in rendered.text
    assert ESCAPED_NAME not in rendered.text


def test_html_escapes_invitation_link() -> None:
    link = 'https://console.test/accept-invitation?token=abc&x="y"'
    rendered = render_message("invitation", context_for("invitation", link=link))

    assert 'href="https://console.test/accept-invitation?token=abc&amp;x=&#34;y&#34;"' in rendered.html
    assert link in rendered.text


def test_html_escapes_owner_notice_body() -> None:
    body = "Renewal at <noon> & later"
    rendered = render_message("owner_notice", context_for("owner_notice", body=body))

    assert "Renewal at &lt;noon&gt; &amp; later" in rendered.html
    assert body in rendered.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_subject_stays_one_line(kind: str, line_break: str) -> None:
    name = f"Acme{line_break}West"
    rendered = render_message(kind, context_for(kind, organization_name=name))

    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject
    assert "Acme West" in rendered.subject


def test_notice_subject_value_stays_one_line() -> None:
    context = context_for("owner_notice", subject="Invoice\r\noverdue\n\nsoon")
    rendered = render_message("owner_notice", context)

    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject
    assert rendered.subject == "[Acme] Invoice overdue soon"


@pytest.mark.parametrize(("kind", "missing"), REQUIRED_VALUES)
def test_missing_value_raises(kind: str, missing: str) -> None:
    context = context_for(kind)
    del context[missing]

    with pytest.raises(UndefinedError):
        render_message(kind, context)


def outbox_message(**changes: Any) -> OutboxMessage:
    """An unsaved outbox row; build_email reads only its fields."""
    values = {
        "kind": "invitation",
        "to_address": "nina@acme.example",
        "subject": "Olivia Owner invited you to Acme",
        "text_body": "Hello,\n\nAccept here: https://console.test/accept-invitation?token=abc123\n",
        "html_body": '<p>Hello,</p><p><a href="https://console.test/accept-invitation?token=abc123">Accept</a></p>\n',
        "message_id": "<170000.1.2@acme.example>",
    }
    return OutboxMessage(**{**values, **changes})


def test_build_email_sets_headers_and_parts() -> None:
    message = outbox_message()
    built = build_email(message, "Acme Console <console@acme.example>")

    assert built.get_content_type() == "multipart/alternative"
    assert built["From"] == "Acme Console <console@acme.example>"
    assert built["To"] == "nina@acme.example"
    assert built["Subject"] == message.subject
    assert built["Message-ID"] == message.message_id

    parts = list(built.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == message.text_body
    assert parts[1].get_content() == message.html_body


def test_build_email_survives_wire_round_trip() -> None:
    # Non-ASCII text in the subject and both parts must come back unchanged after serialization.
    message = outbox_message(
        subject="Zoë Ørsted invited you to Café Münster",
        text_body="Grüße aus Münster\n",
        html_body="<p>Grüße aus Münster</p>\n",
    )
    wire = build_email(message, "Acme Console <console@acme.example>").as_bytes()
    parsed = email.message_from_bytes(wire, policy=email.policy.default)

    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == message.subject
    assert parsed["Message-ID"] == message.message_id
    assert parsed.get_body(("plain",)).get_content() == message.text_body
    assert parsed.get_body(("html",)).get_content() == message.html_body
