"""Outgoing mail: Jinja2 templates, the outbox and the delivery loop."""
