"""Render a message kind into a subject, a plain-text part and an HTML part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_environment = Environment(
    loader=PackageLoader("mailer", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


# How times appear in mail: minutes are enough, and UTC is named for every reader.
TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def render_message(kind: str, context: dict[str, Any]) -> RenderedMessage:
    """Render `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html` with the same context."""
    subject = _environment.get_template(f"{kind}.subject.txt").render(context)
    # A subject is one header line: collapse any line breaks a value might carry.
    subject = " ".join(subject.split())
    text = _environment.get_template(f"{kind}.txt").render(context)
    html = _environment.get_template(f"{kind}.html").render(context)
    return RenderedMessage(subject=subject, text=text, html=html)
